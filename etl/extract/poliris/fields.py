"""Poliris field names by rank (generated from poliris-4.09-fields.csv; do not edit by hand).

Ranks 1-329 are the 4.09 fields (``name_en`` and ``name_fr`` of the reference table);
330-334 appear in 4.12 exports but are documented nowhere, hence ``field_330``….
``tests/test_extract_fields.py`` checks this table against the reference CSV.
"""

from __future__ import annotations

# (name_en, name_fr) for ranks 1, 2, 3…
FIELDS: tuple[tuple[str, str], ...] = (
    ('agency_id', 'Identifiant agence'),  # 1
    ('listing_reference', 'Référence agence du bien'),  # 2
    ('transaction_type', "Type d'annonce"),  # 3
    ('property_type', 'Type de bien'),  # 4
    ('postal_code', 'CP'),  # 5
    ('city', 'Ville'),  # 6
    ('country', 'Pays'),  # 7
    ('address', 'Adresse'),  # 8
    ('neighbourhood_or_nearby', 'Quartier / Proximité'),  # 9
    ('business_activities', 'Activités commerciales'),  # 10
    ('price', 'Prix / Loyer / Prix de cession'),  # 11
    ('premises_monthly_rent', 'Loyer / mois murs'),  # 12
    ('rent_charges_included', 'Loyer CC'),  # 13
    ('rent_excl_vat', 'Loyer HT'),  # 14
    ('agency_fees', 'Honoraires'),  # 15
    ('living_area_m2', 'Surface (m²)'),  # 16
    ('land_area_m2', 'Surface terrain (m²)'),  # 17
    ('rooms', 'NB de pièces'),  # 18
    ('bedrooms', 'NB de chambres'),  # 19
    ('title', 'Libellé'),  # 20
    ('description', 'Descriptif'),  # 21
    ('available_from', 'Date de disponibilité'),  # 22
    ('charges', 'Charges'),  # 23
    ('floor', 'Etage'),  # 24
    ('floors_in_building', "NB d'étages"),  # 25
    ('furnished', 'Meublé'),  # 26
    ('year_built', 'Année de construction'),  # 27
    ('renovated', 'Refait à neuf'),  # 28
    ('bathrooms', 'NB de salles de bain'),  # 29
    ('shower_rooms', "NB de salles d'eau"),  # 30
    ('toilets', 'NB de WC'),  # 31
    ('separate_toilet', 'WC séparés'),  # 32
    ('heating_type', 'Type de chauffage'),  # 33
    ('kitchen_type', 'Type de cuisine'),  # 34
    ('faces_south', 'Orientation sud'),  # 35
    ('faces_east', 'Orientation est'),  # 36
    ('faces_west', 'Orientation ouest'),  # 37
    ('faces_north', 'Orientation nord'),  # 38
    ('balconies', 'NB balcons'),  # 39
    ('balcony_area_m2', 'SF Balcon'),  # 40
    ('lift', 'Ascenseur'),  # 41
    ('cellar', 'Cave'),  # 42
    ('parking_spaces', 'NB de parkings'),  # 43
    ('lockup_garages', 'NB de boxes'),  # 44
    ('door_code', 'Digicode'),  # 45
    ('intercom', 'Interphone'),  # 46
    ('caretaker', 'Gardien'),  # 47
    ('terrace', 'Terrasse'),  # 48
    ('week_price_low_season', 'Prix semaine Basse Saison'),  # 49
    ('fortnight_price_low_season', 'Prix quinzaine Basse Saison'),  # 50
    ('month_price_low_season', 'Prix mois / Basse Saison'),  # 51
    ('week_price_high_season', 'Prix semaine Haute Saison'),  # 52
    ('fortnight_price_high_season', 'Prix quinzaine Haute Saison'),  # 53
    ('month_price_high_season', 'Prix mois Haute Saison'),  # 54
    ('guest_capacity', 'NB de personnes'),  # 55
    ('holiday_residence_type', 'Type de résidence'),  # 56
    ('setting', 'Situation'),  # 57
    ('place_settings', 'NB de couverts'),  # 58
    ('double_beds', 'NB de lits doubles'),  # 59
    ('single_beds', 'NB de lits simples'),  # 60
    ('alarm', 'Alarme'),  # 61
    ('cable_tv', 'Câble TV'),  # 62
    ('quiet', 'Calme'),  # 63
    ('air_conditioning', 'Climatisation'),  # 64
    ('swimming_pool', 'Piscine'),  # 65
    ('disabled_access', 'Aménagement pour handicapés'),  # 66
    ('pets_allowed', 'Animaux acceptés'),  # 67
    ('fireplace', 'Cheminée'),  # 68
    ('freezer', 'Congélateur'),  # 69
    ('oven', 'Four'),  # 70
    ('dishwasher', 'Lave-vaisselle'),  # 71
    ('microwave', 'Micro-ondes'),  # 72
    ('built_in_cupboards', 'Placards'),  # 73
    ('phone_line', 'Téléphone'),  # 74
    ('near_lake', 'Proche lac'),  # 75
    ('near_tennis', 'Proche tennis'),  # 76
    ('near_ski_slopes', 'Proche pistes de ski'),  # 77
    ('open_view', 'Vue dégagée'),  # 78
    ('turnover', "Chiffre d'affaire"),  # 79
    ('frontage_m', 'Longueur façade (m)'),  # 80
    ('duplex', 'Duplex'),  # 81
    ('publications', 'Publications'),  # 82
    ('exclusive_mandate', 'Mandat en exclusivité'),  # 83
    ('agency_favourite', 'Coup de cœur'),  # 84
    ('photo_1', 'Photo 1'),  # 85
    ('photo_2', 'Photo 2'),  # 86
    ('photo_3', 'Photo 3'),  # 87
    ('photo_4', 'Photo 4'),  # 88
    ('photo_5', 'Photo 5'),  # 89
    ('photo_6', 'Photo 6'),  # 90
    ('photo_7', 'Photo 7'),  # 91
    ('photo_8', 'Photo 8'),  # 92
    ('photo_9', 'Photo 9'),  # 93
    ('photo_1_title', 'Titre photo 1'),  # 94
    ('photo_2_title', 'Titre photo 2'),  # 95
    ('photo_3_title', 'Titre photo 3'),  # 96
    ('photo_4_title', 'Titre photo 4'),  # 97
    ('photo_5_title', 'Titre photo 5'),  # 98
    ('photo_6_title', 'Titre photo 6'),  # 99
    ('photo_7_title', 'Titre photo 7'),  # 100
    ('photo_8_title', 'Titre photo 8'),  # 101
    ('photo_9_title', 'Titre photo 9'),  # 102
    ('panoramic_photo', 'Photo panoramique'),  # 103
    ('virtual_tour_url', 'URL visite virtuelle'),  # 104
    ('display_phone', 'Téléphone à afficher'),  # 105
    ('display_contact_name', 'Contact à afficher'),  # 106
    ('contact_email', 'Email de contact'),  # 107
    ('actual_postal_code', 'CP Réel du bien'),  # 108
    ('actual_city', 'Ville réelle du bien'),  # 109
    ('inter_agency_sharing', 'Inter-cabinet'),  # 110
    ('inter_agency_private', 'Inter-cabinet prive'),  # 111
    ('mandate_number', 'N° de mandat'),  # 112
    ('mandate_date', 'Date mandat'),  # 113
    ('mandator_last_name', 'Nom mandataire'),  # 114
    ('mandator_first_name', 'Prénom mandataire'),  # 115
    ('mandator_company', 'Raison sociale mandataire'),  # 116
    ('mandator_address', 'Adresse mandataire'),  # 117
    ('mandator_postal_code', 'CP mandataire'),  # 118
    ('mandator_city', 'Ville mandataire'),  # 119
    ('mandator_phone', 'Téléphone mandataire'),  # 120
    ('mandator_comments', 'Commentaires mandataire'),  # 121
    ('private_comments', 'Commentaires privés'),  # 122
    ('negotiator_code', 'Code négociateur'),  # 123
    ('lang1_code', 'Code Langue 1'),  # 124
    ('lang1_proximity', 'Proximité Langue 1'),  # 125
    ('lang1_title', 'Libellé Langue 1'),  # 126
    ('lang1_description', 'Descriptif Langue 1'),  # 127
    ('lang2_code', 'Code Langue 2'),  # 128
    ('lang2_proximity', 'Proximité Langue 2'),  # 129
    ('lang2_title', 'Libellé Langue 2'),  # 130
    ('lang2_description', 'Descriptif Langue 2'),  # 131
    ('lang3_code', 'Code Langue 3'),  # 132
    ('lang3_proximity', 'Proximité Langue 3'),  # 133
    ('lang3_title', 'Libellé Langue 3'),  # 134
    ('lang3_description', 'Descriptif Langue 3'),  # 135
    ('custom_1', 'Champ personnalisé 1'),  # 136
    ('custom_2', 'Champ personnalisé 2'),  # 137
    ('custom_3', 'Champ personnalisé 3'),  # 138
    ('custom_4', 'Champ personnalisé 4'),  # 139
    ('custom_5', 'Champ personnalisé 5'),  # 140
    ('custom_6', 'Champ personnalisé 6'),  # 141
    ('custom_7', 'Champ personnalisé 7'),  # 142
    ('custom_8', 'Champ personnalisé 8'),  # 143
    ('custom_9', 'Champ personnalisé 9'),  # 144
    ('custom_10', 'Champ personnalisé 10'),  # 145
    ('custom_11', 'Champ personnalisé 11'),  # 146
    ('custom_12', 'Champ personnalisé 12'),  # 147
    ('custom_13', 'Champ personnalisé 13'),  # 148
    ('custom_14', 'Champ personnalisé 14'),  # 149
    ('custom_15', 'Champ personnalisé 15'),  # 150
    ('custom_16', 'Champ personnalisé 16'),  # 151
    ('custom_17', 'Champ personnalisé 17'),  # 152
    ('custom_18', 'Champ personnalisé 18'),  # 153
    ('custom_19', 'Champ personnalisé 19'),  # 154
    ('custom_20', 'Champ personnalisé 20'),  # 155
    ('custom_21', 'Champ personnalisé 21'),  # 156
    ('custom_22', 'Champ personnalisé 22'),  # 157
    ('custom_23', 'Champ personnalisé 23'),  # 158
    ('custom_24', 'Champ personnalisé 24'),  # 159
    ('custom_25', 'Champ personnalisé 25'),  # 160
    ('security_deposit', 'Dépôt de garantie'),  # 161
    ('recent_build', 'Récent'),  # 162
    ('works_needed', 'Travaux à prévoir'),  # 163
    ('photo_10', 'Photo 10'),  # 164
    ('photo_11', 'Photo 11'),  # 165
    ('photo_12', 'Photo 12'),  # 166
    ('photo_13', 'Photo 13'),  # 167
    ('photo_14', 'Photo 14'),  # 168
    ('photo_15', 'Photo 15'),  # 169
    ('photo_16', 'Photo 16'),  # 170
    ('photo_17', 'Photo 17'),  # 171
    ('photo_18', 'Photo 18'),  # 172
    ('photo_19', 'Photo 19'),  # 173
    ('photo_20', 'Photo 20'),  # 174
    ('technical_id', 'Identifiant technique'),  # 175
    ('energy_kwhep_m2_year', 'Consommation énergie'),  # 176
    ('energy_class', 'Bilan consommation énergie'),  # 177
    ('ghg_kgco2_m2_year', 'Emissions GES'),  # 178
    ('ghg_class', 'Bilan émission GES'),  # 179
    ('district_id_obsolete', 'Identifiant quartier (obsolète)'),  # 180
    ('property_subtype', 'Sous type de bien'),  # 181
    ('availability_periods', 'Périodes de disponibilité'),  # 182
    ('low_season_periods', 'Périodes basse saison'),  # 183
    ('high_season_periods', 'Périodes haute saison'),  # 184
    ('viager_lump_sum', 'Prix du bouquet'),  # 185
    ('viager_monthly_annuity', 'Rente mensuelle'),  # 186
    ('viager_man_age', "Age de l'homme"),  # 187
    ('viager_woman_age', 'Age de la femme'),  # 188
    ('entrance_hall', 'Entrée'),  # 189
    ('in_holiday_residence', 'Résidence'),  # 190
    ('parquet_floor', 'Parquet'),  # 191
    ('overlooked', 'Vis-à-vis'),  # 192
    ('transport_line', 'Transport : Ligne'),  # 193
    ('transport_station', 'Transport : Station'),  # 194
    ('lease_duration', 'Durée bail'),  # 195
    ('seating_capacity', 'Places en salle'),  # 196
    ('goods_lift', 'Monte-charge'),  # 197
    ('loading_dock', 'Quai'),  # 198
    ('office_count', 'Nombre de bureaux'),  # 199
    ('entry_fee', "Prix du droit d'entrée"),  # 200
    ('hide_price', 'Prix masqué'),  # 201
    ('annual_rent_total', 'Loyer annuel global'),  # 202
    ('annual_charges_total', 'Charges annuelles globales'),  # 203
    ('annual_rent_per_m2', 'Loyer annuel au m2'),  # 204
    ('annual_charges_per_m2', 'Charges annuelles au m2'),  # 205
    ('monthly_charges_excl_vat', 'Charges mensuelles HT'),  # 206
    ('annual_rent_charges_incl', 'Loyer annuel CC'),  # 207
    ('annual_rent_excl_vat', 'Loyer annuel HT'),  # 208
    ('annual_charges_excl_vat', 'Charges annuelles HT'),  # 209
    ('annual_rent_per_m2_charges_incl', 'Loyer annuel au m2 CC'),  # 210
    ('annual_rent_per_m2_excl_vat', 'Loyer annuel au m2 HT'),  # 211
    ('annual_charges_per_m2_excl_vat', 'Charges annuelles au m2 HT'),  # 212
    ('area_divisible', 'Divisible'),  # 213
    ('divisible_area_min', 'Surface divisible minimale'),  # 214
    ('divisible_area_max', 'Surface divisible maximale'),  # 215
    ('living_room_area_m2', 'Surface séjour'),  # 216
    ('vehicle_capacity', 'Nombre de véhicules'),  # 217
    ('leasehold_right_price', 'Prix du droit au bail'),  # 218
    ('purchase_value', "Valeur à l'achat"),  # 219
    ('turnover_breakdown', "Répartition du chiffre d'affaire"),  # 220
    ('agricultural_land', 'Terrain agricole'),  # 221
    ('baby_equipment', 'Equipement bébé'),  # 222
    ('buildable_land', 'Terrain constructible'),  # 223
    ('profit_year_n_minus_2', 'Résultat Année N-2'),  # 224
    ('profit_year_n_minus_1', 'Résultat Année N-1'),  # 225
    ('profit_current_year', 'Résultat Actuel'),  # 226
    ('parking_building', 'Immeuble de parkings'),  # 227
    ('standalone_parking', 'Parking isolé'),  # 228
    ('viager_sold_vacant', 'Si Viager Vendu Libre'),  # 229
    ('housing_included', 'Logement à disposition'),  # 230
    ('sloping_land', 'Terrain en pente'),  # 231
    ('water_body', "Plan d'eau"),  # 232
    ('washing_machine', 'Lave-linge'),  # 233
    ('tumble_dryer', 'Sèche-linge'),  # 234
    ('internet', 'Connexion internet'),  # 235
    ('turnover_year_n_minus_2', 'Chiffre affaire Année N-2'),  # 236
    ('turnover_year_n_minus_1', 'Chiffre affaire Année N-1'),  # 237
    ('financial_terms', 'Conditions financières'),  # 238
    ('misc_services', 'Prestations diverses'),  # 239
    ('frontage_length', 'Longueur façade'),  # 240
    ('investment_return', 'Montant du rapport'),  # 241
    ('lease_type', 'Nature du bail'),  # 242
    ('commercial_lease_type', 'Nature bail commercial'),  # 243
    ('terraces', 'Nombre terrasses'),  # 244
    ('price_excl_vat', 'Prix hors taxes'),  # 245
    ('has_dining_room', 'Si Salle à manger'),  # 246
    ('has_living_room', 'Si Séjour'),  # 247
    ('land_on_street', 'Terrain donne sur la rue'),  # 248
    ('office_type_building', 'Immeuble de type bureaux'),  # 249
    ('serviced_land', 'Terrain viabilisé'),  # 250
    ('video_equipment', 'Equipement Vidéo'),  # 251
    ('cellar_area_m2', 'Surface de la cave'),  # 252
    ('dining_room_area_m2', 'Surface de la salle à manger'),  # 253
    ('commercial_setting', 'Situation commerciale'),  # 254
    ('max_single_office_area', "Surface maximale d'un bureau"),  # 255
    ('buyer_pays_fees_obsolete', 'Honoraires charge acquéreur (obsolète)'),  # 256
    ('fee_percent_obsolete', 'Pourcentage honoraires TTC (obsolète)'),  # 257
    ('in_condominium', 'En copropriété'),  # 258
    ('condominium_lots', 'Nombre de lots'),  # 259
    ('condominium_annual_charges', 'Charges annuelles'),  # 260
    ('condominium_in_proceedings', 'Syndicat des copropriétaires en procédure'),  # 261
    ('condominium_proceedings_details', 'Détail procédure du syndicat des copropriétaires'),  # 262
    ('custom_26', 'Champ personnalisé 26'),  # 263
    ('photo_21', 'Photo 21'),  # 264
    ('photo_22', 'Photo 22'),  # 265
    ('photo_23', 'Photo 23'),  # 266
    ('photo_24', 'Photo 24'),  # 267
    ('photo_25', 'Photo 25'),  # 268
    ('photo_26', 'Photo 26'),  # 269
    ('photo_27', 'Photo 27'),  # 270
    ('photo_28', 'Photo 28'),  # 271
    ('photo_29', 'Photo 29'),  # 272
    ('photo_30', 'Photo 30'),  # 273
    ('photo_10_title', 'Titre photo 10'),  # 274
    ('photo_11_title', 'Titre photo 11'),  # 275
    ('photo_12_title', 'Titre photo 12'),  # 276
    ('photo_13_title', 'Titre photo 13'),  # 277
    ('photo_14_title', 'Titre photo 14'),  # 278
    ('photo_15_title', 'Titre photo 15'),  # 279
    ('photo_16_title', 'Titre photo 16'),  # 280
    ('photo_17_title', 'Titre photo 17'),  # 281
    ('photo_18_title', 'Titre photo 18'),  # 282
    ('photo_19_title', 'Titre photo 19'),  # 283
    ('photo_20_title', 'Titre photo 20'),  # 284
    ('photo_21_title', 'Titre photo 21'),  # 285
    ('photo_22_title', 'Titre photo 22'),  # 286
    ('photo_23_title', 'Titre photo 23'),  # 287
    ('photo_24_title', 'Titre photo 24'),  # 288
    ('photo_25_title', 'Titre photo 25'),  # 289
    ('photo_26_title', 'Titre photo 26'),  # 290
    ('photo_27_title', 'Titre photo 27'),  # 291
    ('photo_28_title', 'Titre photo 28'),  # 292
    ('photo_29_title', 'Titre photo 29'),  # 293
    ('photo_30_title', 'Titre photo 30'),  # 294
    ('land_price', 'Prix du terrain'),  # 295
    ('house_model_price', 'Prix du modèle de maison'),  # 296
    ('land_agency_name', "Nom de l'agence gérant le terrain"),  # 297
    ('latitude', 'Latitude'),  # 298
    ('longitude', 'Longitude'),  # 299
    ('gps_precision', 'Précision GPS'),  # 300
    ('format_version', 'Version Format'),  # 301
    ('fee_payer', 'Honoraires à la charge de'),  # 302
    ('price_excl_buyer_fees', 'Prix hors honoraires acquéreur'),  # 303
    ('tenant_charges_method', 'Modalités charges locataire'),  # 304
    ('rent_supplement', 'Complément loyer'),  # 305
    ('inventory_fee_share', 'Part honoraires état des lieux'),  # 306
    ('fee_schedule_url', "URL du Barème des honoraires de l'Agence"),  # 307
    ('model_price_min', 'Prix minimum'),  # 308
    ('model_price_max', 'Prix maximum'),  # 309
    ('model_area_min', 'Surface minimale'),  # 310
    ('model_area_max', 'Surface maximale'),  # 311
    ('model_rooms_min', 'Nombre de pièces minimum'),  # 312
    ('model_rooms_max', 'Nombre de pièces maximum'),  # 313
    ('model_bedrooms_min', 'Nombre de chambres minimum'),  # 314
    ('model_bedrooms_max', 'Nombre de chambres maximum'),  # 315
    ('model_floor_type', 'ID type étage'),  # 316
    ('model_convertible_attic', 'Si combles aménageables'),  # 317
    ('model_has_garage', 'Si garage'),  # 318
    ('model_garage_type', 'ID type garage'),  # 319
    ('model_semi_detached_possible', 'Si possibilité mitoyenneté'),  # 320
    ('model_required_land_m2', 'Surface terrain nécessaire'),  # 321
    ('model_departments', 'Localisation'),  # 322
    ('model_name', 'Nom du modèle'),  # 323
    ('dpe_date', 'Date réalisation DPE'),  # 324
    ('dpe_version', 'Version DPE'),  # 325
    ('dpe_energy_cost_min', 'DPE coût min conso'),  # 326
    ('dpe_energy_cost_max', 'DPE coût max conso'),  # 327
    ('dpe_cost_reference_year', 'DPE Année de référence conso'),  # 328
    ('terrace_area_m2', 'Surface terrasse'),  # 329
    ('field_330', 'Champ 330'),  # 330
    ('field_331', 'Champ 331'),  # 331
    ('field_332', 'Champ 332'),  # 332
    ('field_333', 'Champ 333'),  # 333
    ('field_334', 'Champ 334'),  # 334
)
