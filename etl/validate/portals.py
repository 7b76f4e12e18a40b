"""Portal rules of AVIV's "Manage classifieds" use-case page, applied to the body we send.

``evaluate`` reads the AVIV body dict (paths as in the spec: ``data.prices.buy.price.amount``,
``data.location.postalcode``…) and decides where the listing goes:

    portals = (requested, or the agency defaults when none) ∩ contract ∩ eligible

- a base rule broken (estate type, sub-type, transaction, address, metaData.source) rejects
  the listing: it is required on every portal;
- a portal rule broken drops that portal: a WARNING (``W_…``, ``portal`` set) while the listing
  is still published elsewhere; when no portal is left, the same reasons become ERRORs
  (``E_…``) followed by ``E_NO_ELIGIBLE_PORTAL``.

Every rule, its source (use-case page or our assumption) and its code are in
``docs/portal-rules.md``. This runs on every listing: the settings are precompiled
(:func:`etl.validate.settings.compiled`) and nothing is built for a rule that passes.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from collections.abc import Mapping, Sequence
from typing import Any

from etl.issues import Issue, Severity
from etl.validate.settings import PORTAL_LABELS, PORTALS, CompiledRules, PortalRules, compiled
from etl.validate.verdict import Verdict

_EMPTY: Mapping[str, Any] = {}  # shared read-only stand-in for an absent object

# estateType → the key its sub-type must use in data.estateSubType (MISCELLANEOUS has none).
FAMILY: dict[str, str] = {
    "APARTMENT": "apartment", "HOUSE": "house", "PLOT": "plot", "OFFICE": "office",
    "TRADING": "trading", "GASTRONOMY_HOTEL": "gastronomyHotel",
    "STORAGE_PRODUCTION": "storageProduction", "AGRICULTURE_FORESTRY": "agricultureForestry",
    "PARKING": "parking", "SENIOR": "senior", "PROJECT": "project",
}
_ESTATE_LABELS = {
    "APARTMENT": "appartement", "HOUSE": "maison", "PLOT": "terrain", "OFFICE": "bureaux",
    "TRADING": "local commercial", "GASTRONOMY_HOTEL": "hôtel, café ou restaurant",
    "STORAGE_PRODUCTION": "entrepôt ou local d'activité",
    "AGRICULTURE_FORESTRY": "bien agricole ou forestier", "PARKING": "parking ou garage",
    "SENIOR": "résidence seniors", "PROJECT": "programme neuf", "MISCELLANEOUS": "autre bien",
}
_SUBTYPE_EXAMPLES = {
    "apartment": "LOFT, STUDIO, PENTHOUSE…", "house": "SINGLE_FAMILY_HOUSE, VILLA, CASTLE…",
    "plot": "LIVING, AGRICULTURE_FORESTRY…", "office": "OFFICE_SPACE, COWORKING…",
    "trading": "STORE, SHOWROOM_SPACE…", "gastronomyHotel": "RESTAURANT, HOTEL…",
    "storageProduction": "WAREHOUSE_HALL, MISC_STORAGE…",
    "agricultureForestry": "FARM_RANCH, WINERY…", "parking": "GARAGE, UNDERGROUND_PARKING_SPACE…",
    "senior": "LIVING, ASSISTED_LIVING…", "project": "MULTI_FAMILY_HOUSE, HOUSE_PARK…",
}
_DISTRIBUTION_TYPES = frozenset({"BUY", "RENT", "COMPULSORY_AUCTION", "BUY_AUCTION"})
_FRANCE = frozenset({"", "FRA", "FR", "FRANCE"})
_NEW_BUILD_STATES = frozenset({"PROJECTED", "FIRST_TIME_USE"})

# Rents are compared with monthly floors.
_PER_MONTH = {"MONTH": 1.0, "YEAR": 1 / 12, "WEEK": 52 / 12, "DAY": 365 / 12}
_UNIT_LABELS = {"SQUARE_FOOT": "pieds carrés", "SQUARE_INCH": "pouces carrés", "SQUARE_YARD": "yards carrés",
                "HECTARE": "ha", "ACRE": "acres"}
_M2 = {"SQUARE_METER": 1.0, "SQUARE_FOOT": 0.09290304, "SQUARE_INCH": 0.00064516,
       "SQUARE_YARD": 0.83612736, "HECTARE": 10_000.0, "ACRE": 4046.8564224}

# The whole-property surfaces Belles Demeures' "surface ≥ 20 m²" applies to; room-level
# surfaces (kitchen, balcony, cellar…) and the plot are legitimately smaller.
_BD_SURFACES = (
    (None, "overallSpace", "data.spaces.overallSpace", "surface totale"),
    (None, "usableFloorSpace", "data.spaces.usableFloorSpace", "surface utile"),
    ("residential", "livingSpace", "data.spaces.residential.livingSpace", "surface habitable"),
)


def _candidates(*pairs: tuple[str, str]) -> tuple[tuple[str, str, str], ...]:
    return tuple((a, b, f"data.prices.{a}.{b}.amount") for a, b in pairs)


_BUY, _BASE_RENT = ("buy", "price"), ("rent", "baseRent")
_MIN_BUY, _MIN_RENT = ("buy", "minBuy"), ("rent", "minRent")
# The price a portal displays, by distributionType (first positive one wins).
_SHOWN_PRICE = {
    "BUY": _candidates(_BUY),
    "RENT": _candidates(_BASE_RENT),
    "COMPULSORY_AUCTION": _candidates(("compulsoryAuction", "minimumBid"), _BUY),
    "BUY_AUCTION": _candidates(("buyAuction", "minPrice"), _BUY),
}
# The property's value, compared with Belles Demeures' floors: for an auction, the
# market value / price rather than the (deliberately low) starting bid.
_BD_VALUE = {
    "BUY": _candidates(_BUY),
    "RENT": _candidates(_BASE_RENT),
    "COMPULSORY_AUCTION": _candidates(("compulsoryAuction", "marketValue"),
                                      ("compulsoryAuction", "minimumBid"), _BUY),
    "BUY_AUCTION": _candidates(_BUY, ("buyAuction", "minPrice")),
}
_SLN_PRICE = {"BUY": _candidates(_BUY, _MIN_BUY), "RENT": _candidates(_BASE_RENT, _MIN_RENT)}
_SLC_PRICE = {
    "HOUSE": _candidates(_BUY, ("buy", "housePrice"), _MIN_BUY),
    "PLOT": _candidates(_BUY, ("buy", "plotPrice")),
}
_SLC_PRICE_OTHER = _candidates(_BUY)
_PRICE_WORDS = {
    "BUY": "le prix de vente", "RENT": "le loyer mensuel hors charges",
    "COMPULSORY_AUCTION": "la mise à prix (ou le prix de vente)",
    "BUY_AUCTION": "le prix de départ des offres (ou le prix de vente)",
}
_LEASE_RIGHT = "data.prices.rent.countrySpecific.fr.leaseRight.amount"
_SOURCE_FIELDS = (
    ("sourceSystem", "data.metaData.source.sourceSystem",
     "Nom du logiciel émetteur vide : erreur de configuration du convertisseur, "
     "contactez le support technique{w}."),
    ("sourceSystemVersion", "data.metaData.source.sourceSystemVersion",
     "Version du logiciel émetteur vide : erreur de configuration du convertisseur, "
     "contactez le support technique{w}."),
    ("offererMarketingKey", "data.metaData.source.offererMarketingKey",
     "Référence de l'annonce absente : renseignez la référence agence du bien{w}."),
    ("offererEstateId", "data.metaData.source.offererEstateId",
     "Identifiant technique de l'annonce absent : renseignez l'identifiant unique du bien{w}."),
)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
# What counts as blank in a description; other Unicode spaces are rare enough in
# agency texts to count as ordinary characters.
_BLANKS = (" ", "\n", "\r", "\t", "\u00a0", "\u202f")
_BLANK_RUN = re.compile("[ \n\r\t\u00a0\u202f]+")

# A portal-level reason: (code without its E_/W_ prefix, portal, message, aviv_path, value).
_Reason = tuple[str, str, str, str | None, str | None]


class _Listing:
    """The few facts several rules read, extracted once per call."""

    __slots__ = ("body", "data", "prices", "location", "et", "dt", "sf")

    def __init__(self, body: Mapping[str, Any], sf: Mapping[str, str] | None) -> None:
        self.body = body
        data = _obj(body.get("data"))
        self.data = data
        self.prices = _obj(data.get("prices"))
        self.location = _obj(data.get("location"))
        et, dt = data.get("estateType"), data.get("distributionType")
        self.et = et if isinstance(et, str) and et else None
        self.dt = dt if isinstance(dt, str) and dt else None
        self.sf = sf

    def where(self, path: str | None) -> str:
        """The source field behind an AVIV path, as ' (champ 21)', when the mapping said which."""
        if self.sf and path:
            label = self.sf.get(path)
            if label:
                return f" ({label})"
        return ""


def evaluate(body: Mapping[str, Any], requested: Sequence[str] | None, rules: PortalRules,
             *, source_fields: Mapping[str, str] | None = None) -> Verdict:
    """Where this listing may be published, and why not elsewhere.

    ``requested``: the portals the listing asks for (empty → the agency's defaults).
    ``source_fields``: optional AVIV path → source field label (e.g. ``"champ 21"``),
    precomputed once per mapping; used in messages and as ``Issue.source_field``.
    """
    c = compiled(rules)
    L = _Listing(body if isinstance(body, Mapping) else _EMPTY, source_fields)
    reasons: list[_Reason] = []
    wanted = _effective_request(requested, c)
    ok: list[str] = []
    for portal in wanted:
        before = len(reasons)
        check = _CHECKS.get(portal)
        if check is None or (c.contract is not None and portal not in c.contract):
            _not_admissible(portal, c, L, reasons)
            continue
        check(L, c, reasons)
        if len(reasons) == before:
            ok.append(portal)

    issues = [] if _base_ok(L) else _base_issues(L)
    accepted = bool(ok) and not issues
    if reasons:
        severity, prefix = (Severity.WARNING, "W_") if ok else (Severity.ERROR, "E_")
        for suffix, portal, message, path, value in reasons:
            issues.append(Issue(prefix + suffix, message, severity, _sf(source_fields, path), path, value,
                                portal))
    if not wanted:
        issues.append(Issue(
            "E_NO_PORTAL",
            "Aucun portail de diffusion demandé pour cette annonce et aucun portail par défaut "
            "configuré pour l'agence : indiquez au moins un portail (SL, BUCOM, BD, SLC, SLN)"
            f"{L.where('portals')}.",
            Severity.ERROR, _sf(source_fields, "portals"), "portals", None, None))
    elif not ok:
        asked = ", ".join(wanted)
        issues.append(Issue(
            "E_NO_ELIGIBLE_PORTAL",
            f"Annonce refusée : elle ne remplit les conditions d'aucun des portails demandés ({asked}). "
            "Corrigez les points signalés pour chaque portail.",
            Severity.ERROR, None, "portals", asked, None))
    if not accepted:
        ok = []
    elif len(ok) > 1:
        ok = [p for p in PORTALS if p in ok]
    return Verdict(accepted, ok, issues, wanted)


# -- portals requested, contract --------------------------------------------------

def _effective_request(requested: Sequence[str] | None, c: CompiledRules) -> list[str]:
    wanted: list[str] = []
    for raw in requested or ():
        p = raw.strip().upper() if isinstance(raw, str) else str(raw)
        if p and p not in wanted:
            wanted.append(p)
    return wanted or list(c.defaults)


def _not_admissible(p: str, c: CompiledRules, L: _Listing, out: list[_Reason]) -> None:
    if p not in PORTAL_LABELS:
        out.append(("PORTAL_UNKNOWN", p,
                    f"Portail « {p} » inconnu : les portails possibles sont SL, BUCOM, BD, SLC et SLN ; "
                    f"corrigez la liste des portails demandés{L.where('portals')}.", "portals", p))
    else:
        contract = ", ".join(x for x in PORTALS if x in (c.contract or ())) or "aucun"
        out.append(("PORTAL_NOT_IN_CONTRACT", p,
                    f"{PORTAL_LABELS[p]} ({p}) ne fait pas partie du contrat de l'agence "
                    f"(portails souscrits : {contract}) : retirez-le des portails demandés"
                    f"{L.where('portals')} ou faites-le ajouter au contrat AVIV.", "portals", p))


# -- rules every portal requires (use-case page) ------------------------------------

def _base_ok(L: _Listing) -> bool:
    """The common case, decided without building anything (str.isspace() stops at the
    first non-space character, so a filled field costs O(1))."""
    et = L.et
    family = FAMILY.get(et) if et is not None else None
    sub = L.data.get("estateSubType")
    if family is not None:
        if not (type(sub) is dict and len(sub) == 1):
            return False
        v = sub.get(family)
        if not (type(v) is str and v and not v.isspace()):
            return False
    elif et != "MISCELLANEOUS" or sub:
        return False
    if L.dt not in _DISTRIBUTION_TYPES:
        return False
    loc = L.location
    for key in ("postalcode", "city", "country"):
        v = loc.get(key)
        if not (type(v) is str and v and not v.isspace()):
            return False
    meta = L.data.get("metaData")
    source = meta.get("source") if type(meta) is dict else None
    if type(source) is not dict:
        return False
    for key in ("offererEstateId", "offererMarketingKey", "sourceSystem", "sourceSystemVersion"):
        v = source.get(key)
        if not (type(v) is str and v and not v.isspace()):
            return False
    return True


def _base_issues(L: _Listing) -> list[Issue]:
    issues: list[Issue] = []
    data, sf = L.data, L.sf

    def err(code: str, message: str, path: str, value: Any = None) -> None:
        issues.append(Issue(code, message, Severity.ERROR, _sf(sf, path), path,
                            None if value is None else str(value), None))

    et = L.et
    sub = data.get("estateSubType")
    if et is None:
        err("E_ESTATE_TYPE_MISSING", "Type de bien absent : renseignez le type de bien "
            f"(appartement, maison, terrain, local commercial…){L.where('data.estateType')}.",
            "data.estateType", data.get("estateType"))
    elif et == "MISCELLANEOUS":
        if isinstance(sub, dict) and sub:
            key = next(iter(sub))
            err("E_ESTATE_SUBTYPE_MISMATCH",
                f"Un bien de type MISCELLANEOUS (autre bien) ne prend pas de sous-type, or « {key} : "
                f"{sub[key]} » est renseigné : corrigez le type ou le sous-type de bien"
                f"{L.where('data.estateSubType')}.", "data.estateSubType", f"{key}: {sub[key]}")
    elif et not in FAMILY:
        err("E_ESTATE_TYPE_UNKNOWN", f"Type de bien « {et} » inconnu d'AVIV : corrigez le type de bien"
            f"{L.where('data.estateType')}.", "data.estateType", et)
    else:
        family = FAMILY[et]
        path = f"data.estateSubType.{family}"
        value = sub.get(family) if isinstance(sub, dict) else None
        if isinstance(sub, dict) and sub and (value is None or len(sub) > 1):
            seen = ", ".join(f"{k} : {v}" for k, v in sub.items())
            err("E_ESTATE_SUBTYPE_MISMATCH",
                f"Le sous-type de bien ({seen}) ne correspond pas au type {et} "
                f"({_ESTATE_LABELS[et]}), qui attend un unique sous-type « {family} » "
                f"(ex. {_SUBTYPE_EXAMPLES[family]}) : corrigez le sous-type{L.where(path)}.", path, seen)
        elif _blank(value):
            err("E_ESTATE_SUBTYPE_MISSING",
                f"Sous-type de bien absent pour un bien de type {_ESTATE_LABELS[et]} : renseignez la "
                f"catégorie précise (ex. {_SUBTYPE_EXAMPLES[family]}){L.where(path)}.", path, value)

    if L.dt is None:
        err("E_DISTRIBUTION_TYPE_MISSING", "Type de transaction absent : indiquez s'il s'agit d'une "
            f"vente, d'une location ou d'une vente aux enchères{L.where('data.distributionType')}.",
            "data.distributionType", data.get("distributionType"))
    elif L.dt not in _DISTRIBUTION_TYPES:
        err("E_DISTRIBUTION_TYPE_UNKNOWN", f"Type de transaction « {L.dt} » inconnu d'AVIV : corrigez le "
            f"type de transaction{L.where('data.distributionType')}.", "data.distributionType", L.dt)

    loc = L.location
    if _blank(loc.get("postalcode")):
        err("E_POSTALCODE_MISSING", "Code postal absent : renseignez le code postal du bien"
            f"{L.where('data.location.postalcode')}.", "data.location.postalcode", loc.get("postalcode"))
    if _blank(loc.get("city")):
        err("E_CITY_MISSING", f"Ville absente : renseignez la ville du bien{L.where('data.location.city')}.",
            "data.location.city", loc.get("city"))
    if _blank(loc.get("country")):
        err("E_COUNTRY_MISSING", "Pays absent : renseignez le pays du bien (FRA pour la France)"
            f"{L.where('data.location.country')}.", "data.location.country", loc.get("country"))

    source = _obj(_obj(data.get("metaData")).get("source"))
    for key, path, message in _SOURCE_FIELDS:
        if _blank(source.get(key)):
            err("E_METADATA_SOURCE_MISSING", message.format(w=L.where(path)), path, source.get(key))
    return issues


# -- per-portal rules -----------------------------------------------------------------

def _check_sl(L: _Listing, c: CompiledRules, out: list[_Reason]) -> None:
    if _abroad(L, "SL", out):
        return
    _require_price(L, "SL", _SHOWN_PRICE, out)


def _check_bucom(L: _Listing, c: CompiledRules, out: list[_Reason]) -> None:
    if _abroad(L, "BUCOM", out):
        return
    if L.et is not None and L.et not in c.bucom_types:
        accepted = ", ".join(sorted(c.bucom_types)) or "aucun"
        out.append(("BUCOM_NOT_TRADING", "BUCOM",
                    f"SeLoger Bureaux & Commerces n'accepte que les biens de type {accepted} "
                    f"(locaux commerciaux) ; ici {L.et} ({_ESTATE_LABELS.get(L.et, L.et)}) : corrigez le "
                    f"type de bien{L.where('data.estateType')} ou retirez BUCOM des portails demandés.",
                    "data.estateType", L.et))
    _require_price(L, "BUCOM", _SHOWN_PRICE, out)
    mode = c.bucom_lease_right
    if mode == "always" or (mode == "rent" and L.dt == "RENT"):
        v = _amount(_obj(_obj(_obj(L.prices.get("rent")).get("countrySpecific")).get("fr")), "leaseRight")
        if not (type(v) in (int, float) and v >= 0):
            seen = "absent" if v is None else f"valeur reçue : {_fmt(v)}"
            out.append(("BUCOM_LEASE_RIGHT_MISSING", "BUCOM",
                        "SeLoger Bureaux & Commerces exige le prix de la cession (droit au bail) "
                        f"({seen}) : renseignez-le{L.where(_LEASE_RIGHT)}, à 0 s'il n'y a pas de "
                        "droit au bail à céder.", _LEASE_RIGHT, _str(v)))


def _check_bd(L: _Listing, c: CompiledRules, out: list[_Reason]) -> None:
    data, et, dt = L.data, L.et, L.dt
    if et is not None and et in c.bd_excluded:
        out.append(("BD_ESTATE_TYPE_EXCLUDED", "BD",
                    f"Belles Demeures n'accepte pas les biens de type {et} "
                    f"({_ESTATE_LABELS.get(et, et)}) : retirez BD des portails demandés pour cette annonce.",
                    "data.estateType", et))

    cands = _BD_VALUE.get(dt) if dt is not None else None
    if cands is not None:
        path, v, positive = _pick(L.prices, cands)
        if not positive:
            out.append(_price_reason("BD", dt, path, v, L))
        elif _text_or(_obj(data.get("estateSubType")).get("house"), "") not in c.bd_exempt:
            zone, buy_floor, rent_floor = _zone_floor(L.location, c)
            if dt == "RENT":
                unit = _text_or(_obj(L.prices.get("rent")).get("priceTimeUnit"), "MONTH")
                monthly = v * _PER_MONTH.get(unit, 1.0)
                if monthly < rent_floor:
                    per = "" if unit == "MONTH" else f", soit {_fmt(monthly)} € par mois"
                    out.append(("BD_PRICE_BELOW_FLOOR", "BD",
                                f"Belles Demeures n'accepte en location, zone {zone}, que les loyers d'au "
                                f"moins {_fmt_setting(rent_floor)} € par mois (ici {_fmt(v)} €{per}) : l'annonce "
                                f"n'y sera pas diffusée ; vérifiez le loyer{L.where(path)} ou retirez BD "
                                "des portails demandés.", path, _str(v)))
            elif v < buy_floor:
                out.append(("BD_PRICE_BELOW_FLOOR", "BD",
                            f"Belles Demeures n'accepte en vente, zone {zone}, que les biens d'au moins "
                            f"{_fmt_setting(buy_floor)} € (ici {_fmt(v)} €), sauf châteaux, manoirs et hôtels "
                            f"particuliers : l'annonce n'y sera pas diffusée ; vérifiez le prix"
                            f"{L.where(path)} ou retirez BD des portails demandés.", path, _str(v)))

    media = L.body.get("media")
    pictures = False
    if isinstance(media, list):
        for m in media:
            if isinstance(m, dict) and m.get("mediaType") == "PICTURE":
                pictures = True
                break
    if not pictures:
        n = len(media) if isinstance(media, list) else 0
        seen = "aucun média" if n == 0 else f"{n} média{'s' if n > 1 else ''}, dont aucune photo"
        out.append(("BD_NO_PICTURE", "BD",
                    f"Belles Demeures exige au moins une photo (ici {seen}) : ajoutez des photos à "
                    f"l'annonce{L.where('media[].mediaType')}.", "media[].mediaType", str(n)))

    spaces = data.get("spaces")
    if isinstance(spaces, dict):
        unit = _text_or(spaces.get("spaceMeasureUnit"), "SQUARE_METER")
        factor = _M2.get(unit, 1.0)
        for sub, key, path, label in _BD_SURFACES:
            holder = spaces if sub is None else _obj(spaces.get(sub))
            v = holder.get(key)
            if type(v) in (int, float) and v * factor < c.bd_min_surface:
                shown = f"{_fmt(v)} m²" if factor == 1.0 else \
                    f"{_fmt(v)} {_UNIT_LABELS.get(unit, unit)}, soit {_fmt(v * factor)} m²"
                out.append(("BD_SURFACE_SMALL", "BD",
                            f"Belles Demeures exige une surface d'au moins {_fmt_setting(c.bd_min_surface)} m² "
                            f"({label} : {shown}) : corrigez la surface{L.where(path)} ou retirez BD des "
                            "portails demandés.", path, _str(v)))

    need = c.bd_min_description
    if need:
        lang = c.bd_language
        path = f"data.texts.description.{lang}"
        text = _obj(_obj(data.get("texts")).get("description")).get(lang)
        n = _visible_length(text, need) if isinstance(text, str) else 0
        if n < need:
            out.append(("BD_DESCRIPTION_SHORT", "BD",
                        f"Belles Demeures exige une description d'au moins {need} caractères (ici {n}) : "
                        f"complétez le descriptif{L.where(path)}.", path,
                        text if isinstance(text, str) else None))


def _check_sln(L: _Listing, c: CompiledRules, out: list[_Reason]) -> None:
    if _abroad(L, "SLN", out):
        return
    et, dt = L.et, L.dt
    if et is not None:
        if et not in c.sln_types:
            accepted = ", ".join(sorted(c.sln_types))
            out.append(("SLN_ESTATE_TYPE", "SLN",
                        f"SeLoger Neuf n'accepte que les programmes neufs et leurs lots ({accepted}) ; ici "
                        f"{et} ({_ESTATE_LABELS.get(et, et)}) : retirez SLN des portails demandés.",
                        "data.estateType", et))
        elif et != "PROJECT" and not _new_build(L):
            out.append(("SLN_NOT_NEW_BUILD", "SLN",
                        "SeLoger Neuf n'accepte que le neuf : indiquez un bien neuf (état NEW, construction "
                        "PROJECTED ou FIRST_TIME_USE, ou un statut de programme)"
                        f"{L.where('data.conditions.ageState')}, ou retirez SLN des portails demandés.",
                        "data.conditions.ageState", _str(_obj(L.data.get("conditions")).get("ageState"))))
    if dt is None or dt not in _DISTRIBUTION_TYPES:
        return
    if dt not in _SLN_PRICE:
        out.append(("SLN_DISTRIBUTION_TYPE", "SLN",
                    f"SeLoger Neuf ne diffuse que des ventes et des locations, pas de vente aux enchères ({dt}) : "
                    "retirez SLN des portails demandés.", "data.distributionType", dt))
        return
    path, v, positive = _pick(L.prices, _SLN_PRICE[dt])
    if not positive:
        words = "le prix de vente ou le prix « à partir de »" if dt == "BUY" else \
            "le loyer ou le loyer « à partir de »"
        out.append(("SLN_PRICE_MISSING", "SLN",
                    f"SeLoger Neuf exige un montant strictement positif pour {words} ({_seen(v)}) : "
                    f"complétez ce montant{L.where(path)}.", path, _str(v)))


def _check_slc(L: _Listing, c: CompiledRules, out: list[_Reason]) -> None:
    if _abroad(L, "SLC", out):
        return
    et, dt = L.et, L.dt
    if et is not None:
        if et not in c.slc_types:
            accepted = ", ".join(sorted(c.slc_types))
            out.append(("SLC_ESTATE_TYPE", "SLC",
                        f"SeLoger Construire n'accepte que les maisons à construire et les terrains à bâtir "
                        f"({accepted}) ; ici {et} ({_ESTATE_LABELS.get(et, et)}) : retirez SLC des portails "
                        "demandés.", "data.estateType", et))
        elif et == "HOUSE" and not _new_build(L):
            out.append(("SLC_NOT_NEW_BUILD", "SLC",
                        "SeLoger Construire n'accepte que des maisons à construire (modèle de catalogue ou "
                        "maison + terrain) : indiquez un bien neuf (état NEW, construction PROJECTED), un prix "
                        f"de la maison ou un prix « à partir de »{L.where('data.conditions.ageState')}, ou "
                        "retirez SLC des portails demandés.",
                        "data.conditions.ageState", _str(_obj(L.data.get("conditions")).get("ageState"))))
        elif et == "PLOT":
            sub = _obj(L.data.get("estateSubType")).get("plot")
            if sub is not None and _text_or(sub, "") not in c.slc_plot_subtypes:
                accepted = ", ".join(sorted(c.slc_plot_subtypes))
                out.append(("SLC_PLOT_NOT_BUILDING_LAND", "SLC",
                            f"SeLoger Construire n'accepte que les terrains à bâtir ({accepted}) ; ici {sub} : "
                            f"corrigez le sous-type{L.where('data.estateSubType.plot')} ou retirez SLC des "
                            "portails demandés.", "data.estateSubType.plot", _str(sub)))
    if dt is None or dt not in _DISTRIBUTION_TYPES:
        return
    if dt != "BUY":
        out.append(("SLC_DISTRIBUTION_TYPE", "SLC",
                    f"SeLoger Construire ne diffuse que des ventes (ici {dt}) : retirez SLC des portails "
                    "demandés.", "data.distributionType", dt))
        return
    path, v, positive = _pick(L.prices, _SLC_PRICE.get(et or "", _SLC_PRICE_OTHER))
    if not positive:
        out.append(("SLC_PRICE_MISSING", "SLC",
                    "SeLoger Construire exige un montant strictement positif pour le prix (prix total, prix "
                    f"de la maison, prix « à partir de » ou prix du terrain) ({_seen(v)}) : complétez ce "
                    f"montant{L.where(path)}.", path, _str(v)))


_CHECKS = {"SL": _check_sl, "BUCOM": _check_bucom, "BD": _check_bd, "SLN": _check_sln, "SLC": _check_slc}

# Where SeLoger, Bureaux & Commerces, Neuf and Construire publish: France, its overseas
# departments and collectivities, and Monaco (listed by Riviera agencies). Belles Demeures alone
# lists homes abroad (docs/xml-feeds.md), so it is the one portal without this check.
_FRENCH_TERRITORY = frozenset({"", "FRA", "FR", "FRANCE", "MCO", "GLP", "MTQ", "GUF", "REU", "MYT", "SPM", "BLM",
                               "MAF", "NCL", "PYF", "WLF"})


def _abroad(L: _Listing, portal: str, out: list[_Reason]) -> bool:
    """A listing outside France asked of a portal that publishes only French property."""
    country = L.location.get("country")
    if not isinstance(country, str) or country.strip().upper() in _FRENCH_TERRITORY:
        return False
    out.append(("PORTAL_NOT_FOR_THIS_LISTING", portal,
                f"{PORTAL_LABELS[portal]} ({portal}) ne publie que des biens situés en France, or celui-ci est "
                f"situé hors de France (pays {country}) : seul Belles Demeures (BD) diffuse des biens à "
                f"l'étranger ; demandez BD pour cette annonce ou corrigez le pays{L.where('data.location.country')}.",
                "data.location.country", country))
    return True



# -- helpers ----------------------------------------------------------------------------

def _require_price(L: _Listing, portal: str, table: Mapping[str, tuple[tuple[str, str, str], ...]],
                   out: list[_Reason]) -> None:
    cands = table.get(L.dt) if L.dt is not None else None
    if cands is None:  # transaction missing or unknown: a base error already says so
        return
    path, v, positive = _pick(L.prices, cands)
    if not positive:
        out.append(_price_reason(portal, L.dt, path, v, L))


def _price_reason(portal: str, dt: str, path: str, v: Any, L: _Listing) -> _Reason:
    return (f"{portal}_PRICE_MISSING", portal,
            f"{PORTAL_LABELS[portal]} exige un montant strictement positif pour {_PRICE_WORDS[dt]} "
            f"({_seen(v)}) : complétez ce montant{L.where(path)}.", path, _str(v))


def _pick(prices: Mapping[str, Any], cands: tuple[tuple[str, str, str], ...]) -> tuple[str, Any, bool]:
    """First positive amount among the candidates; else the first candidate's path and raw value."""
    a, b, path = cands[0]
    first = _amount(_obj(prices.get(a)), b)
    if type(first) in (int, float) and first > 0:
        return path, first, True
    for a, b, other in cands[1:]:
        v = _amount(_obj(prices.get(a)), b)
        if type(v) in (int, float) and v > 0:
            return other, v, True
    return path, first, False


def _amount(holder: Mapping[str, Any], key: str) -> Any:
    price = holder.get(key)
    return price.get("amount") if isinstance(price, dict) else None


def _zone_floor(location: Mapping[str, Any], c: CompiledRules) -> tuple[str, float, float]:
    country = location.get("country")
    if isinstance(country, str) and country not in _FRANCE and country.strip().upper() not in _FRANCE:
        return c.elsewhere
    pc = location.get("postalcode")
    return c.floor(pc.strip()) if isinstance(pc, str) else c.elsewhere


def _new_build(L: _Listing) -> bool:
    """Evidence that the property is new or to be built (SLN / SLC assumption)."""
    data = L.data
    cond = _obj(data.get("conditions"))
    if cond.get("ageState") == "NEW" or _text_or(cond.get("buildState"), "") in _NEW_BUILD_STATES:
        return True
    if _obj(data.get("management")).get("projectStatus"):
        return True
    bp = _obj(data.get("buildingProperty"))
    if bp.get("program") or bp.get("units"):
        return True
    spaces = _obj(data.get("spaces"))
    if spaces.get("spaceMin") is not None or spaces.get("spaceMax") is not None:
        return True
    buy = _obj(L.prices.get("buy"))
    for key in ("minBuy", "housePrice"):
        v = _amount(buy, key)
        if type(v) in (int, float) and v > 0:
            return True
    v = _amount(_obj(L.prices.get("rent")), "minRent")
    return type(v) in (int, float) and v > 0


def _visible_length(text: str, need: int) -> int:
    """Characters a reader sees: HTML tags dropped, every run of spaces / tabs / line
    breaks / no-break spaces counted as one character, leading and trailing ones not at all.

    Exact below ``need``; above it, any value ≥ ``need`` may be returned: the non-blank
    characters of a prefix are a lower bound, and counting them (str.count, in C) is
    several times cheaper than splitting the text into words.
    """
    if "<" in text:
        text = _TAG.sub(" ", text)
    end = need + need // 2 + 16  # French prose is ~17 % blanks: the prefix usually settles it
    solid = min(len(text), end)
    for ch in _BLANKS:
        solid -= text.count(ch, 0, end)
    if solid >= need:
        return solid
    return len(_BLANK_RUN.sub(" ", text).strip(" "))


def _obj(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, dict) else _EMPTY


def _text_or(v: Any, default: str) -> str:
    """A string field's value, or ``default``: keeps odd JSON (a list…) out of set / dict lookups."""
    return v if type(v) is str and v else default


def _blank(v: Any) -> bool:
    return not (isinstance(v, str) and v.strip())


def _sf(sf: Mapping[str, str] | None, path: str | None) -> str | None:
    return sf.get(path) if sf and path else None


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _seen(v: Any) -> str:
    return "absent" if v is None else f"valeur reçue : {_fmt(v)}"


def _fmt(v: Any) -> str:
    """French number display: 1 000 000, 28,4; anything else quoted as received."""
    if type(v) in (int, float) and math.isfinite(v):
        s = f"{v:,.0f}" if v == int(v) else f"{v:,.2f}".rstrip("0")
        return s.replace(",", "\u00a0").replace(".", ",")
    return f"« {v} »"


# Thresholds come from the settings: few distinct values, formatted once.
_fmt_setting = lru_cache(maxsize=256)(_fmt)
