"""The words of the reports, in French (default) and English.

One registry for every issue code the project emits: a short title (what is
wrong) and a general fix (what to do), in both languages. Codes are looked up
by their stem — the code without its ``E_``/``W_`` prefix — because a portal
rule is an error on one listing and a warning on another with the same words.
``tests/test_report_i18n.py`` scans the sources for every code that can be
emitted and fails when one lacks a language here: a new code must come with
its two texts.

French is the agencies' language: its texts are the reference; the specific
French message of each issue (which names the field and the value) is shown
as the fix in French, and these general fixes stand in for it in English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")


@dataclass(frozen=True, slots=True)
class CodeText:
    fr_title: str
    fr_fix: str
    en_title: str
    en_fix: str

    def title(self, lang: Lang) -> str:
        return self.en_title if lang == "en" else self.fr_title

    def fix(self, lang: Lang) -> str:
        return self.en_fix if lang == "en" else self.fr_fix


def _t(fr_title: str, fr_fix: str, en_title: str, en_fix: str) -> CodeText:
    return CodeText(fr_title, fr_fix, en_title, en_fix)


_PORTAL_PRICE = _t("Prix exigé par le portail absent", "Renseignez un prix strictement positif (champ 11).",
                   "Price required by the portal is missing", "Enter a price greater than zero (field 11).")

# stem → texts. Keep sorted by family; every stem needs all four texts.
CODES: dict[str, CodeText] = {
    # -- the file and its lines -------------------------------------------------------------
    "LINE_MALFORMED": _t("Ligne illisible dans le fichier",
                         "Vérifiez les guillemets, séparateurs et retours à la ligne de l'annonce dans votre logiciel, "
                         "puis refaites l'export.",
                         "Unreadable line in the file",
                         "Check the quotes, separators and line breaks of this listing in your software, then export again."),
    "XML_MALFORMED": _t("XML mal formé : la lecture s'arrête à cette annonce",
                        "Relancez l'export depuis votre logiciel ; si l'erreur revient, transmettez ce rapport "
                        "à votre éditeur de logiciel. Rien n'est retiré en attendant.",
                        "Malformed XML: reading stops at this listing",
                        "Run the export again from your software; if the error comes back, forward this report "
                        "to your software vendor. Nothing is taken down meanwhile."),
    "RECORD_TOO_LARGE": _t("Annonce trop volumineuse",
                           "Vérifiez cette annonce dans votre logiciel (nombre de photos ou de textes), "
                           "puis refaites l'export.",
                           "Listing too large",
                           "Check this listing in your software (number of pictures or texts), then export again."),
    "HEADER_BELOW_TITLE": _t("Lignes de titre au-dessus de l'en-tête, ignorées",
                             "Rien à faire si ce sont bien des titres ; sinon, placez l'en-tête en première ligne.",
                             "Title rows above the header, ignored",
                             "Nothing to do if they are titles; otherwise put the header on the first row."),
    "ROWS_HIDDEN": _t("Lignes masquées, ignorées", "Affichez-les dans le classeur si ces annonces doivent être publiées.",
                      "Hidden rows, ignored", "Unhide them in the workbook if these listings are to be published."),
    "COLUMNS_HIDDEN": _t("Colonnes masquées, ignorées", "Affichez-les dans le classeur si elles doivent être lues.",
                         "Hidden columns, ignored", "Unhide them in the workbook if they are to be read."),
    "COLUMNS_UNREAD": _t("Colonnes non utilisées",
                         "Si l'une d'elles contient une information à publier, signalez son nom à l'exploitant.",
                         "Columns not used",
                         "If one of them holds information to publish, tell the operator its name."),
    "LINE_TOO_LONG": _t("Ligne démesurément longue", "L'export semble corrompu : refaites-le.",
                        "Line far too long", "The export looks corrupted: export again."),
    "LINE_TRUNCATED": _t("Annonce coupée par la fin du fichier",
                         "Le fichier s'arrête au milieu de l'annonce : renvoyez un export complet.",
                         "Listing cut off by the end of the file",
                         "The file stops in the middle of this listing: send a complete export."),
    "LINE_WIDTH": _t("Nombre de champs inattendu",
                     "Un champ manque peut-être et décale les suivants : vérifiez la version du format d'export.",
                     "Unexpected number of fields",
                     "A field may be missing and shift the next ones: check the version of the export format."),
    "LINE_QUOTES": _t("Guillemets manquants", "Chaque valeur doit être entourée de guillemets : signalez-le à votre éditeur.",
                      "Missing quotes", "Every value must be enclosed in quotes: tell your software vendor."),
    "LINE_JOINED": _t("Retour à la ligne dans un texte",
                      "Retirez les retours à la ligne des textes (utilisez <BR>) dans votre logiciel.",
                      "Line break inside a text", "Remove line breaks from texts (use <BR>) in your software."),
    "ENCODING_REPAIRED": _t("Accents mal encodés (corrigés)", "Exportez le fichier dans un seul encodage (UTF-8 ou Windows-1252).",
                            "Badly encoded accents (repaired)", "Export the file in one encoding (UTF-8 or Windows-1252)."),
    "ENCODING_MIXED": _t("Encodages mélangés dans le fichier", "Exportez tout le fichier dans un seul encodage.",
                         "Mixed encodings in the file", "Export the whole file in one encoding."),
    "ENCODING_UNDEFINED_BYTE": _t("Caractère corrompu", "Retapez le texte concerné dans votre logiciel.",
                                  "Corrupted character", "Retype the text concerned in your software."),
    "PHOTOS_MODE_UNKNOWN": _t("Réglage des photos inconnu (Photos.cfg)", "Indiquez Mode=URL, FULL ou DIFF dans Photos.cfg.",
                              "Unknown photo setting (Photos.cfg)", "Set Mode=URL, FULL or DIFF in Photos.cfg."),
    "PAYLOAD_UNREADABLE": _t("Ligne de données illisible", "Refaites la conversion du flux.",
                             "Unreadable data line", "Convert the feed again."),
    # -- identity ---------------------------------------------------------------------------
    "KEY_MISSING": _t("Annonce sans identifiant", "Renseignez l'identifiant de l'annonce (champ 175 d'un export Poliris, colonne de référence d'un tableur, élément id d'un flux XML).",
                      "Listing without an identifier", "Fill in the listing's identifier (Poliris field 175, a spreadsheet's reference column, an XML feed's id element)."),
    "KEY_DUPLICATE": _t("Identifiant en double", "Donnez à chaque annonce son propre identifiant (champ 175 d'un export Poliris, référence d'un tableur, id d'un flux XML).",
                        "Duplicate identifier", "Give every listing its own identifier (Poliris field 175, a spreadsheet's reference, an XML feed's id)."),
    "KEY_FALLBACK_REFERENCE": _t("Identifiant technique absent, la référence le remplace",
                                 "Renseignez le champ 175 : si la référence change, l'annonce serait retirée puis recréée.",
                                 "Technical identifier missing, the reference stands in",
                                 "Fill in field 175: if the reference changed, the listing would be removed and created again."),
    "AGENCY_MISSING": _t("Agence non identifiée", "Renseignez l'identifiant de l'agence (champ 1 d'un export Poliris, colonne agence d'un tableur) ou demandez à l'exploitant de le fixer pour votre agence.",
                         "Agency not identified", "Fill in the agency identifier (Poliris field 1, a spreadsheet's agency column) or ask the operator to set it for your agency."),
    "ESTATE_ID_TOO_LONG": _t("Identifiant trop long", "Raccourcissez l'identifiant technique (champ 175).",
                             "Identifier too long", "Shorten the technical identifier (field 175)."),
    "METADATA_SOURCE_MISSING": _t("Origine de l'annonce absente", "Signalez-le à l'exploitant : le réglage de l'agence est incomplet.",
                                  "Listing origin missing", "Tell the operator: the agency's settings are incomplete."),
    # -- values -----------------------------------------------------------------------------
    "VALUE_INVALID": _t("Valeur invalide", "Corrigez la valeur du champ indiqué.",
                        "Invalid value", "Correct the value of the field shown."),
    "VALUE_IGNORED": _t("Valeur non reconnue, ignorée", "Corrigez-la pour qu'elle soit publiée.",
                        "Unrecognised value, ignored", "Correct it so that it is published."),
    "VALUE_MISSING": _t("Valeur absente", "Renseignez le champ indiqué si l'information existe.",
                        "Value missing", "Fill in the field shown if the information exists."),
    "REQUIRED_MISSING": _t("Valeur obligatoire absente", "Renseignez le champ indiqué.",
                           "Required value missing", "Fill in the field shown."),
    "PLACEHOLDER_IGNORED": _t("Valeur par défaut ignorée",
                              "Laissez le champ vide ou renseignez la vraie valeur.",
                              "Software default value, ignored", "Leave the field empty or enter the real value."),
    "HEATING_CODE_NONSTANDARD": _t("Code de chauffage non standard", "Signalez-le à l'éditeur de votre logiciel.",
                                   "Non-standard heating code", "Tell your software vendor."),
    "DPE_VERSION_DATE_MISMATCH": _t("Version du DPE incohérente avec sa date",
                                    "Corrigez la version ou la date (méthode 2021 depuis le 1er juillet 2021).",
                                    "Energy certificate version does not match its date",
                                    "Correct the version or the date (2021 method since 1 July 2021)."),
    "FEES_UNDISCLOSED": _t("Honoraires non indiqués", "Renseignez le montant ou le pourcentage des honoraires (loi Alur).",
                           "Agency fees not stated", "Fill in the amount or percentage of the fees (required by French law)."),
    "HEADLINE_MISSING": _t("Titre de l'annonce absent", "Renseignez le libellé (champ 20).",
                           "Listing headline missing", "Fill in the headline (field 20)."),
    "TEXT_HTML": _t("Code HTML retiré d'un texte", "N'utilisez que <BR> ; écrivez les accents et symboles tels quels.",
                    "HTML code removed from a text", "Use only <BR>; type accents and symbols as they are."),
    "PRICE_MISSING": _t("Prix absent", "Renseignez le prix, honoraires inclus (champ 11).",
                        "Price missing", "Fill in the price, fees included (field 11)."),
    "RENT_MISSING": _t("Loyer absent", "Renseignez le loyer mensuel (champ 11).",
                       "Rent missing", "Fill in the monthly rent (field 11)."),
    "LEASE_RIGHT_MISSING": _t("Droit au bail absent", "Renseignez le prix de cession du droit au bail (0 s'il n'y en a pas).",
                              "Lease right missing", "Fill in the price of the lease right (0 if there is none)."),
    "DESCRIPTION_MISSING": _t("Descriptif absent", "Rédigez le descriptif du bien (champ 21).",
                              "Description missing", "Write the property's description (field 21)."),
    "TRANSACTION_MISSING": _t("Type de transaction absent", "Indiquez vente ou location (champ 3).",
                              "Transaction type missing", "State sale or rental (field 3)."),
    "PROPERTY_TYPE_MISSING": _t("Type de bien absent", "Renseignez le type de bien (champ 4).",
                                "Property type missing", "Fill in the property type (field 4)."),
    "ESTATE_TYPE_MISSING": _t("Type de bien absent", "Renseignez le type de bien (champ 4).",
                              "Property type missing", "Fill in the property type (field 4)."),
    "ESTATE_TYPE_UNKNOWN": _t("Type de bien non reconnu", "Choisissez un type de bien de la liste de votre logiciel (champ 4).",
                              "Property type not recognised", "Pick a property type from your software's list (field 4)."),
    "ESTATE_SUBTYPE_MISSING": _t("Sous-type de bien absent", "Précisez le type de bien (appartement, maison, villa…).",
                                 "Property subtype missing", "Specify the kind of property (flat, house, villa…)."),
    "ESTATE_SUBTYPE_MISMATCH": _t("Sous-type incompatible avec le type de bien", "Mettez le type et le sous-type en accord.",
                                  "Subtype does not match the property type", "Make the type and the subtype agree."),
    "DISTRIBUTION_TYPE_MISSING": _t("Type de transaction absent", "Indiquez vente ou location (champ 3).",
                                    "Transaction type missing", "State sale or rental (field 3)."),
    "DISTRIBUTION_TYPE_UNKNOWN": _t("Type de transaction non reconnu", "Indiquez vente ou location (champ 3).",
                                    "Transaction type not recognised", "State sale or rental (field 3)."),
    "POSTALCODE_MISSING": _t("Code postal absent", "Renseignez le code postal du bien (champ 5).",
                             "Postcode missing", "Fill in the property's postcode (field 5)."),
    "POSTAL_CODE_MISSING": _t("Code postal absent", "Renseignez le code postal du bien (champ 5).",
                              "Postcode missing", "Fill in the property's postcode (field 5)."),
    "CITY_MISSING": _t("Ville absente", "Renseignez la ville du bien (champ 6).",
                       "City missing", "Fill in the property's city (field 6)."),
    "COUNTRY_MISSING": _t("Pays absent", "Renseignez le pays du bien (FRA pour la France).",
                          "Country missing", "Fill in the property's country (FRA for France)."),
    "GPS_INVALID": _t("Coordonnées GPS illisibles ou invraisemblables, ignorées",
                      "Corrigez la latitude et la longitude (ou le code postal).",
                      "Unreadable or implausible GPS coordinates, ignored",
                      "Correct the latitude and longitude (or the postcode)."),
    "GPS_SWAPPED": _t("Latitude et longitude inversées (remises dans l'ordre)", "Inversez-les dans votre logiciel.",
                      "Latitude and longitude swapped (put back in order)", "Swap them back in your software."),
    "DPE_VERSION_UNKNOWN": _t("Version de DPE inconnue, ignorée", "Indiquez la version du DPE (2021 ou 2011).",
                              "Unknown energy certificate version, ignored", "State the certificate's version (2021 or 2011)."),
    "DPE_CLASS_INVALID": _t("Classe énergie ou GES invalide, ignorée", "Indiquez une classe de A à G.",
                            "Invalid energy or emissions class, ignored", "Enter a class from A to G."),
    "DPE_COSTS_SWAPPED": _t("Coûts d'énergie inversés (remis dans l'ordre)", "Inversez le coût minimum et le coût maximum.",
                            "Energy costs swapped (put back in order)", "Swap the minimum and maximum costs."),
    "EMAIL_INVALID": _t("Adresse e-mail de contact invalide, ignorée", "Corrigez l'adresse e-mail de contact.",
                        "Invalid contact e-mail address, ignored", "Correct the contact e-mail address."),
    "LANGUAGE_UNKNOWN": _t("Langue de traduction non reconnue, ignorée", "Utilisez EN, ES, DE, IT, NL ou PT.",
                           "Unrecognised translation language, ignored", "Use EN, ES, DE, IT, NL or PT."),
    "PUBLICATION_IGNORED": _t("Code de publication non géré, ignoré", "Retirez ce code de publication.",
                              "Unsupported publication code, ignored", "Remove this publication code."),
    "PORTAL_NOT_FOR_THIS_LISTING": _t("Portail non adapté à ce bien, ignoré", "Retirez ce portail pour cette annonce.",
                                      "Portal not suited to this property, ignored", "Remove this portal for this listing."),
    # -- photos -----------------------------------------------------------------------------
    "PHOTO_NOT_URL": _t("Photo non publiable", "Donnez une adresse http(s) de la photo, ou faites configurer l'adresse "
                        "de publication des photos de l'agence.",
                        "Photo cannot be published", "Give an http(s) address for the photo, or have the agency's photo "
                        "address configured."),
    "PHOTO_FILE_MISSING": _t("Photo absente de l'archive", "Ajoutez le fichier de la photo à l'export.",
                             "Photo missing from the archive", "Add the photo file to the export."),
    "PHOTO_DUPLICATE": _t("Photo en double", "Retirez la photo répétée.",
                          "Duplicate photo", "Remove the repeated photo."),
    "MEDIA_NOT_URL": _t("Média non publiable", "Donnez une adresse http(s).",
                        "Media cannot be published", "Give an http(s) address."),
    # -- portals ----------------------------------------------------------------------------
    "NO_PORTAL": _t("Aucun portail demandé", "Choisissez au moins un portail de diffusion (champ 82).",
                    "No portal requested", "Choose at least one portal (field 82)."),
    "NO_ELIGIBLE_PORTAL": _t("Aucun portail ne peut publier l'annonce", "Corrigez les points signalés pour chaque portail.",
                             "No portal can publish the listing", "Fix the points listed for each portal."),
    "PORTAL_UNKNOWN": _t("Portail inconnu", "Retirez ce portail des portails demandés.",
                         "Unknown portal", "Remove this portal from the requested portals."),
    "PORTAL_NOT_IN_CONTRACT": _t("Portail hors contrat", "Retirez ce portail, ou ajoutez-le à votre contrat AVIV.",
                                 "Portal not in the contract", "Remove this portal, or add it to your AVIV contract."),
    "SL_PRICE_MISSING": _PORTAL_PRICE,
    "BD_PRICE_MISSING": _PORTAL_PRICE,
    "BUCOM_PRICE_MISSING": _PORTAL_PRICE,
    "SLN_PRICE_MISSING": _PORTAL_PRICE,
    "SLC_PRICE_MISSING": _PORTAL_PRICE,
    "BD_ESTATE_TYPE_EXCLUDED": _t("Type de bien refusé par Belles Demeures", "Retirez Belles Demeures pour cette annonce.",
                                  "Property type refused by Belles Demeures", "Remove Belles Demeures for this listing."),
    "BD_PRICE_BELOW_FLOOR": _t("Prix sous le seuil de Belles Demeures", "Retirez Belles Demeures, ou vérifiez le prix (champ 11).",
                               "Price below the Belles Demeures floor", "Remove Belles Demeures, or check the price (field 11)."),
    "BD_NO_PICTURE": _t("Photo obligatoire pour Belles Demeures", "Ajoutez au moins une photo.",
                        "Belles Demeures requires a photo", "Add at least one photo."),
    "BD_SURFACE_SMALL": _t("Surface trop petite pour Belles Demeures", "Vérifiez la surface, ou retirez Belles Demeures.",
                           "Area too small for Belles Demeures", "Check the area, or remove Belles Demeures."),
    "BD_DESCRIPTION_SHORT": _t("Descriptif trop court pour Belles Demeures", "Complétez le descriptif (champ 21, 160 caractères au moins).",
                               "Description too short for Belles Demeures", "Complete the description (field 21, at least 160 characters)."),
    "BUCOM_NOT_TRADING": _t("Bien non commercial pour SeLoger Bureaux & Commerces", "Corrigez le type de bien, ou retirez ce portail.",
                            "Not a commercial property for SeLoger Bureaux & Commerces", "Correct the property type, or remove this portal."),
    "BUCOM_LEASE_RIGHT_MISSING": _t("Droit au bail absent (SeLoger Bureaux & Commerces)",
                                    "Renseignez le prix de cession du droit au bail (0 s'il n'y en a pas).",
                                    "Lease right missing (SeLoger Bureaux & Commerces)",
                                    "Fill in the price of the lease right (0 if there is none)."),
    "SLN_ESTATE_TYPE": _t("Type de bien refusé par SeLoger Neuf", "Retirez SeLoger Neuf pour cette annonce.",
                          "Property type refused by SeLoger Neuf", "Remove SeLoger Neuf for this listing."),
    "SLN_NOT_NEW_BUILD": _t("Bien non neuf pour SeLoger Neuf", "Indiquez qu'il s'agit d'un bien neuf, ou retirez ce portail.",
                            "Not a new build for SeLoger Neuf", "State that it is a new build, or remove this portal."),
    "SLN_DISTRIBUTION_TYPE": _t("Transaction refusée par SeLoger Neuf", "Retirez SeLoger Neuf pour cette annonce.",
                                "Transaction refused by SeLoger Neuf", "Remove SeLoger Neuf for this listing."),
    "SLC_ESTATE_TYPE": _t("Type de bien refusé par SeLoger Construire", "Retirez SeLoger Construire pour cette annonce.",
                          "Property type refused by SeLoger Construire", "Remove SeLoger Construire for this listing."),
    "SLC_NOT_NEW_BUILD": _t("Bien non neuf pour SeLoger Construire", "Indiquez qu'il s'agit d'un projet de construction.",
                            "Not a new build for SeLoger Construire", "State that it is a building project."),
    "SLC_PLOT_NOT_BUILDING_LAND": _t("Terrain non constructible pour SeLoger Construire", "Retirez SeLoger Construire pour ce terrain.",
                                     "Plot is not building land for SeLoger Construire", "Remove SeLoger Construire for this plot."),
    "SLC_DISTRIBUTION_TYPE": _t("Transaction refusée par SeLoger Construire", "Retirez SeLoger Construire pour cette annonce.",
                                "Transaction refused by SeLoger Construire", "Remove SeLoger Construire for this listing."),
    # -- the AVIV format (what the API itself would refuse) ---------------------------------
    "SCHEMA_REQUIRED": _t("Donnée obligatoire pour AVIV absente", "Renseignez l'information manquante.",
                          "Data required by AVIV missing", "Fill in the missing information."),
    "SCHEMA_EXTRA": _t("Donnée refusée par AVIV", "Retirez-la.", "Data refused by AVIV", "Remove it."),
    "SCHEMA_TYPE": _t("Donnée de mauvaise nature", "Corrigez la valeur (un nombre là où un nombre est attendu…).",
                      "Data of the wrong kind", "Correct the value (a number where a number is expected…)."),
    "SCHEMA_ENUM": _t("Valeur non autorisée par AVIV", "Choisissez une des valeurs admises.",
                      "Value not allowed by AVIV", "Pick one of the allowed values."),
    "SCHEMA_TOO_LONG": _t("Texte trop long pour AVIV", "Raccourcissez le texte.", "Text too long for AVIV", "Shorten the text."),
    "SCHEMA_TOO_MANY": _t("Trop d'éléments pour AVIV", "Retirez-en quelques-uns.", "Too many items for AVIV", "Remove some."),
    "SCHEMA_TOO_FEW": _t("Pas assez d'éléments pour AVIV", "Complétez la liste.", "Too few items for AVIV", "Complete the list."),
    "SCHEMA_MINIMUM": _t("Valeur trop petite", "Corrigez la valeur.", "Value too small", "Correct the value."),
    "SCHEMA_MAXIMUM": _t("Valeur trop grande", "Corrigez la valeur.", "Value too large", "Correct the value."),
    "SCHEMA_FORMAT": _t("Format incorrect (date, adresse…)", "Corrigez la valeur au format attendu.",
                        "Wrong format (date, address…)", "Write the value in the expected format."),
    "SCHEMA_PATTERN": _t("Texte vide ou sur plusieurs lignes", "Corrigez le texte.",
                         "Empty or multi-line text", "Correct the text."),
    "SCHEMA_UNIQUE": _t("Doublons dans une liste", "Retirez les doublons.", "Duplicates in a list", "Remove the duplicates."),
    "SCHEMA_ANY_OF": _t("Forme géographique invalide", "Corrigez la géométrie.", "Invalid geographic shape", "Correct the geometry."),
    "SCHEMA_INVALID": _t("Donnée invalide pour AVIV", "Corrigez la valeur.", "Data invalid for AVIV", "Correct the value."),
}

_UNKNOWN_CODE = _t("Problème à corriger", "Voir le message.", "Problem to fix", "See the message.")


def stem(code: str) -> str:
    return code[2:] if code[:2] in ("E_", "W_") else code


def code_text(code: str) -> CodeText:
    return CODES.get(stem(code), _UNKNOWN_CODE)


def has_text(code: str) -> bool:
    return stem(code) in CODES


# -- the rest of the page --------------------------------------------------------------------

PORTAL_NAMES: dict[str, str] = {
    "SL": "SeLoger", "BD": "Belles Demeures", "BUCOM": "SeLoger Bureaux & Commerces",
    "SLN": "SeLoger Neuf", "SLC": "SeLoger Construire",
}

# Every text of the pages and e-mails, by key. ``{n}`` style fields are filled by ``tr``.
TEXTS: dict[str, tuple[str, str]] = {
    # key: (fr, en)
    "title": ("Rapport de publication — {agency}", "Publication report — {agency}"),
    "run_title": ("Rapport d'exploitation — {date}", "Operator run report — {date}"),
    "night_of": ("nuit du {date}", "night of {date}"),
    "processed_at": ("Traitement du {date} — durée {duration}", "Run of {date} — took {duration}"),
    "file_received": ("Fichier reçu : {name}", "File received: {name}"),
    "file_expected": ("Fichier attendu : {name}", "File expected: {name}"),
    "no_file": ("Aucun fichier reçu", "No file received"),
    "convert_note": ("Contrôle du fichier : rien n'a été envoyé aux portails.",
                     "File check: nothing was sent to the portals."),
    "plan_note": ("Simulation : rien n'a été envoyé aux portails ; voici ce que la prochaine exécution ferait.",
                  "Dry run: nothing was sent to the portals; this is what the next run would do."),
    # headline, status of the run
    "h_ok": ("Tout est en ligne", "Everything is online"),
    "h_todo": ("Des annonces sont à corriger", "Some listings need fixing"),
    "h_portals": ("Les portails signalent des annonces à revoir", "The portals flag listings to look at"),
    "h_over_quota": ("Des annonces n'ont pas trouvé de place dans votre contrat",
                     "Some listings did not fit in your contract"),
    "h_failed": ("Le traitement de cette nuit n'a pas abouti", "Tonight's run did not complete"),
    "h_checked": ("Contrôle du fichier", "File check"),
    "fail_source_missing": ("Votre fichier d'annonces n'a pas été reçu : rien n'a été publié, modifié ni retiré.",
                            "Your listings file was not received: nothing was published, changed or removed."),
    "do_source_missing": ("Vérifiez avec votre éditeur de logiciel que l'export automatique est actif et envoyé au bon endroit.",
                          "Check with your software vendor that the automatic export is active and sent to the right place."),
    "fail_source_unreadable": ("Votre fichier d'annonces n'a pas pu être lu : rien n'a été publié, modifié ni retiré.",
                               "Your listings file could not be read: nothing was published, changed or removed."),
    "do_source_unreadable": ("Refaites l'export depuis votre logiciel ; si cela se reproduit, transmettez ce rapport à votre éditeur.",
                             "Export again from your software; if it happens again, forward this report to your software vendor."),
    "fail_feed_empty": ("Votre fichier d'annonces est vide alors que {live} annonces sont en ligne : par sécurité, rien n'a été retiré ni modifié.",
                        "Your listings file is empty while {live} listings are online: to be safe, nothing was removed or changed."),
    "do_feed_empty": ("Vérifiez l'export de votre logiciel. Si vous avez vraiment retiré toutes vos annonces, prévenez l'exploitant.",
                      "Check your software's export. If you really withdrew every listing, tell the operator."),
    "fail_feed_truncated": ("Votre fichier d'annonces est incomplet (coupé en cours d'envoi) : par sécurité, rien n'a été retiré ni modifié.",
                            "Your listings file is incomplete (cut off while being sent): to be safe, nothing was removed or changed."),
    "do_feed_truncated": ("Renvoyez un export complet ; si cela se reproduit, transmettez ce rapport à votre éditeur.",
                          "Send a complete export; if it happens again, forward this report to your software vendor."),
    "fail_mass_delete": ("Votre fichier retirerait {deletes} de vos {live} annonces en ligne : par sécurité, rien n'a été envoyé.",
                         "Your file would remove {deletes} of your {live} online listings: to be safe, nothing was sent."),
    "do_mass_delete": ("Si ces annonces doivent vraiment disparaître, prévenez l'exploitant qui confirmera ; sinon vérifiez l'export de votre logiciel.",
                       "If these listings really must go, tell the operator, who will confirm; otherwise check your software's export."),
    "fail_file_incomplete": ("Votre fichier d'annonces n'a pas pu être lu en entier : par sécurité, aucune annonce absente "
                             "du fichier ne sera retirée.",
                             "Your listings file could not be read in full: to be safe, no listing missing from it will "
                             "be removed."),
    "fail_credentials": ("Les accès au portail ne sont pas configurés pour votre agence : rien n'a été envoyé.",
                         "The portal access is not configured for your agency: nothing was sent."),
    "do_credentials": ("L'exploitant a été prévenu et s'en occupe ; rien à faire de votre côté.",
                       "The operator has been told and is dealing with it; nothing to do on your side."),
    "fail_auth": ("Le portail a refusé les accès de votre agence : rien n'a été envoyé.",
                  "The portal refused your agency's credentials: nothing was sent."),
    "do_auth": ("Vérifiez avec AVIV que votre contrat et vos accès sont actifs ; l'exploitant a été prévenu.",
                "Check with AVIV that your contract and access are active; the operator has been told."),
    "fail_api": ("{n} envoi(s) au portail (a/ont) échoué ; (il sera refait/ils seront refaits) automatiquement à la "
                 "prochaine exécution.",
                 "{n} transmission(s) to the portal failed; (it/they) will be retried automatically at the next run."),
    "do_api": ("Rien à faire de votre côté si cela ne se répète pas ; l'exploitant suit ces échecs.",
               "Nothing to do on your side unless it happens again; the operator follows these failures."),
    "fail_locked": ("Un autre traitement de votre agence était en cours : celui-ci n'a rien fait.",
                    "Another run of your agency was in progress: this one did nothing."),
    "do_locked": ("Rien à faire : la prochaine exécution reprendra normalement.", "Nothing to do: the next run will proceed normally."),
    "fail_config": ("Le réglage de votre agence est incomplet : rien n'a été envoyé.",
                    "Your agency's settings are incomplete: nothing was sent."),
    "do_config": ("L'exploitant a été prévenu et s'en occupe.", "The operator has been told and is dealing with it."),
    "fail_other": ("Le traitement a échoué : rien n'a été envoyé.", "The run failed: nothing was sent."),
    "do_other": ("L'exploitant a été prévenu.", "The operator has been told."),
    "what_to_do": ("Ce qu'il faut faire :", "What to do:"),
    "colon": (" : ", ": "),
    "technical": ("Détail technique", "Technical detail"),
    # headline, what happened to the listings
    "s_online": ("{n} annonce(s) en ligne", "{n} listing(s) online"),
    "s_confirmed": ("{n} confirmée(s) en ligne par les portails", "{n} confirmed online by the portals"),
    "s_created": ("{n} nouvelle(s) mise(s) en ligne", "{n} new listing(s) put online"),
    "s_updated": ("{n} modifiée(s)", "{n} updated"),
    "s_deleted": ("{n} retirée(s)", "{n} removed"),
    "s_unchanged": ("{n} inchangée(s)", "{n} unchanged"),
    "s_to_create": ("{n} à mettre en ligne", "{n} to put online"),
    "s_to_update": ("{n} à modifier", "{n} to update"),
    "s_to_delete": ("{n} à retirer", "{n} to remove"),
    "s_accepted": ("{n} annonce(s) prête(s) à publier", "{n} listing(s) ready to publish"),
    "s_rejected": ("{n} refusée(s), à corriger", "{n} refused, to fix"),
    "s_kept": ("(dont {n} reste(nt) en ligne dans (sa/leur) version précédente)", "({n} of them (stays/stay) online in the previous version)"),
    "s_portal": ("{n} publiée(s) mais pas sur tous les portails demandés", "{n} published but not on every portal requested"),
    "s_warned": ("{n} publiée(s) avec des points à améliorer", "{n} published with points to improve"),
    "s_portal_notes": ("{n} annonce(s) signalée(s) par les portails (voir plus bas)",
                       "{n} listing(s) flagged by the portals (see below)"),
    "status_note": ("Relevé des statuts de publication auprès des portails.",
                    "Publication statuses read from the portals."),
    "s_failed_ops": ("{n} envoi(s) en échec", "{n} failed transmission(s)"),
    "nothing_to_fix": ("Aucune annonce à corriger.", "No listing to fix."),
    "nothing_to_fix_see_portals": ("Votre fichier n'a pas d'annonce refusée ; les portails en signalent plus bas.",
                                   "Your file has no refused listing; the portals flag some below."),
    # sections
    "fix_title": ("Annonces à corriger", "Listings to fix"),
    "fix_intro": ("Corrigez-les dans votre logiciel ; elles seront reprises automatiquement au prochain envoi. "
                  "Les plus importantes d'abord.",
                  "Fix them in your software; they will be picked up automatically at the next export. "
                  "Most important first."),
    "fix_omitted": ("{n} autre(s) annonce(s) (a/ont) aussi des problèmes (voir le classeur joint).",
                    "{n} more listing(s) also have problems (see the attached workbook)."),
    "b_refused": ("Refusée", "Refused"),
    "b_kept": ("Refusée — l'ancienne version reste en ligne", "Refused — the previous version stays online"),
    "b_portal": ("Publiée, sauf sur {portals}", "Published, except on {portals}"),
    "b_warned": ("Publiée — à améliorer", "Published — to improve"),
    "wrong": ("Ce qui ne va pas", "What is wrong"),
    "fix": ("Comment corriger", "How to fix"),
    "value_seen": ("valeur lue", "value read"),
    "empty": ("(vide)", "(empty)"),
    "line": ("ligne {n}", "line {n}"),
    "photo": ("photo", "photo"),
    "code": ("code", "code"),
    "changes_title": ("Les changements de la nuit", "Tonight's changes"),
    "changes_title_plan": ("Ce que la prochaine exécution changerait", "What the next run would change"),
    "no_changes": ("Aucun changement : vos annonces en ligne sont à jour.", "No change: your online listings are up to date."),
    "c_created": ("Mises en ligne", "Put online"),
    "c_updated": ("Modifiées", "Updated"),
    "c_deleted": ("Retirées", "Removed"),
    "c_failed": ("Envois en échec (refaits à la prochaine exécution)", "Failed transmissions (retried at the next run)"),
    "c_more": ("… et {n} autre(s)", "… and {n} more"),
    "s_over_quota": ("{n} annonce(s) au-delà des quotas de votre contrat (voir plus bas)",
                     "{n} listing(s) beyond your contract's quotas (see below)"),
    "quota_title": ("Au-delà des quotas de votre contrat", "Beyond your contract's quotas"),
    "quota_intro": ("Votre contrat permet au plus {quotas}. Ces annonces valides n'y ont pas trouvé de place "
                    "(pour les publier, libérez des places ou augmentez votre contrat) :",
                    "Your contract allows at most {quotas}. These valid listings did not fit (to publish them, "
                    "free some places or extend your contract):"),
    "quota_quota": ("{n} annonce(s) sur {portal}", "{n} listing(s) on {portal}"),
    "quota_not_published": ("non publiée sur {portals}", "not published on {portals}"),
    "quota_withdrawn": ("retirée de {portals}", "withdrawn from {portals}"),
    "portal_side_title": ("Côté portails", "On the portals' side"),
    "portal_side_intro": ("Ce que les portails ont répondu après réception :", "What the portals answered after receiving them:"),
    "ps_CREATED_WITH_MEDIA_ERROR": ("en ligne, mais une photo n'a pas pu être téléchargée : vérifiez son adresse",
                                    "online, but a picture could not be downloaded: check its address"),
    "ps_UPDATED_WITH_MEDIA_ERROR": ("modifiée, mais une photo n'a pas pu être téléchargée : vérifiez son adresse",
                                    "updated, but a picture could not be downloaded: check its address"),
    "ps_CREATING_FAILED": ("publication refusée par le portail", "publication refused by the portal"),
    "ps_UPDATING_FAILED": ("modification refusée par le portail", "update refused by the portal"),
    "ps_DELETING_FAILED": ("retrait refusé par le portail", "removal refused by the portal"),
    "ps_RECEIVING_FAILED": ("le portail n'a pas pu recevoir l'annonce", "the portal could not receive the listing"),
    "ps_refused_on": ("en ligne, mais refusée sur {portals}", "online, but refused on {portals}"),
    "ps_refused_on_media": ("en ligne, mais refusée sur {portals} ; une photo n'a pas pu être téléchargée : "
                            "vérifiez son adresse",
                            "online, but refused on {portals}; a picture could not be downloaded: check its address"),
    "ps_why": ("raison donnée par le portail", "the portal's reason"),
    "ps_media": ("photo non téléchargée", "picture not downloaded"),
    "ps_other": ("statut du portail : {status}", "portal status: {status}"),
    "chart_title": ("En un coup d'œil", "At a glance"),
    "chart_reasons": ("Principales raisons", "Main reasons"),
    "k_online": ("En ligne, inchangées", "Online, unchanged"),
    "k_created": ("Mises en ligne", "Put online"),
    "k_updated": ("Modifiées", "Updated"),
    "k_deleted": ("Retirées", "Removed"),
    "k_rejected": ("Refusées", "Refused"),
    "k_failed": ("En échec", "Failed"),
    "k_accepted": ("Acceptées", "Accepted"),
    "listings_n": ("{n} annonce(s)", "{n} listing(s)"),
    "footer": ("Rapport généré le {date} par classifieds-etl. Le détail ligne par ligne est dans le classeur joint.",
               "Report generated on {date} by classifieds-etl. The line-by-line detail is in the attached workbook."),
    # operator report
    "r_agencies": ("Agences", "Agencies"),
    "r_agency": ("Agence", "Agency"),
    "r_status": ("État", "Status"),
    "r_read": ("Lues", "Read"),
    "r_accepted": ("Acceptées", "Accepted"),
    "r_rejected": ("Refusées", "Refused"),
    "r_created": ("Créées", "Created"),
    "r_updated": ("Modifiées", "Updated"),
    "r_deleted": ("Supprimées", "Deleted"),
    "r_failed": ("Échecs", "Failed"),
    "r_to_create": ("À créer", "To create"),
    "r_to_update": ("À modifier", "To update"),
    "r_to_delete": ("À supprimer", "To delete"),
    "r_duration": ("Durée", "Duration"),
    "r_exit": ("Code", "Code"),
    "r_problems": ("Échecs et refus de sécurité", "Failures and safety refusals"),
    "r_no_problem": ("Aucun échec ni refus de sécurité.", "No failure and no safety refusal."),
    "r_sources": ("Fichiers lus", "Files read"),
    "r_headline": ("{agencies} agences : {ok} sans incident, {failed} en échec ; {read} annonces lues, {rejected} refusées.",
                   "{agencies} agencies: {ok} without incident, {failed} failed; {read} listings read, {rejected} refused."),
    "st_ok": ("terminé", "done"),
    "st_failed": ("échec", "failed"),
    "st_checked": ("contrôlé", "checked"),
    "st_planned": ("simulé", "planned"),
    # e-mail
    "subj_fix": ("{n} annonce(s) à corriger, {online} en ligne — {agency}, {night}",
                 "{n} listing(s) to fix, {online} online — {agency}, {night}"),
    "subj_ok": ("{n} annonce(s) en ligne, rien à corriger — {agency}, {night}",
                "{n} listing(s) online, nothing to fix — {agency}, {night}"),
    "subj_portals": ("{n} annonce(s) signalée(s) par les portails, {online} en ligne — {agency}, {night}",
                     "{n} listing(s) flagged by the portals, {online} online — {agency}, {night}"),
    "subj_over_quota": ("{n} annonce(s) hors quota de votre contrat, {online} en ligne — {agency}, {night}",
                        "{n} listing(s) beyond your contract's quota, {online} online — {agency}, {night}"),
    "subj_failed": ("ÉCHEC : {what} — {agency}, {night}", "FAILED: {what} — {agency}, {night}"),
    "subj_run": ("Exploitation {night} : {failed} agence(s) en échec sur {agencies}",
                 "Run {night}: {failed} of {agencies} agencies failed"),
    "mail_attachment": ("Le détail est dans le classeur joint ({name}).", "The detail is in the attached workbook ({name})."),
    "sf_source_missing": ("fichier non reçu", "file not received"),
    "sf_source_unreadable": ("fichier illisible", "file unreadable"),
    "sf_feed_empty": ("fichier vide", "empty file"),
    "sf_feed_truncated": ("fichier incomplet", "incomplete file"),
    "sf_mass_delete": ("retraits massifs bloqués", "mass removal blocked"),
    "sf_credentials": ("accès portail non configurés", "portal access not configured"),
    "sf_auth": ("accès portail refusés", "portal access refused"),
    "sf_api": ("{n} envoi(s) en échec", "{n} failed transmission(s)"),
    "sf_locked": ("traitement déjà en cours", "run already in progress"),
    "sf_config": ("réglage incomplet", "incomplete settings"),
    "sf_other": ("traitement interrompu", "run interrupted"),
    # workbooks (etl/report/xlsx_report.py)
    "x_summary": ("Synthèse", "Summary"),
    "x_to_fix": ("À corriger", "To fix"),
    "x_warnings": ("Avertissements", "Warnings"),
    "x_sheet_published": ("Publiées", "Published"),
    "x_removed": ("Supprimées", "Removed"),
    "x_failed": ("Échecs d'envoi", "Failed transmissions"),
    "x_title": ("Rapport de publication des annonces", "Listings publication report"),
    "x_date": ("Date du traitement", "Run date"),
    "x_duration": ("Durée", "Duration"),
    "x_file": ("Fichier reçu", "File received"),
    "x_incomplete": (" — INCOMPLET : aucune suppression ne sera faite", " — INCOMPLETE: nothing will be removed"),
    "x_read_problem": ("Problème de lecture", "Read problem"),
    "x_agency": ("Agence", "Agency"),
    "x_status": ("État", "Status"),
    "x_read": ("Annonces lues", "Listings read"),
    "x_accepted": ("Acceptées", "Accepted"),
    "x_rejected": ("Refusées", "Refused"),
    "x_warned": ("Avec avertissements", "With warnings"),
    "x_created": ("Créées", "Created"),
    "x_updated": ("Modifiées", "Updated"),
    "x_deleted": ("Supprimées", "Deleted"),
    "x_failures": ("En échec", "Failed"),
    "x_accepted_on": ("Acceptées {portal}", "Accepted {portal}"),
    "x_reference": ("Référence", "Reference"),
    "x_listing_title": ("Titre", "Title"),
    "x_where": ("Fichier", "File"),
    "x_line": ("Ligne", "Line"),
    "x_decision": ("Décision", "Decision"),
    "x_wrong": ("Ce qui ne va pas", "What is wrong"),
    "x_value": ("Valeur lue", "Value read"),
    "x_fix": ("Comment corriger", "How to fix"),
    "x_code": ("Code", "Code"),
    "x_operation": ("Opération", "Operation"),
    "x_source_key": ("Clé source", "Source key"),
    "x_detail": ("Réponse du portail", "Portal's answer"),
    "x_refused": ("refusée", "refused"),
    "x_kept": ("refusée, l'ancienne version reste en ligne", "refused, previous version stays online"),
    "x_except": ("publiée, sauf sur {portal}", "published, except on {portal}"),
    "x_published": ("publiée", "published"),
    "x_op_created": ("mise en ligne", "put online"),
    "x_op_updated": ("modifiée", "updated"),
    "x_op_create": ("à mettre en ligne", "to put online"),
    "x_op_update": ("à modifier", "to update"),
    "x_op_delete": ("à retirer", "to remove"),
    "x_op_deleted": ("retirée", "removed"),
    "x_ok": ("terminé", "done"),
    "x_fail": ("échec", "failed"),
}

_PLURAL = re.compile(r"\(([^()]*)\)")


def tr(key: str, lang: Lang, /, **values: object) -> str:
    """The text ``key`` in ``lang``, its ``{fields}`` filled. A ``(s)``-style plural
    mark is resolved from ``n`` when given: « 1 annonce », « 3 annonces »."""
    fr, en = TEXTS[key]
    text = en if lang == "en" else fr
    if "n" in values and isinstance(values["n"], int):
        plural = values["n"] > 1
        text = _resolve_plural(text, plural)
    shown = {k: (fmt_int(v, lang) if isinstance(v, int) and not isinstance(v, bool) else v) for k, v in values.items()}
    return text.format(**shown)


def _resolve_plural(text: str, plural: bool) -> str:
    # « (s) », « (nt) »: the plural ending; « (sa/leur) »: singular / plural forms.
    def one(m: re.Match[str]) -> str:
        inner = m.group(1)
        if "/" in inner:
            a, b = inner.split("/", 1)
            return b if plural else a
        if inner in ("s", "nt", "x", "es"):
            return inner if plural else ""
        return m.group(0)

    return _PLURAL.sub(one, text)


_NNBSP = "\u202f"


def fmt_int(n: int, lang: Lang) -> str:
    return f"{n:,}" if lang == "en" else f"{n:,}".replace(",", _NNBSP)


def fmt_date(dt: datetime, lang: Lang) -> str:
    return dt.strftime("%d/%m/%Y %H:%M") if lang == "en" else dt.strftime("%d/%m/%Y à %H:%M")


def fmt_night(dt: datetime, lang: Lang) -> str:
    """« nuit du 30/11 »: the night a run belongs to (a run after midnight belongs to the evening before)."""
    from datetime import timedelta
    night = dt - timedelta(days=1) if dt.hour < 12 else dt
    return tr("night_of", lang, date=night.strftime("%d/%m"))


def fmt_duration(seconds: float, lang: Lang) -> str:
    if seconds < 60:
        s = f"{seconds:.1f}"
        return (s if lang == "en" else s.replace(".", ",")) + " s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


_FIELD = re.compile(r"\bchamps?\s+(\d+)")


def field_label(source_field: str, lang: Lang) -> str:
    """« champ 11 (Prix / Loyer) » reads « field 11 (Prix / Loyer) » in English: the Poliris
    names stay as the agency's software shows them."""
    if lang == "en":
        return _FIELD.sub(lambda m: f"field {m.group(1)}", source_field)
    return source_field


def portal_name(portal: str) -> str:
    return PORTAL_NAMES.get(portal, portal)
