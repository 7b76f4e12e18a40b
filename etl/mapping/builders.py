"""Builders: rules that read several source fields, or write a small subtree.

Each builder is a pure function ``(raws, scope) -> value | None`` registered by
name and referenced from mapping configs (``build: media``). ``raws`` are the
source strings in the order of the rule's ``from`` list. Builders report
problems through ``scope.warn`` / ``scope.fail`` or by raising
``ConversionError``.
"""

from __future__ import annotations

import html
import re
import zlib
from functools import lru_cache
from itertools import compress
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from etl.mapping.converters import (
    BLANK_MARKERS,
    ConversionError,
    amount,
    boolean,
    fold,
    integer,
    is_blank,
    SPREADSHEET_CONVERTERS,
    iso_date,
    number,
    year_date,
)
from etl.mapping import geo_fr
from etl.mapping.engine import RecordScope, builder, get_path
from etl.validate.settings import PORTALS

# --- location ----------------------------------------------------------------------------------

_HOUSE_NUMBER = re.compile(r"^\s*(\d{1,5}(?:\s?(?:bis|ter|quater|[a-d]))?)\b[\s,]*(.+)$", re.IGNORECASE)


@builder("address", runs_on_empty=True)
def address(raws: Sequence[str], scope: RecordScope) -> dict[str, str]:
    """"42 rue de la Roquette" → street + houseNumber; AVIV requires both keys (empty allowed)."""
    raw = " ".join(raws[0].split())
    if m := _HOUSE_NUMBER.match(raw):
        return {"houseNumber": m[1], "street": m[2][:512]}
    return {"houseNumber": "", "street": raw[:512]}


@builder("geo_point")
def geo_point(raws: Sequence[str], scope: RecordScope) -> dict[str, Any] | None:
    """Latitude + longitude → GeoJSON Point, longitude first (RFC 7946).

    A point is published only when it is plausible: no zero coordinate (software write
    ``0.000000`` for "unknown"), inside the country's bounds, and within ``SLACK_KM`` of the
    postcode's département, so a wrong pin never outranks the address SeLoger geocodes."""
    lat_raw, lon_raw = raws[0], raws[1]
    if is_blank(lat_raw) and is_blank(lon_raw):
        return None

    try:
        try:
            lat, lon = float(lat_raw), float(lon_raw)  # the common case: "48.85563"
        except ValueError:
            lat, lon = float(number(lat_raw)), float(number(lon_raw))  # "48,85563"
    except ConversionError:
        _gps_ignored(scope, lat_raw, lon_raw, "illisibles")
        return None
    if lat == 0 or lon == 0:
        scope.warn("W_PLACEHOLDER_IGNORED",
                   f"Coordonnées GPS ({lat_raw} ; {lon_raw}) : une coordonnée à 0 est une valeur par défaut du "
                   "logiciel, pas la position du bien (valeur par défaut ignorée) ; renseignez les deux "
                   "coordonnées ou aucune.", source="latitude", value=f"{lat_raw};{lon_raw}")
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # NaN fails here too
        _gps_ignored(scope, lat_raw, lon_raw, "hors limites")
        return None
    # Metropolitan France spans lat 41-52, lon -5.5-10: a swapped pair is a common export bug.
    if 41 <= lon <= 52 and -5.5 <= lat <= 10 and not (41 <= lat <= 52):
        scope.warn("W_GPS_SWAPPED", f"Latitude et longitude semblent inversées : elles ont été remises dans "
                   f"l'ordre pour cet envoi ; {_gps_fix(scope)}.", source="latitude", value=f"{lat_raw};{lon_raw}")
        lat, lon = lon, lat
    location = get_path(scope.body, ("data", "location")) or {}
    country, postcode = location.get("country") or "", location.get("postalcode") or ""
    code = geo_fr.department(postcode) if country in ("FRA", "MCO", "") else None
    if code is not None:
        if not geo_fr.near_department(lat, lon, code):
            off = geo_fr.km_from_department(lat, lon, code)
            _gps_ignored(scope, lat_raw, lon_raw,
                         f"à environ {off:.0f} km du département {code} du code postal {postcode} "
                         "(ou le code postal est faux)")
            return None
    elif geo_fr.in_country(lat, lon, country) is False:
        _gps_ignored(scope, lat_raw, lon_raw, f"hors du pays de l'annonce ({country})")
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def _gps_fix(scope: RecordScope) -> str:
    return f"corrigez {scope.label('latitude')} et {scope.label('longitude')} dans votre logiciel"


def _gps_ignored(scope: RecordScope, lat_raw: str, lon_raw: str, why: str) -> None:
    scope.warn("W_GPS_INVALID", f"Coordonnées GPS ({lat_raw} ; {lon_raw}) {why} : elles sont ignorées ; "
               f"{_gps_fix(scope)}.", source="latitude", value=f"{lat_raw};{lon_raw}")


# --- energy ------------------------------------------------------------------------------------

_HEAT_EMITTER = {128: {"radiator": True}, 256: {"underfloor": True}, 384: {"radiator": True, "underfloor": True}}
_HEAT_ENERGY = {512: "gas", 1024: "oil", 2048: "electric"}
_HEAT_METHOD = {4096: "CENTRAL", 8192: "INDIVIDUAL"}


# Every value the Poliris table lists (codes.md §6.3): 47 heating sums and 3 air-conditioning ones.
_HEATING_CODES = frozenset(
    energy + emitter + method for energy in (0, 512, 1024, 2048) for emitter in (0, 128, 256, 384)
    for method in (0, 4096, 8192)) - {0} | {16384, 20480, 24576}


@builder("heating")
def heating(raws: Sequence[str], scope: RecordScope) -> dict[str, Any] | None:
    """Poliris field 33: a sum of flags (emitter 128/256, energy 512/1024/2048, distribution
    4096/8192, reversible air-conditioning 16384) → ``energy.energyType``."""
    raw = raws[0]
    if is_blank(raw):
        return None
    try:
        code = integer(raw)
    except ConversionError:
        code = -1
    if code not in _HEATING_CODES:
        # Not a typo of the agency: the sending software writes its own code in field 33.
        scope.warn("W_HEATING_CODE_NONSTANDARD",
                   f"{scope.label('heating_type')} : le logiciel d'envoi émet le code de chauffage non standard "
                   f"« {raw.strip()} », absent de la table Poliris (sommes de 128, 256, 512, 1024, 2048, 4096, "
                   "8192, 16384) : le chauffage n'est pas publié ; signalez-le à l'éditeur du logiciel.",
                   source="heating_type", value=raw)
        return None
    out: dict[str, Any] = {}
    if emitter := _HEAT_EMITTER.get(code & 384):
        out["heatForm"] = dict(emitter)
    if energy := code & (512 | 1024 | 2048):
        out["energySource"] = {_HEAT_ENERGY[energy]: True}
    if method := code & (4096 | 8192):
        out["heatMethod"] = _HEAT_METHOD[method]
    if code & 16384:
        out.setdefault("heatForm", {})["air"] = True
        out.setdefault("energyGeneration", {})["heatpump"] = True
    return out or None


_DPE_VERSIONS = {"dpe_v07-2021": "DPE_V07_2021", "dpe_v01-2011": "DPE_V01_2011",
                 "dpe_v07_2021": "DPE_V07_2021", "dpe_v01_2011": "DPE_V01_2011"}
_LETTERS = frozenset("ABCDEFG")
_DPE_REFORM = "2021-07-01"  # DPEs made from this day follow the 2021 method


def _placeholder_dropped(scope: RecordScope, source: str, raw: str, what: str) -> None:
    scope.warn("W_PLACEHOLDER_IGNORED",
               f"{scope.label(source)} : « {raw.strip()} » {what} est une valeur par défaut du logiciel, pas une "
               "donnée du bien (valeur par défaut ignorée) ; laissez le champ vide ou renseignez le DPE complet.",
               source=source, value=raw)


# What makes a certificate more than a software default (a lone GES letter or version is not).
_SUBSTANCE = frozenset({"efficiencyClass", "overallEnergyNeed", "GHGEmission", "releaseDate", "energyConsumptionCostMin",
                        "energyConsumptionCostMax", "finalConsumption"})


@builder("energy_certificate")
def energy_certificate(raws: Sequence[str], scope: RecordScope) -> dict[str, Any] | None:
    """DPE/GES (Poliris 176-179, 324-328, 334) → ``energy.countrySpecific.fr.energyCertificate``.

    Declared placeholders (a DPE dated 01/01/2000…) arrive empty. What only the whole certificate
    tells is dropped here: a GES letter or a DPE version with no energy class, no figure and no
    date behind it is a software default, not a DPE."""
    (energy_raw, energy_class, ghg_raw, ghg_class, dpe_date, version, cost_min, cost_max, cost_year,
     final_raw) = raws
    energy_class, ghg_class = energy_class.strip().upper(), ghg_class.strip().upper()
    cert: dict[str, Any] = {}
    if energy_class in ("VI",) or ghg_class in ("VI",):
        cert["certificateType"] = "EMPTY"
    elif energy_class == "NS" or ghg_class == "NS":
        cert["certificateType"] = "NOT_APPLICABLE"
    elif not is_blank(version):
        cert_type = _DPE_VERSIONS.get(fold(version))
        if cert_type is None:
            scope.warn("W_DPE_VERSION_UNKNOWN", f"Version de DPE « {version} » inconnue (attendu DPE_v07-2021 ou DPE_v01-2011) : elle est ignorée.",
                       value=version)
        else:
            cert["certificateType"] = cert_type
    if cert.get("certificateType") in ("EMPTY", "NOT_APPLICABLE"):
        return cert
    for letter, key in ((energy_class, "efficiencyClass"), (ghg_class, "GHGEmissionClass")):
        if letter and letter != "0":
            if letter in _LETTERS:
                cert[key] = letter
            else:
                scope.warn("W_DPE_CLASS_INVALID", f"Classe énergie/GES « {letter} » invalide (A à G, VI ou NS) : elle est ignorée.",
                           value=letter)
    for raw, key, conv in ((energy_raw, "overallEnergyNeed", amount), (ghg_raw, "GHGEmission", amount),
                           (cost_min, "energyConsumptionCostMin", amount), (cost_max, "energyConsumptionCostMax", amount)):
        if not is_blank(raw):
            try:
                cert[key] = conv(raw)
            except ConversionError as exc:
                scope.warn("W_VALUE_IGNORED", f"DPE : {exc} ; la valeur est ignorée.", value=raw)
    for raw, key, conv in ((dpe_date, "releaseDate", iso_date), (cost_year, "dateOfConsumptionCostEstimation", year_date)):
        if not is_blank(raw):
            try:
                cert[key] = conv(raw)
            except ConversionError as exc:
                scope.warn("W_VALUE_IGNORED", f"DPE : {exc} ; la valeur est ignorée.", value=raw)
    if not is_blank(final_raw):
        _final_consumption(final_raw, cert, scope)
    if _SUBSTANCE.isdisjoint(cert):
        # Nothing behind a lone GES letter or version: the software's defaults, not a DPE.
        if "GHGEmissionClass" in cert:
            _placeholder_dropped(scope, "ghg_class", ghg_class, "sans classe énergie, valeur ni date de DPE")
        if "certificateType" in cert:
            _placeholder_dropped(scope, "dpe_version", version, "sans classe, valeur ni date de DPE")
        return None
    if "dateOfConsumptionCostEstimation" in cert and "energyConsumptionCostMin" not in cert \
            and "energyConsumptionCostMax" not in cert:
        del cert["dateOfConsumptionCostEstimation"]  # the reference year of costs that are not given
    release = cert.get("releaseDate")
    if release and cert.get("certificateType") in ("DPE_V01_2011", "DPE_V07_2021"):
        made_2021 = release >= _DPE_REFORM
        if made_2021 != (cert["certificateType"] == "DPE_V07_2021"):
            said = "DPE_v01-2011" if made_2021 else "DPE_v07-2021"
            rule = "après le 1er juillet 2021 suit" if made_2021 else "avant le 1er juillet 2021 suit"
            method = "la méthode 2021 (DPE_v07-2021)" if made_2021 else "la méthode 2011 (DPE_v01-2011)"
            scope.warn("W_DPE_VERSION_DATE_MISMATCH",
                       f"{scope.label('dpe_version')} : « {said} » ne correspond pas à la date du DPE "
                       f"({dpe_date.strip()}) : un DPE réalisé {rule} {method} ; corrigez la version ou la date.",
                       source="dpe_version", value=f"{version.strip()} ; {dpe_date.strip()}")
    if "certificateType" not in cert and cert.get("efficiencyClass"):
        # The July 2021 reform: a DPE made from that date is a "v07-2021" one.
        cert["certificateType"] = "DPE_V01_2011" if release and release < _DPE_REFORM else "DPE_V07_2021"
    lo, hi = cert.get("energyConsumptionCostMin"), cert.get("energyConsumptionCostMax")
    if lo is not None and hi is not None and lo > hi:
        scope.warn("W_DPE_COSTS_SWAPPED", f"DPE : coût minimum ({lo}) supérieur au coût maximum ({hi}) : valeurs inversées.")
        cert["energyConsumptionCostMin"], cert["energyConsumptionCostMax"] = hi, lo
    return cert


def _final_consumption(raw: str, cert: dict[str, Any], scope: RecordScope) -> None:
    """Field 334 (4.12 exports, undocumented): final energy use, kWh/m²/year, an integer for AVIV.
    Final energy never exceeds primary energy (field 176): a larger figure is not this fact."""
    try:
        final = amount(raw)
    except ConversionError as exc:
        scope.warn("W_VALUE_IGNORED", f"DPE, consommation d'énergie finale : {exc} ; la valeur est ignorée.",
                   source="field_334", value=raw)
        return
    primary = cert.get("overallEnergyNeed")
    if primary is not None and final > primary:
        scope.warn("W_VALUE_IGNORED",
                   f"DPE : consommation d'énergie finale ({raw.strip()}, champ 334) supérieure à la consommation "
                   f"d'énergie primaire ({primary}, champ 176), ce qui est impossible : elle est ignorée.",
                   source="field_334", value=raw)
        return
    cert["finalConsumption"] = int(round(final))


# --- structure ---------------------------------------------------------------------------------

_ORIENTATIONS = {
    frozenset({"S"}): "SOUTH", frozenset({"E"}): "EAST", frozenset({"W"}): "WEST", frozenset({"N"}): "NORTH",
    frozenset({"S", "E"}): "SOUTH_EAST", frozenset({"S", "W"}): "SOUTH_WEST",
    frozenset({"N", "E"}): "NORTH_EAST", frozenset({"N", "W"}): "NORTH_WEST",
    frozenset({"E", "W"}): "EAST_WEST", frozenset({"N", "S"}): "SOUTH_NORTH",
}


@builder("orientation")
def orientation(raws: Sequence[str], scope: RecordScope) -> str | None:
    """Four OUI/NON fields (south, east, west, north) → one AVIV orientation, when expressible."""
    sides = set()
    for raw, side in zip(raws, "SEWN", strict=True):
        if raw and not is_blank(raw):
            try:
                if boolean(raw):
                    sides.add(side)
            except ConversionError:
                pass
    if not sides:
        return None
    return _ORIENTATIONS.get(frozenset(sides))  # three or four sides: no AVIV value, leave it out


@builder("bathrooms")
def bathrooms(raws: Sequence[str], scope: RecordScope) -> int | None:
    """Salles de bain + salles d'eau: AVIV has one bathroom count."""
    total, seen = 0, False
    for raw in raws:
        if not is_blank(raw):
            total += integer(raw)
            seen = True
    return total if seen else None


# --- prices ------------------------------------------------------------------------------------


def _money(value: float | int) -> str:
    if type(value) is int:  # what the number converters give for a whole amount (< 2**53: exact)
        return f"{value:,}".replace(",", "\u202f") + " €"
    text = f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")
    return (text[:-3] if text.endswith(",00") else text) + " €"


def _yes_no(raw: str) -> bool | None:
    """OUI/NON, or None when empty or unreadable (a flag that says nothing)."""
    if is_blank(raw):
        return None
    try:
        return boolean(raw)
    except ConversionError:
        return None


def _round2(value: float | int) -> float | int:
    return round(value, 2) if isinstance(value, float) else value


@builder("rent")
def rent(raws: Sequence[str], scope: RecordScope) -> dict[str, Any] | None:
    """Poliris field 11 for rentals is the rent charges included (4.09) unless field 13 (« Loyer CC »)
    says NON; 23 is the monthly charges. AVIV wants ``baseRent`` excluding charges and ``totalRent``
    including them. A rent given only per year (202, charges included when 207 says OUI, 203 the
    yearly charges) is sent as a yearly ``baseRent`` with ``priceTimeUnit: YEAR``: AVIV's
    ``baseRentPerYear`` is a discounted figure *beside* a yearly ``baseRent``, which Poliris has not.
    Field 14 / 208 (« HT ») OUI → the amounts exclude VAT."""
    (price_raw, charges_raw, cc_raw, ht_raw, year_raw, year_charges_raw, year_cc_raw, year_ht_raw) = raws
    if not is_blank(price_raw):
        total, unit, charges_in, excl_vat = amount(price_raw), "MONTH", _yes_no(cc_raw), _yes_no(ht_raw)
        charges_raw_used, charges_field = charges_raw, "charges"
    elif not is_blank(year_raw):
        total, unit, charges_in, excl_vat = amount(year_raw), "YEAR", _yes_no(year_cc_raw), _yes_no(year_ht_raw)
        charges_raw_used, charges_field = year_charges_raw, "annual_charges_total"
        if charges_in is not True:
            charges_raw_used = ""  # 202 without charges: nothing to subtract
    else:
        return None
    out: dict[str, Any] = {"priceTimeUnit": unit}
    charges = None
    if not is_blank(charges_raw_used):
        try:
            charges = amount(charges_raw_used)
        except ConversionError as exc:
            scope.warn("W_VALUE_IGNORED", f"{scope.label(charges_field)} : {exc} ; la valeur est ignorée.",
                       source=charges_field, value=charges_raw_used)
    vat = {"isVatIncluded": False} if excl_vat else {}
    if charges is not None and charges_in is False and unit == "MONTH":
        # « Loyer CC » NON: field 11 is the rent without charges; the charges come on top.
        out["baseRent"] = {"amount": total, **vat}
        out["totalRent"] = {"amount": _round2(total + charges), **vat}
        out["operatingCosts"] = {"amount": charges}
    elif charges is not None and charges < total:
        out["baseRent"] = {"amount": _round2(total - charges), **vat}
        out["totalRent"] = {"amount": total, **vat}
        out["operatingCosts"] = {"amount": charges}
    else:
        out["baseRent"] = {"amount": total, **vat}
    return out


def _amount_or_none(raw: str) -> float | int | None:
    """A fee figure for the wording: absent or unreadable ones are left out (their own rules warn)."""
    if is_blank(raw):
        return None
    try:
        return amount(raw)
    except ConversionError:
        return None


@builder("price_note")
def price_note(raws: Sequence[str], scope: RecordScope) -> str | None:
    """The Alur-law wording of fees, in French. AVIV's ``brokerageFee`` object cannot carry any key
    under the spec's strict reading (digest §6 trap 1), so the legally required facts go in
    ``prices.priceNote`` as the official example does.

    Field 15 is a percentage for sales and an amount for rentals; the transactions listed in
    ``settings.fees_like_a_sale`` (a cession de bail: the buyer of the lease pays a percentage of
    its price) follow the sale convention although AVIV calls them rentals, when the listing fills
    the sale fields (302 or 303); otherwise they are read as a rental's."""
    (price_raw, fees_raw, payer_raw, net_raw, inventory_raw, charges_mode_raw, schedule_raw, kind_raw) = raws
    sale = get_path(scope.body, ("data", "distributionType")) != "RENT"
    parts: list[str] = []
    price, fees, net = _amount_or_none(price_raw), _amount_or_none(fees_raw), _amount_or_none(net_raw)
    payer = fold(payer_raw)
    # Only when the sale fields are used: some software writes a cession's fees as a rental's.
    like_sale = not sale and fold(kind_raw) in scope.spec_settings.get("fees_like_a_sale", ()) \
        and (payer in ("1", "2", "3") or net is not None)
    if (sale or like_sale) and price is not None:
        what = "Prix de cession" if like_sale else "Prix"
        if payer in ("1", "3") and fees is not None:
            share = "de l'acquéreur" if payer == "1" else "de l'acquéreur et du vendeur"
            pct = f"{fees:g}".replace(".", ",")
            text = f"{what} honoraires inclus : {_money(price)}, dont {pct} % TTC d'honoraires à la charge {share}"
            parts.append(text + (f" ({_money(net)} hors honoraires)." if net is not None else "."))
        elif payer in ("1", "3") and net is not None:
            share = "de l'acquéreur" if payer == "1" else "de l'acquéreur et du vendeur"
            parts.append(f"{what} honoraires inclus : {_money(price)}, honoraires à la charge {share} "
                         f"({_money(net)} hors honoraires).")
        elif payer == "2":
            parts.append(f"{what} : {_money(price)}, honoraires à la charge du vendeur.")
        if payer in ("1", "3") and fees is None and net is None:
            scope.warn("W_FEES_UNDISCLOSED",
                       f"Honoraires à la charge de l'acquéreur ({scope.label('fee_payer')} = {payer_raw.strip()}) sans "
                       f"pourcentage ({scope.label('agency_fees')}) ni prix hors honoraires "
                       f"({scope.label('price_excl_buyer_fees')}) : l'affichage des honoraires est une obligation "
                       "légale (loi Alur), renseignez-les.", source="fee_payer", value=payer_raw)
    elif not sale and fees is not None:
        text = f"Honoraires à la charge du locataire : {_money(fees)} TTC"
        inventory = _amount_or_none(inventory_raw)
        parts.append(text + (f", dont {_money(inventory)} pour l'état des lieux." if inventory is not None else "."))
        mode = {"1": "forfaitaires mensuelles", "2": "provisions mensuelles avec régularisation annuelle",
                "3": "remboursement annuel par le locataire"}.get(fold(charges_mode_raw))
        if mode:
            parts.append(f"Charges : {mode}.")
    url = schedule_raw.strip()
    if url and not is_blank(url):
        parts.append(f"Barème des honoraires : {url}")
    return " ".join(parts) or None


# --- portals -----------------------------------------------------------------------------------

_FIELD82_EXPRESSIBLE = frozenset({"SL", "BD"})


@lru_cache(maxsize=256)  # a feed uses a handful of spellings ("SL", "SL,BD", "")
def _publication_codes(publications: str) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in re.split(r"[,;|\s]+", publications) if c.strip())


# (publications, type, property type, sub-type) → (the mapping's settings, portals, outputs set,
# warnings): a feed spells these four fields a handful of ways, and the answer depends on nothing else.
_REQUESTED: dict[tuple[str, ...], tuple[Any, list[str], dict[str, Any], list[tuple[str, str]]]] = {}


@builder("requested_portals", runs_on_empty=True)
def requested_portals(raws: Sequence[str], scope: RecordScope) -> list[str]:
    """Field 82 (Publications) says which of SL/BD the agency wants; it has no code for BUCOM,
    SLN or SLC, so those come from the listing's type (settings.implied_portals).

    Returns the requested AVIV portals, or an empty list meaning "the agency's default".
    Sets ``@pack_commercialisateur`` when field 82 carries PC.
    """
    key = tuple(raws)
    settings = scope.spec_settings
    hit = _REQUESTED.get(key)
    if hit is None or hit[0] is not settings:
        if len(_REQUESTED) >= 4096:
            _REQUESTED.clear()
        hit = _REQUESTED[key] = (settings, *_requested_portals(*raws, settings))
    _, portals, outputs, warnings = hit
    scope.outputs.update(outputs)
    for code, message in warnings:
        scope.warn(code, message, source="publications", value=raws[0])
    return list(portals)


def _requested_portals(publications: str, kind: str, property_type: str, subtype: str,
                       settings: Mapping[str, Any]) -> tuple[list[str], dict[str, Any], list[tuple[str, str]]]:
    """``requested_portals``' answer: the portals, the outputs it sets and its warnings (code, message)."""
    outputs: dict[str, Any] = {}
    warnings: list[tuple[str, str]] = []
    codes = _publication_codes(publications)
    chosen = [c for c in codes if c in PORTALS]
    if "PC" in codes:
        outputs["pack_commercialisateur"] = True
    ignored = [c for c in codes if c not in PORTALS and c not in ("PC",)]
    if ignored:
        warnings.append(("W_PUBLICATION_IGNORED",
                         f"Codes de publication non gérés par l'API AVIV ignorés : {', '.join(ignored)}."))
    # Some listing kinds exist on one portal only (Poliris: "produit catalogue" and "modèle de
    # maison" are for SeLoger Construire): neither field 82 nor the agency's defaults add others.
    only_tables: dict[str, dict[str, list[str]]] = settings.get("portal_only", {})
    for raw, table in ((kind, "transaction_type"), (property_type, "property_type")):
        only = only_tables.get(table, {}).get(fold(raw))
        if only:
            dropped = [p for p in chosen if p not in only]
            if dropped:
                warnings.append(("W_PORTAL_NOT_FOR_THIS_LISTING",
                                 f"« {raw.strip()} » ne se publie que sur {', '.join(only)} : {', '.join(dropped)} ignoré(s)."))
            outputs["portals_explicit"] = True
            return list(only), outputs, warnings
    implied_tables: dict[str, dict[str, list[str]]] = settings.get("implied_portals", {})
    implied: list[str] = []
    for raw, table in ((kind, "transaction_type"), (property_type, "property_type"), (subtype, "property_subtype")):
        for p in implied_tables.get(table, {}).get(fold(raw), []):
            if p not in implied:
                implied.append(p)
    if chosen:
        # The agency named its SL/BD portals explicitly: only add what field 82 cannot express.
        implied = [p for p in implied if p not in _FIELD82_EXPRESSIBLE]
    out = list(dict.fromkeys(chosen + implied))
    outputs["portals_explicit"] = bool(chosen)
    return out, outputs, warnings


# --- media -------------------------------------------------------------------------------------

_SAFE_URL_CHARS = "/:?&=#%+@!$'()*,;~"


# Most photo URLs are already clean: checking that is far cheaper than splitting and re-quoting.
_CLEAN_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?")
_clean_url_match = _CLEAN_URL.fullmatch


def _clean_url(url: str) -> str | None:
    url = url.strip()
    if len(url) <= 2048 and _CLEAN_URL.fullmatch(url):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Kyero-style raw spaces and accents: percent-encode rather than reject.
    path = quote(parts.path, safe=_SAFE_URL_CHARS)
    query = quote(parts.query, safe=_SAFE_URL_CHARS)
    clean = urlunsplit((parts.scheme.lower(), parts.netloc, path, query, ""))
    return clean if len(clean) <= 2048 else None


def _with_version(url: str, version: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}v={version}"


_CAPTION_CATEGORIES: list[tuple[str, str]] = [
    ("salle de bain", "BATHROOM"), ("salle d'eau", "BATHROOM"), ("sdb", "BATHROOM"),
    ("cuisine", "KITCHEN"), ("sejour", "LIVING_ROOM"), ("salon", "LIVING_ROOM"), ("piece de vie", "LIVING_ROOM"),
    ("chambre", "BEDROOM"), ("suite", "BEDROOM"), ("piscine", "POOL"), ("jardin", "GARDEN"),
    ("terrasse", "TERRACE"), ("balcon", "BALCONY"), ("garage", "GARAGE"), ("cave", "BASEMENT"),
    ("entree", "ENTRY_HALL"), ("couloir", "CORRIDOR"), ("wc", "TOILETS"), ("toilettes", "TOILETS"),
    ("bureau", "WORK_ROOM"), ("plan", "FLOOR_PLAN"), ("escalier", "STAIRS"), ("veranda", "VERANDA"),
    ("vue", "VIEW_FROM_PROPERTY"), ("facade", "HOUSE_VIEW"), ("exterieur", "OUTDOOR"), ("dpe", "ENERGY_CERTIFICATE"),
]


@lru_cache(maxsize=4096)  # captions repeat ("Séjour", "Cuisine"…) across a feed
def caption_category(title: str) -> str | None:
    key = fold(title)
    for word, category in _CAPTION_CATEGORIES:
        if word in key:
            return category
    return None


@builder("media")
def media(raws: Sequence[str], scope: RecordScope) -> list[dict[str, Any]] | None:
    """Photos 1-30 (``from`` lists photo, caption pairs in display order) + panorama + virtual tour.

    Photos given as URLs keep their URL (the agency's URL is the image's identity, and SeLoger
    already asked agencies to version it). Photos shipped inside the ZIP are published under the
    agency's ``photo_base_url`` with a version derived from the file's CRC, so a changed picture
    gets a new URL and an unchanged one keeps it.
    """
    *pairs, panorama, tour = raws
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    feed = scope.feed
    # Most of the 30 ranks are empty: compress() skips them without a Python iteration each.
    for n in compress(range(0, len(pairs), 2), pairs[::2]):
        raw, title = pairs[n].strip(), pairs[n + 1].strip()
        if not raw or raw in BLANK_MARKERS:
            continue
        rank = n // 2 + 1
        # _clean_url's first test inline: most photo URLs pass it (one call less per photo)
        url = raw if len(raw) <= 2048 and _clean_url_match(raw) else _clean_url(raw)
        if url is None:
            name = raw.replace("\\", "/").rsplit("/", 1)[-1]
            if feed.photo_base_url and name:
                version = feed.photo_versions.get(name.casefold())
                if version is None and feed.photo_versions:
                    scope.warn("W_PHOTO_FILE_MISSING", f"Photo {rank} « {raw} » absente de l'archive : elle n'est pas publiée.",
                               source=f"photo_{rank}", value=raw, path="media")
                    continue
                base = _clean_url(feed.photo_base_url.rstrip("/") + "/" + quote(name))
                url = _with_version(base, version) if base and version else base
            if url is None:
                scope.warn("W_PHOTO_NOT_URL",
                           f"Photo {rank} « {raw} » n'est pas une adresse http(s) et aucune adresse de publication des photos "
                           "n'est configurée pour l'agence : elle n'est pas publiée.",
                           source=f"photo_{rank}", value=raw, path="media")
                continue
        if url in seen:
            scope.warn("W_PHOTO_DUPLICATE", f"Photo {rank} répète une photo précédente : elle n'est envoyée qu'une fois.",
                       source=f"photo_{rank}", value=raw, path="media")
            continue
        seen.add(url)
        item: dict[str, Any] = {"url": url, "mediaType": "PICTURE"}
        if title:  # stripped above
            item["title"] = title
            if category := caption_category(title):
                item["category"] = category
        out.append(item)
    for raw, media_type in ((tour, "VIRTUAL_TOUR"), (panorama, "PANORAMA")):
        if raw and not is_blank(raw):
            url = _clean_url(raw)
            if url is None:
                scope.warn("W_MEDIA_NOT_URL", f"« {raw} » n'est pas une adresse http(s) : {media_type.lower()} ignoré(e).",
                           value=raw, path="media")
            elif url not in seen:
                seen.add(url)
                if media_type == "VIRTUAL_TOUR" and is_video_url(url):
                    media_type = "VIDEO"  # agencies put their video links in the virtual-tour field
                out.append({"url": url, "mediaType": media_type})
    return out or None


_VIDEO_HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com", "vimeo.com", "dailymotion.com", "dai.ly")


def is_video_url(url: str) -> bool:
    """A link to a video platform (YouTube, Vimeo, Dailymotion), whatever the sub-domain."""
    host = urlsplit(url).hostname or ""
    return any(host == h or host.endswith("." + h) for h in _VIDEO_HOSTS)


# --- texts -------------------------------------------------------------------------------------

# Poliris allows no HTML but <BR> (4.09, field 21): any other tag or an entity shows as code on the
# portals. Tags are those of HTML (a letter after "<"), so "prix < 300 000 €" is left alone.
_HTML_TAG = re.compile(r"</?(?!br\s*/?>)[a-z][a-z0-9]*(?:\s[^<>]*)?/?>", re.IGNORECASE)
_HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});", re.IGNORECASE)


def clean_text(raw: str, scope: RecordScope, source: str) -> str | None:
    """A free text, stripped; HTML tags (but <BR>) and entities are removed / decoded, with a warning."""
    value = raw.strip()
    if not value:
        return None
    if ("&" in value or "<" in value) and (_HTML_TAG.search(value) or _HTML_ENTITY.search(value)):
        found = sorted({m[0] for m in _HTML_TAG.finditer(value)} | {m[0] for m in _HTML_ENTITY.finditer(value)})
        value = html.unescape(_HTML_TAG.sub("", value)).strip()
        shown = ", ".join(found[:4]) + ("…" if len(found) > 4 else "")
        scope.warn("W_TEXT_HTML",
                   f"{scope.label(source)} : code HTML dans le texte ({shown}) : il a été retiré ; Poliris n'accepte "
                   "que <BR>, écrivez les accents et symboles tels quels dans votre logiciel.",
                   source=source, value=shown)
    return value or None


@builder("text")
def text_field(raws: Sequence[str], scope: RecordScope) -> str | None:
    """One free text (headline, description…): what ``convert: text`` does, plus HTML cleaning."""
    return clean_text(raws[0], scope, scope.source_names[0])


_TRANSPORT_KINDS = (("rer", ("countrySpecific", "fr", "RER")), ("tram", ("tramway",)), ("bus", ("bus",)),
                    ("sncf", ("countrySpecific", "fr", "SNCF")), ("ter ", ("countrySpecific", "fr", "SNCF")),
                    ("gare", ("countrySpecific", "fr", "SNCF")), ("transilien", ("countrySpecific", "fr", "SNCF")),
                    ("noctilien", ("countrySpecific", "fr", "noctilien")))


@builder("transport")
def transport(raws: Sequence[str], scope: RecordScope) -> dict[str, Any] | None:
    """Fields 193 (line, « métro ligne 8 ») and 194 (station) → ``texts.transportation``: the kind
    of transport comes from the words of the line (RER, tram, bus, SNCF…), the metro otherwise
    (the Poliris example and most filled exports are Paris metro lines)."""
    line, station = (" ".join(r.split()) for r in raws)
    line = "" if is_blank(line) else line
    station = "" if is_blank(station) else station
    if not line and not station:
        return None
    words = fold(f"{line} {station}") + " "
    keys: tuple[str, ...] = ("metro",)
    for word, kind in _TRANSPORT_KINDS:
        if word in words:
            keys = kind
            break
    text = f"{line} – {station}" if line and station else line or station
    out: dict[str, Any] = {}
    node = out
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = {"fr": text}
    return out

_LANGUAGES = {"EN": "en", "ES": "es", "DE": "de", "IT": "it", "NL": "nl", "PT": "pt"}


@builder("translations")
def translations(raws: Sequence[str], scope: RecordScope) -> dict[str, Any] | None:
    """Poliris languages 1-3 (code, proximity, title, description) → multilingual texts."""
    out: dict[str, dict[str, str]] = {}
    for n in range(0, len(raws), 4):
        code, proximity, title, description = raws[n:n + 4]
        if not code.strip() and not (title.strip() or description.strip()):
            continue
        lang = _LANGUAGES.get(code.strip().upper())
        if lang is None:
            scope.warn("W_LANGUAGE_UNKNOWN", f"Code langue « {code} » non reconnu (EN, ES, DE, IT, NL, PT) : la traduction est ignorée.",
                       value=code, path="data.texts")
            continue
        names = scope.source_names[n + 1:n + 4]
        for key, value, name in (("headline", title, names[1]), ("description", description, names[2]),
                                 ("area", proximity, names[0])):
            if value := clean_text(value, scope, name) if value else None:
                out.setdefault(key, {})[lang] = value
    return out or None


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[a-zA-Z]{2,}")


@builder("contact_person")
def contact_person(raws: Sequence[str], scope: RecordScope) -> dict[str, str] | None:
    phone, name, email = (r.strip() for r in raws)
    out: dict[str, str] = {}
    if name:
        out["name"] = name
    if phone and not is_blank(phone):
        out["phoneNumber"] = phone
    if email:
        if _EMAIL.fullmatch(email):
            out["email"] = email
        else:
            scope.warn("W_EMAIL_INVALID", f"Adresse e-mail de contact « {email} » invalide : elle est ignorée.",
                       source="contact_email", value=email)
    return out or None


@builder("deposit_note")
def deposit_note(raws: Sequence[str], scope: RecordScope) -> dict[str, str] | None:
    """AVIV has no numeric security-deposit field: the amount goes in ``depositNote``."""
    if is_blank(raws[0]):
        return None
    return {"fr": f"Dépôt de garantie : {_money(amount(raws[0]))}."}


@builder("departments_note")
def departments_note(raws: Sequence[str], scope: RecordScope) -> str | None:
    """Catalogue-house départements (field 322) have no AVIV field: keep them readable."""
    raw = raws[0].strip()
    if not raw:
        return None
    codes = [c.strip() for c in re.split(r"[,;\s]+", raw) if c.strip()]
    return "Modèle proposé dans les départements : " + ", ".join(codes) + "."



_SPACED_URLS = re.compile(r"\s+(?=https?://)", re.IGNORECASE)


@builder("photo_list")
def photo_list(raws: Sequence[str], scope: RecordScope) -> list[dict[str, Any]] | None:
    """A spreadsheet's photo columns → media: one URL per column, or several in one cell separated
    by ``|``, ``;`` or spaces before ``http`` (a space elsewhere is part of a URL, percent-encoded
    as ``media`` does for Kyero feeds). Same checks as ``media``: http(s) only, duplicates once."""
    urls: list[str] = []
    for raw in raws:
        raw = raw.strip()
        if raw:
            # str.split, not a regex: a cell of twenty URLs is split for every listing of every night.
            sep = "|" if "|" in raw else ";" if ";" in raw else None
            parts = raw.split(sep) if sep else _SPACED_URLS.split(raw) if " " in raw else [raw]
            urls += [p for p in (x.strip() for x in parts) if p]
    if not urls:
        return None
    return media([*(x for url in urls for x in (url, "")), "", ""], scope)


@builder("monthly_rent")
def monthly_rent(raws: Sequence[str], scope: RecordScope) -> dict[str, Any] | None:
    """A spreadsheet's rent columns (rent charges included, monthly charges, rent excluding
    charges: any of them may be absent) → ``baseRent`` (what SeLoger requires), ``totalRent`` and
    ``operatingCosts``. Numbers are read as a spreadsheet writes them (ambiguous ones refused)."""
    read = SPREADSHEET_CONVERTERS["amount"]
    values: list[float | int | None] = []
    for raw, name in zip(raws, scope.source_names, strict=True):
        try:
            values.append(read(raw) if raw.strip() else None)
        except ConversionError as exc:
            scope.fail("E_VALUE_INVALID", f"{scope.label(name)} : {exc}.", source=name, value=raw)
            return None
    total, charges, base = values
    if base is None and total is not None:
        base = _round2(total - charges) if charges is not None and charges < total else total
    if base is None or base <= 0:
        return None
    out: dict[str, Any] = {"baseRent": {"amount": base}, "priceTimeUnit": "MONTH"}
    if total is None and charges is not None:
        total = _round2(base + charges)
    if total is not None and total >= base:
        out["totalRent"] = {"amount": total}
    if charges is not None:
        out["operatingCosts"] = {"amount": charges}
    return out
