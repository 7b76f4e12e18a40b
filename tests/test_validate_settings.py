"""PortalRules: documented defaults, configuration errors caught at load time, compiled form."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from etl.validate import BdZone, PortalRules
from etl.validate import portals as portals_module
from etl.validate.settings import DEFAULT_BD_ELSEWHERE, DEFAULT_BD_ZONES, compiled

DOC = Path(__file__).resolve().parents[1] / "docs" / "portal-rules.md"


@pytest.mark.parametrize(("postalcode", "expected"), [
    ("75011", ("Paris", 1_000_000, 3_000)),
    ("75116", ("Paris", 1_000_000, 3_000)),
    ("92200", ("petite couronne (92, 93, 94)", 800_000, 2_500)),
    ("93300", ("petite couronne (92, 93, 94)", 800_000, 2_500)),
    ("94130", ("petite couronne (92, 93, 94)", 800_000, 2_500)),
    ("06400", ("Côte d'Azur et Alpes", 800_000, 2_500)),
    ("83990", ("Côte d'Azur et Alpes", 800_000, 2_500)),
    ("73120", ("Côte d'Azur et Alpes", 800_000, 2_500)),
    ("74400", ("Côte d'Azur et Alpes", 800_000, 2_500)),
    ("78000", ("reste de la France", 500_000, 1_500)),
    ("13008", ("reste de la France", 500_000, 1_500)),
    ("", ("reste de la France", 500_000, 1_500)),
])
def test_default_belles_demeures_floors_by_zone(postalcode, expected):
    assert compiled(PortalRules()).floor(postalcode) == expected


def test_default_rules_match_the_documented_values():
    r = PortalRules()
    assert r.contract_portals is None and r.default_portals == ["SL"]
    assert (r.bd_min_description_length, r.bd_min_surface, r.bd_description_language) == (160, 20, "fr")
    assert r.bd_exempt_house_subtypes == ["CASTLE", "MANOR_HOUSE", "MANSION"]
    assert r.bucom_estate_types == ["TRADING"] and r.bucom_lease_right == "always"


def test_default_portals_must_be_in_the_contract():
    with pytest.raises(ValidationError, match="hors contrat : BD"):
        PortalRules(contract_portals=["SL"], default_portals=["SL", "BD"])


def test_empty_contract_with_no_defaults_is_allowed():
    assert PortalRules(contract_portals=[], default_portals=[]).contract_portals == []


def test_unknown_portal_in_configuration_is_refused():
    with pytest.raises(ValidationError):
        PortalRules(contract_portals=["SL", "LI"])


def test_unknown_setting_is_refused():
    with pytest.raises(ValidationError, match="bd_min_price"):
        PortalRules.model_validate({"bd_min_price": 1})


def test_an_area_in_two_zones_is_refused():
    with pytest.raises(ValidationError, match="« 75 » figure dans deux zones"):
        PortalRules(bd_zones=[BdZone(name="A", areas=["75"], buy=1, rent=1),
                              BdZone(name="B", areas=["92", "75"], buy=1, rent=1)])


@pytest.mark.parametrize("area", ["7", "7500A", "2C", "750011"])
def test_malformed_area_is_refused(area):
    with pytest.raises(ValidationError, match="invalides"):
        BdZone(name="X", areas=[area], buy=1, rent=1)


def test_negative_floor_is_refused():
    with pytest.raises(ValidationError):
        BdZone(name="X", areas=["75"], buy=-1, rent=1)


def test_portal_lists_are_deduplicated():
    r = PortalRules(contract_portals=["SL", "BD", "SL"], default_portals=["SL", "SL"])
    assert r.contract_portals == ["SL", "BD"] and r.default_portals == ["SL"]


def test_rules_load_from_yaml_as_an_agency_would_write_them():
    r = PortalRules.model_validate(yaml.safe_load("""
        contract_portals: [SL, BD]
        default_portals: [SL]
        bd_zones:
          - {name: Paris, areas: ["75"], buy: 1200000, rent: 4000}
          - {name: Bassin d'Arcachon, areas: ["33120", "33138", "33950", "33970"], buy: 900000, rent: 3000}
        bd_elsewhere: {name: ailleurs, buy: 600000, rent: 2000}
    """))
    c = compiled(r)
    assert c.floor("33950") == ("Bassin d'Arcachon", 900_000, 3_000)
    assert c.floor("33000") == ("ailleurs", 600_000, 2_000)
    assert c.contract == frozenset({"SL", "BD"})


def test_compiled_form_is_cached_per_instance_and_follows_copies():
    r = PortalRules()
    assert compiled(r) is compiled(r)
    changed = r.model_copy(update={"bd_elsewhere": DEFAULT_BD_ELSEWHERE.model_copy(update={"buy": 1})})
    assert compiled(changed).floor("13008")[1] == 1
    assert compiled(r).floor("13008")[1] == 500_000


def test_rules_are_immutable_so_the_compiled_form_cannot_go_stale():
    r = PortalRules()
    with pytest.raises(ValidationError):
        r.bd_min_surface = 10  # type: ignore[misc]


def test_json_schema_documents_every_setting_for_editors():
    schema = PortalRules.model_json_schema()
    assert schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name


# -- docs/portal-rules.md stays in step with the code ----------------------------------------

def _emitted_codes() -> set[str]:
    source = Path(portals_module.__file__).read_text(encoding="utf-8")
    base = set(re.findall(r'"(E_[A-Z_]+)"', source))
    reasons = set(re.findall(r'\("((?:PORTAL|SL|BD|BUCOM|SLN|SLC)_[A-Z_]+)", ', source))
    assert 'f"{portal}_PRICE_MISSING"' in source  # built for SL, BUCOM and BD
    reasons |= {f"{p}_PRICE_MISSING" for p in ("SL", "BUCOM", "BD")}
    return base | {f"{severity}_{code}" for code in reasons for severity in "EW"}


def test_every_code_is_documented():
    doc = DOC.read_text(encoding="utf-8")
    codes = _emitted_codes()
    assert len(codes) > 30
    missing = sorted(c for c in codes if c not in doc)
    assert not missing


def test_documented_default_floors_are_the_configured_ones():
    doc = DOC.read_text(encoding="utf-8")
    for zone in (*DEFAULT_BD_ZONES, DEFAULT_BD_ELSEWHERE):
        row = next(line for line in doc.splitlines() if line.startswith(f"| {zone.name} |"))
        assert f"{zone.buy:,.0f}".replace(",", " ") in row and f"{zone.rent:,.0f}".replace(",", " ") in row
