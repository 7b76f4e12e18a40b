"""agencies.yaml: validation with line numbers, credentials by environment reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from etl.errors import ConfigError
from etl.agencies import json_schema, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
version: 1
defaults:
  api:
    base_url: http://127.0.0.1:9/caas/v4
    rate_limit: 20
agencies:
  - id: dupont
    source: feeds/dupont/*.zip
    portals: [SL, BD]
    credentials:
      client_id_env: DUPONT_ID
      client_secret_env: DUPONT_SECRET
      intermediary_id: "12345"
"""


def test_example_file_is_valid() -> None:
    cfg = load_config(ROOT / "etc" / "agencies.example.yaml")
    assert cfg.config.agencies


def test_committed_json_schema_is_up_to_date() -> None:
    committed = json.loads((ROOT / "etc" / "agencies.schema.json").read_text(encoding="utf-8"))
    assert committed == json_schema()


def test_good_config_resolves_paths_beside_the_file(tmp_path: Path) -> None:
    f = tmp_path / "agencies.yaml"
    f.write_text(GOOD, encoding="utf-8")
    cfg = load_config(f)
    assert cfg.state_url == f"sqlite:///{tmp_path / 'state.sqlite'}"
    assert cfg.config.defaults.api.effective_audience == "http://127.0.0.1:9/caas/v4"
    assert cfg.mass_delete(cfg.agency("dupont")).max_share == 0.30


def test_error_names_the_line_and_the_field(tmp_path: Path) -> None:
    bad = GOOD.replace("portals: [SL, BD]", "portals: [SL, LI]")
    with pytest.raises(ConfigError) as exc:
        parse_config(bad, tmp_path / "agencies.yaml")
    assert "agencies.yaml:9" in str(exc.value) and "portals" in str(exc.value)


def test_unknown_key_is_refused_with_its_line(tmp_path: Path) -> None:
    bad = GOOD.replace("    rate_limit: 20", "    rate_limit: 20\n    ratelimit: 30")
    with pytest.raises(ConfigError) as exc:
        parse_config(bad, "agencies.yaml")
    assert "agencies.yaml:6" in str(exc.value) and "ratelimit" in str(exc.value)


def test_inline_secret_is_refused(tmp_path: Path) -> None:
    bad = GOOD.replace("client_secret_env: DUPONT_SECRET", "client_secret: s3cr3t")
    with pytest.raises(ConfigError) as exc:
        parse_config(bad, "agencies.yaml")
    assert "client_secret" in str(exc.value)


def test_missing_environment_variable_is_named_and_secret_never_shown() -> None:
    cfg = parse_config(GOOD, "agencies.yaml")
    creds = cfg.agencies[0].credentials
    with pytest.raises(ConfigError) as exc:
        creds.resolve({"DUPONT_ID": "id"})
    assert "DUPONT_SECRET" in str(exc.value)
    resolved = creds.resolve({"DUPONT_ID": "id", "DUPONT_SECRET": "s3cr3t"})
    assert resolved.client_secret == "s3cr3t" and "s3cr3t" not in repr(resolved)


def test_duplicate_agency_ids_are_refused() -> None:
    doubled = GOOD + GOOD[GOOD.index("  - id: dupont"):]
    with pytest.raises(ConfigError) as exc:
        parse_config(doubled, "agencies.yaml")
    assert "dupont" in str(exc.value)
