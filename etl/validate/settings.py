"""Portal rules configuration: Belles Demeures floors, portal-specific parameters, the agency's contract.

AVIV does not publish Belles Demeures' price thresholds ("contact our customer care"),
nor the SeLoger Neuf / SeLoger Construire rules. Every default below that is not on
the use-case page is **our assumption, to be confirmed with AVIV customer care**;
``docs/portal-rules.md`` lists which is which. An agency's configuration may override
any of them.

The model is validated once (configuration load); :func:`compiled` turns it into plain
tuples / dicts / frozensets so that :func:`etl.validate.portals.evaluate`, which runs
on every listing, never walks pydantic objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Portal = Literal["SL", "BUCOM", "BD", "SLC", "SLN"]

# Spec order of the `portals` enum; verdicts list portals in this order so that the
# body (and its hash) does not change when an agency reorders its request.
PORTALS: tuple[str, ...] = ("SL", "BUCOM", "BD", "SLC", "SLN")

PORTAL_LABELS: dict[str, str] = {
    "SL": "SeLoger",
    "BUCOM": "SeLoger Bureaux & Commerces",
    "BD": "Belles Demeures",
    "SLC": "SeLoger Construire",
    "SLN": "SeLoger Neuf",
}

# Postal codes of Corsica start with 20 for both départements; these are the prefixes
# La Poste uses for each (200xx–201xx: Corse-du-Sud, 202xx–206xx: Haute-Corse).
_CORSICA = {"2A": ("200", "201"), "2B": ("202", "203", "204", "205", "206")}
_AREA_KEY = re.compile(r"^(?:\d{2,5}|2A|2B)$")

_CLOSED = ConfigDict(extra="forbid", frozen=True)


class BdFloor(BaseModel):
    """Belles Demeures minimum prices for one area (assumption, see module doc)."""

    model_config = _CLOSED

    name: str = Field(description="Nom de la zone, repris dans les messages aux agences.")
    buy: float = Field(ge=0, description="Prix de vente minimum, en euros (data.prices.buy.price.amount).")
    rent: float = Field(ge=0, description="Loyer mensuel minimum hors charges, en euros par mois "
                                          "(data.prices.rent.baseRent.amount ramené au mois).")


class BdZone(BdFloor):
    """A zone: the départements (or postal-code prefixes) it covers, and its floors."""

    areas: list[str] = Field(
        min_length=1,
        description="Départements (« 75 », « 2A ») ou préfixes de code postal de 2 à 5 chiffres "
                    "(« 92200 » pour Neuilly-sur-Seine) ; le préfixe le plus long l'emporte.",
    )

    @field_validator("areas")
    @classmethod
    def _areas_are_keys(cls, areas: list[str]) -> list[str]:
        out = [a.strip().upper() for a in areas]
        bad = [a for a in out if not _AREA_KEY.match(a)]
        if bad:
            raise ValueError(f"départements ou préfixes de code postal invalides : {', '.join(bad)}")
        return out


DEFAULT_BD_ZONES: tuple[BdZone, ...] = (
    BdZone(name="Paris", areas=["75"], buy=1_000_000, rent=3_000),
    BdZone(name="petite couronne (92, 93, 94)", areas=["92", "93", "94"], buy=800_000, rent=2_500),
    # Côte d'Azur and the ski resorts of the northern Alps, where Belles Demeures'
    # stock concentrates; prices there are comparable to the inner Paris suburbs.
    BdZone(name="Côte d'Azur et Alpes", areas=["06", "83", "73", "74"], buy=800_000, rent=2_500),
)
DEFAULT_BD_ELSEWHERE = BdFloor(name="reste de la France", buy=500_000, rent=1_500)


class PortalRules(BaseModel):
    """What each portal accepts, and which portals an agency may publish on.

    Defaults marked *assumption* are ours (AVIV does not publish them); the others come
    from AVIV's "Manage classifieds" use-case page.
    """

    model_config = _CLOSED

    # -- agency ------------------------------------------------------------------
    contract_portals: list[Portal] | None = Field(
        default=None,
        description="Portails du contrat de l'agence ; None = les cinq. Un portail demandé hors "
                    "contrat est retiré avec un avertissement.",
    )
    default_portals: list[Portal] = Field(
        default=["SL"],
        description="Portails utilisés quand l'annonce n'en demande aucun (doivent être au contrat).",
    )

    # -- Belles Demeures ---------------------------------------------------------
    bd_zones: list[BdZone] = Field(
        default=list(DEFAULT_BD_ZONES),
        description="Zones et prix planchers Belles Demeures (assumption : seuils non publiés par AVIV).",
    )
    bd_elsewhere: BdFloor = Field(
        default=DEFAULT_BD_ELSEWHERE,
        description="Planchers hors des zones listées, et pour les biens hors de France (assumption).",
    )
    bd_exempt_house_subtypes: list[str] = Field(
        default=["CASTLE", "MANOR_HOUSE", "MANSION"],
        description="Sous-types data.estateSubType.house acceptés à tout prix (page use-case).",
    )
    bd_min_description_length: int = Field(
        default=160, ge=0, description="Longueur minimum du descriptif (page use-case).")
    bd_description_language: str = Field(
        default="fr", description="Langue du descriptif contrôlé : data.texts.description.<langue>.")
    bd_min_surface: float = Field(
        default=20, ge=0, description="Surface minimum en m², pour chaque surface renseignée (page use-case).")
    bd_excluded_estate_types: list[str] = Field(
        default=["PARKING", "OFFICE", "TRADING", "STORAGE_PRODUCTION"],
        description="Types de biens refusés par Belles Demeures (assumption : la page renvoie au "
                    "service client pour les « annonces interdites »).",
    )

    # -- SeLoger Bureaux & Commerces ---------------------------------------------
    bucom_estate_types: list[str] = Field(
        default=["TRADING"], description="Types de biens acceptés sur BUCOM (page use-case : TRADING seul).")
    bucom_lease_right: Literal["always", "rent", "never"] = Field(
        default="always",
        description="Quand le prix de la cession (leaseRight) est exigé : toujours (lecture littérale "
                    "de la page use-case), seulement en location, ou jamais.",
    )

    # -- SeLoger Neuf / SeLoger Construire (assumptions: rules not public) -------
    sln_estate_types: list[str] = Field(
        default=["PROJECT", "APARTMENT", "HOUSE"],
        description="Types acceptés sur SeLoger Neuf : programme, ou lot d'un programme (assumption).",
    )
    slc_estate_types: list[str] = Field(
        default=["HOUSE", "PLOT"],
        description="Types acceptés sur SeLoger Construire : maison à construire, terrain (assumption).",
    )
    slc_plot_subtypes: list[str] = Field(
        default=["LIVING", "MIXED"],
        description="Sous-types de terrain acceptés sur SeLoger Construire : terrain à bâtir (assumption).",
    )

    @field_validator("contract_portals", "default_portals")
    @classmethod
    def _dedupe(cls, portals: list[str] | None) -> list[str] | None:
        return None if portals is None else list(dict.fromkeys(portals))

    @model_validator(mode="after")
    def _coherent(self) -> PortalRules:
        if self.contract_portals is not None:
            outside = [p for p in self.default_portals if p not in self.contract_portals]
            if outside:
                raise ValueError(
                    f"portails par défaut hors contrat : {', '.join(outside)} "
                    f"(contrat : {', '.join(self.contract_portals) or 'aucun'})")
        seen: dict[str, str] = {}
        for zone in self.bd_zones:
            for area in zone.areas:
                if area in seen:
                    raise ValueError(f"« {area} » figure dans deux zones Belles Demeures : "
                                     f"{seen[area]} et {zone.name}")
                seen[area] = zone.name
        return self


@dataclass(frozen=True, slots=True)
class CompiledRules:
    """PortalRules flattened for the per-listing hot path."""

    contract: frozenset[str] | None
    defaults: tuple[str, ...]
    # postal-code prefix → (zone name, buy floor, monthly rent floor)
    floors: dict[str, tuple[str, float, float]]
    prefix_lengths: tuple[int, ...]  # longest first
    elsewhere: tuple[str, float, float]
    bd_exempt: frozenset[str]
    bd_min_description: int
    bd_language: str
    bd_min_surface: float
    bd_excluded: frozenset[str]
    bucom_types: frozenset[str]
    bucom_lease_right: str
    sln_types: frozenset[str]
    slc_types: frozenset[str]
    slc_plot_subtypes: frozenset[str]

    def floor(self, postalcode: str) -> tuple[str, float, float]:
        for n in self.prefix_lengths:
            hit = self.floors.get(postalcode[:n])
            if hit is not None:
                return hit
        return self.elsewhere


def _compile(rules: PortalRules) -> CompiledRules:
    floors: dict[str, tuple[str, float, float]] = {}
    for zone in rules.bd_zones:
        for area in zone.areas:
            for prefix in _CORSICA.get(area, (area,)):
                floors[prefix] = (zone.name, zone.buy, zone.rent)
    e = rules.bd_elsewhere
    return CompiledRules(
        contract=None if rules.contract_portals is None else frozenset(rules.contract_portals),
        defaults=tuple(rules.default_portals),
        floors=floors,
        prefix_lengths=tuple(sorted({len(k) for k in floors}, reverse=True)),
        elsewhere=(e.name, e.buy, e.rent),
        bd_exempt=frozenset(rules.bd_exempt_house_subtypes),
        bd_min_description=rules.bd_min_description_length,
        bd_language=rules.bd_description_language,
        bd_min_surface=rules.bd_min_surface,
        bd_excluded=frozenset(rules.bd_excluded_estate_types),
        bucom_types=frozenset(rules.bucom_estate_types),
        bucom_lease_right=rules.bucom_lease_right,
        sln_types=frozenset(rules.sln_estate_types),
        slc_types=frozenset(rules.slc_estate_types),
        slc_plot_subtypes=frozenset(rules.slc_plot_subtypes),
    )


# Keyed by id(); the entry keeps the instance alive, so an id cannot be reused while
# cached. A cache rather than a private attribute: pydantic's private-attribute access
# costs ~2 µs, and model_copy(update=…) would carry a stale compiled form along.
_CACHE: dict[int, tuple[PortalRules, CompiledRules]] = {}
_CACHE_MAX = 1024


def compiled(rules: PortalRules) -> CompiledRules:
    hit = _CACHE.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    c = _compile(rules)
    _CACHE[id(rules)] = (rules, c)
    return c
