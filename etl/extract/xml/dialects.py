"""The built-in XML dialects: Kyero v3, Ubiflow-style, Trovit homes; and OpenImmo, refused.

Each is a table of the elements its structure defines (``../shared/reference/xml-feed-formats.md``)
and a confidence read off the feed's head. Field names are the elements' own (``location/latitude``
→ ``latitude``) so the mappings read like the feeds. Languages: the AVIV text maps take ISO 639-1
codes; a Kyero ``desc/<lang>`` outside ``LANGUAGES`` is not read (there is no AVIV key for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from etl.errors import UnsupportedFeed
from etl.extract.base import NOTHING
from etl.extract.container import Container
from etl.extract.xml.feed import Normalise, XmlFeed
from etl.extract.xml.format import Head, XmlFormat, read_head
from etl.extract.xml.places import country_of_region

# Kyero v3's languages (kyeroV3.0.xsd ``langType``), French first; each is an ISO 639-1 code
# AVIV's MultiLingualText accepts.
LANGUAGES: Final = ("fr", "en", "es", "de", "nl", "it", "pt", "ca", "da", "fi", "no", "sv", "ru", "pl", "ar", "bg",
                    "cs", "el", "et", "fa", "he", "hi", "hu", "id", "ja", "ko", "lt", "lv", "ro", "sk", "sl", "th",
                    "tr", "uk", "vi", "zh")
PHOTOS: Final = 50  # AVIV sets no limit; Kyero feeds carry up to ~50 images


class KyeroFormat(XmlFormat):
    name: ClassVar[str] = "kyero"
    title: ClassVar[str] = "flux XML Kyero v3"
    dialect: ClassVar[str] = "Kyero v3"
    default_mapping: ClassVar[str | None] = "kyero"
    derived: ClassVar[Mapping[str, str]] = {"country_guess": "élément <country> (à défaut, <province>)"}
    spec: ClassVar[Mapping[str, Any]] = {
        "record": "property",
        "key": ["id", "ref"],
        "fields": {
            "id": "id", "date": "date", "ref": "ref", "reference": ["ref", "id"], "price": "price", "currency": "currency",
            "price_freq": "price_freq", "part_ownership": "part_ownership", "leasehold": "leasehold",
            "new_build": "new_build", "type": "type", "town": "town", "province": "province",
            "country": "country", "postcode": ["postcode", "location/postcode"],
            "latitude": "location/latitude", "longitude": "location/longitude",
            "location_detail": "location_detail", "beds": "beds", "baths": "baths", "pool": "pool",
            "built": "surface_area/built", "plot": "surface_area/plot",
            "energy_consumption": "energy_rating/consumption", "energy_emissions": "energy_rating/emissions",
            **{f"url_{lang}": f"url/{lang}" for lang in LANGUAGES},
            **{f"desc_{lang}": f"desc/{lang}" for lang in LANGUAGES},
            "features": {"path": "features/feature", "join": ", "},
            "notes": "notes",
            # Image titles are per language (langType): the French one first.
            "image": {"each": "images/image", "max": PHOTOS, "order_by": "@id",
                      "parts": {"url": "url", "title": [f"title/{lang}" for lang in LANGUAGES] + ["title"]}},
            "country_guess": None,  # from the province when <country> is absent (see _kyero_country)
        },
    }

    def confidence(self, head: Head) -> float:
        if head.root != "root":
            return 0.0
        if head.has("kyero") or head.has("feed_version"):
            return 0.95
        if head.has("property", "price_freq") or head.has("property", "town", "province"):
            return 0.9
        return 0.55 if head.has("property") else 0.0

    def normalise(self) -> Normalise | None:
        return _kyero_country


def _kyero_country(values: list[str], columns: Mapping[str, int]) -> None:
    """Kyero v3 has no country element (``province`` is required): a province or region that
    belongs to one country names it; otherwise the column stays empty and the mapping says so."""
    country = values[columns["country"]].strip()
    values[columns["country_guess"]] = country or country_of_region(values[columns["province"]]) or ""


class UbiflowFormat(XmlFormat):
    name: ClassVar[str] = "ubiflow"
    title: ClassVar[str] = "flux XML Ubiflow / AC3"
    dialect: ClassVar[str] = "Ubiflow"
    default_mapping: ClassVar[str | None] = "ubiflow"
    derived: ClassVar[Mapping[str, str]] = {"famille": "élément <bien/code_type>"}
    spec: ClassVar[Mapping[str, Any]] = {
        "record": "annonce",
        "key": ["id", "reference"],
        "agency": "client",
        "fields": {
            "id": "@id", "reference": "reference", "client": "../@reference",
            "titre": "titre", "texte": "texte",
            "contact_a_afficher": "contact_a_afficher", "email_a_afficher": "email_a_afficher",
            "telephone_a_afficher": "telephone_a_afficher",
            "photo": {"each": "photos/photo", "max": PHOTOS, "order_by": "@ordre", "parts": {"": ".", "titre": "@titre"}},
            "code_type": ["bien/code_type", "code_type"],
            "code_postal": "bien/code_postal", "ville": "bien/ville", "surface": "bien/surface",
            "nb_pieces_logement": "bien/nb_pieces_logement", "nombre_de_chambres": "bien/nombre_de_chambres",
            "annee_construction": "bien/annee_construction",
            "type_transaction": "prestation/type", "prix": "prestation/prix",
            "loyer_mensuel_cc": "prestation/loyer_mensuel_cc", "honoraires_payeurs": "prestation/honoraires_payeurs",
            "dpe_etiquette_conso": "diagnostiques/dpe_etiquette_conso",
            "dpe_valeur_conso": "diagnostiques/dpe_valeur_conso",
            "dpe_etiquette_ges": "diagnostiques/dpe_etiquette_ges",
            "dpe_valeur_ges": "diagnostiques/dpe_valeur_ges",
            "famille": None,  # derived from code_type (see _ubiflow_family)
        },
    }

    def confidence(self, head: Head) -> float:
        if head.root == "flux":
            return 0.95 if head.has("annonce") else 0.6
        if head.root == "client" and head.has("annonce"):
            return 0.9
        return 0.0

    def normalise(self) -> Normalise | None:
        return _ubiflow_family


def _ubiflow_family(values: list[str], columns: Mapping[str, int]) -> None:
    """``code_type`` 1110 → family ``1100`` (apartments), 2310 → ``2000`` (commercial): the
    structure documents the families (11xx, 12xx, 13xx, 2xxx, 3xxx), producers refine them."""
    code = values[columns["code_type"]].strip()
    family = ""
    if len(code) == 4 and code.isdigit():
        family = code[:2] + "00" if code[0] == "1" else code[0] + "000"
    values[columns["famille"]] = family


class TrovitFormat(XmlFormat):
    name: ClassVar[str] = "trovit"
    title: ClassVar[str] = "flux XML Trovit"
    dialect: ClassVar[str] = "Trovit homes"
    default_mapping: ClassVar[str | None] = "trovit"
    spec: ClassVar[Mapping[str, Any]] = {
        "record": "ad",
        "key": "id",
        "fields": {
            "id": "id", "url": "url", "title": "title", "type": "type", "content": "content",
            "price": "price", "price_period": "price/@period", "property_type": "property_type",
            "address": "address", "city": "city", "city_area": "city_area", "postcode": "postcode",
            "region": "region", "latitude": "latitude", "longitude": "longitude",
            "floor_area": "floor_area", "floor_area_unit": "floor_area/@unit",
            "rooms": "rooms", "bathrooms": "bathrooms", "parking": "parking",
            "is_furnished": "is_furnished", "is_new": "is_new",
            "picture": {"each": "pictures/picture", "max": PHOTOS,
                        "parts": {"url": "picture_url", "title": "picture_title"}},
            "date": "date", "agency": "agency",
        },
    }

    def confidence(self, head: Head) -> float:
        if head.root != "trovit":
            return 0.0
        return 0.95 if head.has("ad") else 0.7


class OpenImmoFormat(XmlFormat):
    """Recognised so that it is refused in words: OpenImmo feeds may be incremental (``aktion``),
    and an incremental feed read as a snapshot would delete every listing it does not repeat."""

    name: ClassVar[str] = "openimmo"
    title: ClassVar[str] = "flux XML OpenImmo (non pris en charge)"
    dialect: ClassVar[str] = "OpenImmo"
    spec: ClassVar[Mapping[str, Any]] = {"record": "immobilie", "key": "id", "fields": {"id": "verwaltung_techn/objektnr_extern"}}

    def confidence(self, head: Head) -> float:
        return 0.95 if head.root == "openimmo" else 0.0

    def open(self, container: Container, *, agency_id: str | None = None,
             options: Mapping[str, Any] = NOTHING) -> XmlFeed:
        head = read_head(container)
        incremental = head is not None and head.has("aktion")
        said = " ; il contient des éléments <aktion> (envoi incrémental : CHANGE / DELETE)" if incremental else ""
        raise UnsupportedFeed(
            f"{container.name} : flux XML OpenImmo{said}. Les flux incrémentaux ne sont pas pris en charge : "
            "ce produit lit des instantanés complets (une annonce absente est retirée des portails). "
            "Demandez à votre logiciel un export complet Kyero, Trovit, Ubiflow ou Poliris.")


KYERO: Final = KyeroFormat()
UBIFLOW: Final = UbiflowFormat()
TROVIT: Final = TrovitFormat()
OPENIMMO: Final = OpenImmoFormat()
