"""Shared builders for the loader's tests (no tests here)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from etl.records import SourceLocation
from etl.outcome import ListingKey, Outcome

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
EXAMPLE: dict[str, Any] = json.loads((REFERENCE / "aviv-v4-example.json").read_text(encoding="utf-8"))


from etl.model.canonical import content_hash as body_hash  # noqa: E402


def make_body(agency: str, key: str, *, price: int = 289000) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["data"]["metaData"]["source"]["offererEstateId"] = f"{agency}-{key}"
    body["data"]["metaData"]["source"]["offererMarketingKey"] = f"REF-{key}"
    body["data"]["prices"]["buy"]["price"]["amount"] = price
    for i, m in enumerate(body.get("media", [])):
        m["url"] = f"https://img.example.test/{agency}/{key}/{i}.jpg?timestamp=1"
    return body


def accepted(agency: str, key: str, *, price: int = 289000, line: int = 1) -> Outcome:
    body = make_body(agency, key, price=price)
    return Outcome(location=SourceLocation("feed.csv", line, line), key=ListingKey(agency, key),
                   reference=f"REF-{key}", accepted=True, body=body, body_hash=body_hash(body),
                   requested_portals=["SL"], portals=list(body["portals"]))


def rejected(agency: str, key: str | None, *, line: int = 1) -> Outcome:
    from etl.issues import error
    return Outcome(location=SourceLocation("feed.csv", line, line),
                   key=ListingKey(agency, key) if key is not None else None, reference=f"REF-{key}",
                   accepted=False, issues=[error("E_PRICE_MISSING", "Prix absent", source_field="prix")])


def feed(agency: str, n: int, *, price: int = 289000, start: int = 0) -> list[Outcome]:
    return [accepted(agency, f"K{i:05d}", price=price, line=i + 1) for i in range(start, start + n)]


# ------------------------------------------------------------- state store URLs

import os
import uuid

import pytest

PG_SERVER = os.environ.get("ETL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> bool:
    import sqlalchemy as sa
    try:
        eng = sa.create_engine(PG_SERVER, connect_args={"connect_timeout": 3})
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


def pg_schema_url() -> tuple[str, Any]:
    """A fresh schema on the test server; returns its URL and a function that drops it."""
    import sqlalchemy as sa
    if not _pg_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL unreachable at {PG_SERVER} (CI is set: not skipping)")
        pytest.skip(f"PostgreSQL unreachable at {PG_SERVER}")
    schema = f"etl_load_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_SERVER)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()

    return f"{PG_SERVER}?options=-csearch_path%3D{schema}", drop


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL schema's URL, dropped after the test."""
    url, drop = pg_schema_url()
    try:
        yield url
    finally:
        drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.sqlite'}"
        return
    url, drop = pg_schema_url()
    try:
        yield url
    finally:
        drop()


# ------------------------------------------------------------- configs and feeds

import orjson
import yaml


def write_payloads(path: Path, outcomes: list[Outcome], *, truncate: bool = False) -> Path:
    lines = [orjson.dumps({"listing_key": [o.key.agency_id, o.key.source_key], "body": o.body}) for o in outcomes]
    data = b"\n".join(lines) + b"\n"
    if truncate:
        data = data[: len(data) - len(lines[-1]) // 2 - 1]
    path.write_bytes(data)
    return path


def write_config(dir: Path, *, base_url: str, token_url: str, agencies: dict[str, Path], state_url: str | None = None,
                 rate_limit: float = 500, concurrency: int = 8, max_attempts: int = 6, backoff_base: float = 0.05,
                 backoff_max: float = 2.0, timeout: float = 10, max_share: float = 0.3, min_count: int = 3,
                 intermediary: dict[str, str] | None = None, visibility_lag: float = 1.5,
                 extra: dict[str, Any] | None = None, agency_extra: dict[str, Any] | None = None) -> Path:
    """agencies.yaml for ``agencies`` (id → feed). ``extra``: top-level keys added or replaced (queue,
    webhook…); ``agency_extra``: keys merged into every agency (format, quotas, a URL source…)."""
    # visibility_lag: above the sandbox's default visibility delay (1 s), as a real setting is above AVIV's
    cfg = {
        "version": 1,
        "defaults": {
            "api": {"base_url": base_url, "token_url": token_url, "rate_limit": rate_limit,
                    "concurrency": concurrency, "max_attempts": max_attempts, "backoff_base": backoff_base,
                    "backoff_max": backoff_max, "timeout": timeout, "visibility_lag": visibility_lag},
            "state": state_url or f"sqlite:///{dir / 'state.sqlite'}",
            "reports_dir": str(dir / "reports"),
            "token_cache": str(dir / "tokens.json"),
            "mass_delete": {"max_share": max_share, "min_count": min_count},
        },
        "agencies": [
            {"id": a, "source": str(feed), "format": "payloads-jsonl", "portals": ["SL", "BD"],
             "credentials": {"client_id_env": "ETL_TEST_CLIENT_ID", "client_secret_env": "ETL_TEST_CLIENT_SECRET",
                             "intermediary_id": (intermediary or {}).get(a, f"int-{a}")},
             **(agency_extra or {})}
            for a, feed in agencies.items()
        ],
        **(extra or {}),
    }
    path = dir / "agencies.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


TEST_ENV = {"ETL_TEST_CLIENT_ID": "demo", "ETL_TEST_CLIENT_SECRET": "demo-secret"}


# ------------------------------------------------------------------- the sandbox

from etl.sandbox.server import running_sandbox  # noqa: E402,F401  (re-exported for the tests)


@pytest.fixture
def sandbox():
    with running_sandbox() as sb:
        yield sb


@pytest.fixture
def test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in TEST_ENV.items():
        monkeypatch.setenv(k, v)
