"""Which country a province or region name belongs to, for Kyero feeds (whose structure has no
country element: ``province`` is required, ``country`` an extension some producers add).

Only names that belong to one country are listed: French départements and régions, Spanish
provinces and autonomous communities (with the Costas), Portuguese districts and regions,
Italian regions. A name not listed leaves the country unknown, and the listing is rejected
with a message asking for ``<country>``, rather than guessed.
"""

from __future__ import annotations

import unicodedata
from typing import Final

_FRANCE: Final = """
ain aisne allier alpes-de-haute-provence hautes-alpes alpes-maritimes ardeche ardennes ariege aube aude aveyron
bouches-du-rhone calvados cantal charente charente-maritime cher correze corse corse-du-sud haute-corse cote-d'or
cotes-d'armor creuse dordogne doubs drome eure eure-et-loir finistere gard haute-garonne gers gironde herault
ille-et-vilaine indre indre-et-loire isere jura landes loir-et-cher loire haute-loire loire-atlantique loiret lot
lot-et-garonne lozere maine-et-loire manche marne haute-marne mayenne meurthe-et-moselle meuse morbihan moselle
nievre nord oise orne pas-de-calais puy-de-dome pyrenees-atlantiques hautes-pyrenees pyrenees-orientales bas-rhin
haut-rhin rhone haute-saone saone-et-loire sarthe savoie haute-savoie paris seine-maritime seine-et-marne yvelines
deux-sevres somme tarn tarn-et-garonne var vaucluse vendee vienne haute-vienne vosges yonne territoire-de-belfort
essonne hauts-de-seine seine-saint-denis val-de-marne val-d'oise guadeloupe martinique guyane la-reunion reunion
mayotte
auvergne-rhone-alpes bourgogne-franche-comte bretagne brittany centre-val-de-loire grand-est hauts-de-france
ile-de-france normandie normandy nouvelle-aquitaine occitanie pays-de-la-loire provence-alpes-cote-d'azur paca
cote-d'azur french-riviera alsace aquitaine limousin poitou-charentes languedoc-roussillon midi-pyrenees
bourgogne burgundy franche-comte champagne-ardenne lorraine picardie nord-pas-de-calais rhone-alpes provence
"""
_SPAIN: Final = """
alava araba albacete alicante alacant almeria asturias avila badajoz barcelona burgos caceres cadiz cantabria
castellon castello ciudad-real cordoba cuenca girona gerona granada guadalajara gipuzkoa guipuzcoa huelva huesca
baleares illes-balears islas-baleares balearic-islands mallorca menorca ibiza jaen a-coruna la-coruna la-rioja
las-palmas gran-canaria lanzarote fuerteventura leon lleida lerida lugo madrid malaga murcia navarra ourense
orense palencia pontevedra salamanca santa-cruz-de-tenerife tenerife segovia sevilla seville soria tarragona
teruel toledo valencia valladolid bizkaia vizcaya zamora zaragoza ceuta melilla andalucia andalusia aragon
canarias canary-islands castilla-la-mancha castilla-y-leon catalonia catalunya cataluna extremadura galicia
pais-vasco basque-country comunidad-valenciana costa-blanca costa-del-sol costa-calida costa-brava costa-dorada
costa-de-almeria costa-tropical costa-de-la-luz
"""
_PORTUGAL: Final = """
algarve faro lisboa lisbon porto oporto madeira acores azores aveiro beja braga braganca castelo-branco coimbra
evora guarda leiria portalegre santarem setubal viana-do-castelo vila-real viseu alentejo silver-coast
"""
_ITALY: Final = """
abruzzo basilicata calabria campania emilia-romagna friuli-venezia-giulia lazio liguria lombardia lombardy marche
molise piemonte piedmont puglia apulia sardegna sardinia sicilia sicily toscana tuscany trentino-alto-adige umbria
valle-d'aosta veneto
"""


def _key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.strip().casefold().replace("\u2019", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return "-".join(text.replace("_", " ").replace("-", " ").split())


_COUNTRY_OF: Final = {
    _key(n): country for words, country in ((_FRANCE, "France"), (_SPAIN, "Spain"), (_PORTUGAL, "Portugal"),
                                             (_ITALY, "Italy")) for n in words.split()
}


def country_of_region(name: str) -> str | None:
    """« Alpes-Maritimes » → « France », « Málaga » → « Spain »; None when the name is not known."""
    return _COUNTRY_OF.get(_key(name)) if name else None
