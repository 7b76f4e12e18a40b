"""Check a body against the AVIV v4 schema; each violation becomes an :class:`Issue`.

``check_body`` is on the hot path (once per listing): a valid body costs one pydantic-core
validation of the dict, nothing else. Only a failing body pays for the French messages.

Issue codes are ``E_SCHEMA_<KIND>``: REQUIRED, EXTRA, TYPE, ENUM, TOO_LONG, TOO_MANY,
TOO_FEW, MINIMUM, MAXIMUM, FORMAT, PATTERN, UNIQUE, ANY_OF, INVALID (anything else).
``aviv_path`` is dotted with list indices in brackets: ``media[0].url``.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from etl.issues import Issue, error
from etl.model import formats
from etl.model.classified import UNUSABLE_KEYS, AvivClassified

__all__ = ["LABELS", "aviv_path", "check_body", "pointer_to_path", "prepare"]


@cache
def _validate() -> Callable[[Any], Any]:
    # Built on first use (≈0.2 s), then one compiled validator for the process.
    return TypeAdapter(AvivClassified).validator.validate_python


def prepare() -> None:
    """Build the validator now (a conductor, before forking its workers: built once, shared)."""
    _validate()


def check_body(body: Mapping[str, Any]) -> list[Issue]:
    """Every schema violation of ``body`` (an AvivClassified dict); ``[]`` when valid."""
    try:
        _validate()(body)
    except ValidationError as exc:
        return [_issue(detail) for detail in exc.errors(include_url=False)]
    return []


# ---------------------------------------------------------------------------------------
# Paths


def aviv_path(loc: Iterable[int | str]) -> str:
    """``("media", 0, "url")`` → ``"media[0].url"``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "[key]":  # pydantic's marker for a dict key
            out += f".{part}" if out else part
    return out


def pointer_to_path(pointer: str) -> str:
    """A JSON pointer as the API reports it (``/media/0/url``) → ``media[0].url``."""
    parts: list[int | str] = []
    for raw in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        parts.append(int(token) if token.isdigit() else token)
    return aviv_path(parts)


def _pattern_path(loc: Iterable[int | str]) -> str:
    """Indices become ``[]``: the key of LABELS and UNUSABLE_KEYS."""
    return aviv_path("[]" if isinstance(p, int) else p for p in loc).replace(".[]", "[]")


# ---------------------------------------------------------------------------------------
# French wording

# What an agency calls the fields it is most likely to get wrong (others: "Le champ <path>").
LABELS: dict[str, str] = {
    "portals": "La liste des portails",
    "portals[]": "Le portail",
    "data": "Le bien",
    "data.estateType": "Le type de bien",
    "data.estateSubType": "Le sous-type de bien",
    "data.distributionType": "Le type de transaction",
    "data.location": "L'adresse",
    "data.location.postalcode": "Le code postal",
    "data.location.city": "La ville",
    "data.location.street": "La rue",
    "data.location.houseNumber": "Le numéro dans la rue",
    "data.location.country": "Le pays",
    "data.location.floorNumber": "L'étage",
    "data.location.geometry": "La position GPS",
    "data.location.countrySpecific.fr.inseeCode": "Le code INSEE",
    "data.prices": "Les prix",
    "data.prices.currency": "La devise",
    "data.prices.buy.price.amount": "Le prix de vente",
    "data.prices.rent.baseRent.amount": "Le loyer hors charges",
    "data.prices.rent.totalRent.amount": "Le loyer charges comprises",
    "data.prices.rent.operatingCosts.amount": "Le montant des charges",
    "data.prices.rent.countrySpecific.fr.leaseRight.amount": "Le droit au bail",
    "data.prices.brokerageFee": "Les honoraires",
    "data.prices.priceNote": "La mention sur le prix",
    "data.spaces": "Les surfaces",
    "data.spaces.spaceMeasureUnit": "L'unité de surface",
    "data.spaces.residential.livingSpace": "La surface habitable",
    "data.spaces.plotSpace": "La surface du terrain",
    "data.spaces.overallSpace": "La surface totale",
    "data.conditions.yearOfConstruction": "L'année de construction",
    "data.structure.rooms.numberOfRooms": "Le nombre de pièces",
    "data.structure.rooms.numberOfBedRooms": "Le nombre de chambres",
    "data.structure.rooms.numberOfBathRooms": "Le nombre de salles de bains",
    "data.structure.rooms.numberOfToilets": "Le nombre de WC",
    "data.structure.building.numberOfFloors": "Le nombre d'étages de l'immeuble",
    "data.energy.countrySpecific.fr.energyCertificate.efficiencyClass": "La classe énergie (DPE)",
    "data.energy.countrySpecific.fr.energyCertificate.GHGEmissionClass": "La classe climat (GES)",
    "data.energy.countrySpecific.fr.energyCertificate.overallEnergyNeed": "La consommation énergétique (DPE)",
    "data.energy.countrySpecific.fr.energyCertificate.GHGEmission": "Les émissions de gaz à effet de serre",
    "data.energy.countrySpecific.fr.energyCertificate.releaseDate": "La date du DPE",
    "data.energy.countrySpecific.fr.energyCertificate.finalConsumption": "La consommation d'énergie finale",
    "data.texts.headline": "Le titre de l'annonce",
    "data.texts.description": "Le descriptif",
    "data.management.availableFrom": "La date de disponibilité",
    "data.management.availableUntil": "La date de fin de disponibilité",
    "data.metaData": "Les métadonnées",
    "data.metaData.source.sourceSystem": "Le logiciel émetteur",
    "data.metaData.source.sourceSystemVersion": "La version du logiciel émetteur",
    "data.metaData.source.offererMarketingKey": "La référence de l'annonce",
    "data.metaData.source.offererEstateId": "L'identifiant unique du bien",
    "data.countrySpecific.fr.agentMandate.mandateNumber": "Le numéro de mandat",
    "data.countrySpecific.fr.agentMandate.mandateType": "Le type de mandat",
    "data.countrySpecific.fr.agentMandate.startDate": "La date de début du mandat",
    "data.countrySpecific.fr.agentMandate.endDate": "La date de fin du mandat",
    "data.contact.userHomepage": "Le site web de l'agence",
    "data.links.externalLinks[].url": "L'URL du lien",
    "data.links.virtualTours[].url": "L'URL de la visite virtuelle",
    "media": "La liste des médias",
    "media[]": "Le média",
    "media[].url": "L'URL du média",
    "media[].mediaType": "Le type de média",
    "media[].category": "La catégorie du média",
    "media[].tags[]": "L'étiquette du média",
    "media[].title": "Le titre du média",
}

# Hints for mistakes seen in real feeds and v3 integrations.
_EXTRA_HINTS = {
    "classifiedId": "l'identifiant AVIV va dans l'URL du PUT, pas dans le corps",
    "media[].displayOrder": "l'ordre d'affichage est l'ordre de la liste media",
    "data.estateSubTypes": "la clé s'écrit estateSubType (au singulier)",
}
_TYPE_HINTS = {
    "data.estateSubType": 'un objet {famille: sous-type}, par exemple {"apartment": "STUDIO"}',
}
_EXPECTED = {
    "int_type": "un nombre entier",
    "float_type": "un nombre",
    "string_type": "une chaîne de caractères",
    "bool_type": "un booléen (true/false)",
    "list_type": "une liste",
    "dict_type": "un objet",
    "typed_dict_type": "un objet",
}
_FORMATS = {
    formats.URL_PATTERN: "une URL absolue http(s):// sans espace ni identifiants",
    formats.DATE_PATTERN: "une date AAAA-MM-JJ",
    formats.DATE_TIME_PATTERN: "une date-heure avec fuseau, par exemple 2025-09-01T00:00:00+02:00",
}


def _label(path: str, ppath: str) -> str:
    if not path:
        return "Le corps de l'annonce"
    return LABELS.get(ppath) or f"Le champ {path}"


def _show(value: Any, limit: int = 80) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = orjson.dumps(value).decode()
        except TypeError:
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _issue(detail: ErrorDetails) -> Issue:
    loc = detail["loc"]
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    value = detail.get("input")
    path, ppath = aviv_path(loc), _pattern_path(loc)
    subject = f"{_label(path, ppath)} ({path})" if path else _label(path, ppath)
    shown = _show(value)

    if kind == "missing":
        return error("E_SCHEMA_REQUIRED", f"{subject} est obligatoire et manque.", aviv_path=path)
    if kind == "extra_forbidden" or (kind == "literal_error" and loc and loc[-1] == "[key]"):
        return _extra(loc, path, ppath, shown if kind == "extra_forbidden" else None)
    if kind in _EXPECTED:
        expected = _TYPE_HINTS.get(ppath) or _EXPECTED[kind]
        if kind in ("int_type", "float_type") and isinstance(value, str):
            expected += " écrit sans espace, unité ni guillemets, par exemple 289000"
        return error(
            "E_SCHEMA_TYPE",
            f"{subject} doit être {expected} ; reçu : « {shown} » ({_json_type(value)}).",
            aviv_path=path,
            value=shown,
        )
    if kind in ("literal_error", "enum"):
        return error(
            "E_SCHEMA_ENUM",
            f"{subject} : valeur « {shown} » non autorisée. Valeurs possibles : {_expected_values(ctx)}.",
            aviv_path=path,
            value=shown,
        )
    if kind == "string_too_long":
        limit = ctx.get("max_length")
        return error(
            "E_SCHEMA_TOO_LONG",
            f"{subject} dépasse {limit} caractères ({len(value)} reçus) : « {shown} ».",
            aviv_path=path,
            value=shown,
        )
    if kind in ("too_long", "too_short"):
        many = kind == "too_long"
        bound = ctx.get("max_length" if many else "min_length")
        return error(
            "E_SCHEMA_TOO_MANY" if many else "E_SCHEMA_TOO_FEW",
            f"{subject} doit compter {'au plus' if many else 'au moins'} {bound} "
            f"élément(s) ({ctx.get('actual_length', '?')} reçus).",
            aviv_path=path,
            value=shown,
        )
    if kind in ("greater_than_equal", "less_than_equal"):
        low = kind == "greater_than_equal"
        bound = ctx.get("ge" if low else "le")
        return error(
            "E_SCHEMA_MINIMUM" if low else "E_SCHEMA_MAXIMUM",
            f"{subject} doit être {'supérieur ou égal' if low else 'inférieur ou égal'} "
            f"à {bound} ; reçu : {shown}.",
            aviv_path=path,
            value=shown,
        )
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern")
        if pattern in _FORMATS:
            return error(
                "E_SCHEMA_FORMAT",
                f"{subject} doit être {_FORMATS[pattern]} ; reçu : « {shown} ».",
                aviv_path=path,
                value=shown,
            )
        return error(
            "E_SCHEMA_PATTERN",
            f"{subject} ne doit être ni vide, ni fait que d'espaces, ni sur plusieurs "
            f"lignes ; reçu : {shown!r}.",
            aviv_path=path,
            value=shown,
        )
    if kind in ("format_email", "format_uuid"):
        what = "une adresse e-mail (nom@domaine.fr)" if kind == "format_email" else "un UUID"
        return error(
            "E_SCHEMA_FORMAT",
            f"{subject} doit être {what} ; reçu : « {shown} ».",
            aviv_path=path,
            value=shown,
        )
    if kind == "unique_items":
        dupes = sorted({v for v in value if value.count(v) > 1}, key=str)
        return error(
            "E_SCHEMA_UNIQUE",
            f"{subject} contient des doublons : {', '.join(map(str, dupes))}.",
            aviv_path=path,
            value=shown,
        )
    if kind == "any_of":
        return error(
            "E_SCHEMA_ANY_OF",
            f"{subject} n'a la forme d'aucune géométrie GeoJSON admise "
            f"(Point, LineString, Polygon, MultiPoint, MultiLineString, MultiPolygon ; "
            f"coordonnées [longitude, latitude]) ; reçu : {shown}.",
            aviv_path=path,
            value=shown,
        )
    return error(
        "E_SCHEMA_INVALID",
        f"{subject} est invalide ({detail['msg']}) ; reçu : {shown}.",
        aviv_path=path,
        value=shown,
    )


def _extra(loc: tuple[int | str, ...], path: str, ppath: str, shown: str | None) -> Issue:
    parts = [p for p in loc if p != "[key]"]
    key = str(parts[-1])
    parent_loc = parts[:-1]
    parent, pparent = aviv_path(parent_loc), _pattern_path(parent_loc)
    if _is_language_map(pparent):
        message = (
            f"Code de langue « {key} » inconnu ({path}) : utilisez un code ISO 639-1 "
            f"en minuscules, par exemple « fr »."
        )
        return error("E_SCHEMA_EXTRA", message, aviv_path=path, value=key)
    if key in UNUSABLE_KEYS.get(pparent, ()):
        message = (
            f"Le champ {path} est décrit par la spécification AVIV v4 mais refusé par son "
            f"schéma (allOf avec additionalProperties: false) : retirez-le."
        )
        if pparent.startswith("data.prices.brokerageFee"):
            message += " Indiquez les honoraires en texte dans data.prices.priceNote."
        return error("E_SCHEMA_EXTRA", message, aviv_path=path, value=shown)
    where = "" if parent else " (à la racine du corps)"
    message = f"Champ inconnu du format AVIV v4 : {path}{where}. Supprimez-le"
    hint = _EXTRA_HINTS.get(ppath)
    if hint:
        message += f" ({hint})"
    suggestion = _closest(key, _keys_at(pparent))
    message += f" ou renommez-le « {suggestion} »." if suggestion else "."
    return error("E_SCHEMA_EXTRA", message, aviv_path=path, value=shown)


def _closest(key: str, allowed: tuple[str, ...]) -> str | None:
    by_lower = {k.lower(): k for k in allowed}
    match = difflib.get_close_matches(key.lower(), list(by_lower), n=1, cutoff=0.8)
    return by_lower[match[0]] if match else None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "booléen"
    if isinstance(value, int):
        return "entier"
    if isinstance(value, float):
        return "nombre décimal"
    if isinstance(value, str):
        return "chaîne"
    if isinstance(value, list):
        return "liste"
    if isinstance(value, dict):
        return "objet"
    return "null" if value is None else type(value).__name__


def _expected_values(ctx: Mapping[str, Any], limit: int = 12) -> str:
    values = [v.strip().strip("'") for v in str(ctx.get("expected", "")).replace(" or ", ", ").split(", ")]
    if len(values) > limit:
        return ", ".join(values[:limit]) + f"… ({len(values)} valeurs, voir la spécification)"
    return ", ".join(values)


# ---------------------------------------------------------------------------------------
# Walking the generated types (error path only)


def _element(tp: Any) -> Any:
    """A field's type without list wrappers (hints come without Annotated/Required)."""
    while typing.get_origin(tp) is list:
        tp = typing.get_args(tp)[0]
    return tp


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


@cache
def _type_at(ppath: str) -> Any:
    """The generated type found at a pattern path, or None if the spec has no such path."""
    tp: Any = AvivClassified
    for segment in ppath.replace("[]", "").split(".") if ppath else ():
        hints = typing.get_type_hints(tp) if _is_typeddict(tp) else {}
        if segment not in hints:
            return None
        tp = _element(hints[segment])
    return tp


def _keys_at(ppath: str) -> tuple[str, ...]:
    tp = _type_at(ppath)
    return tuple(typing.get_type_hints(tp)) if _is_typeddict(tp) else ()


def _is_language_map(ppath: str) -> bool:
    """MultiLingualText is ``dict[LanguageCode, str]``, the only dict type in the spec."""
    return typing.get_origin(_type_at(ppath)) is dict
