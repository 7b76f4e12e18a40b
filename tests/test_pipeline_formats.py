"""Feed formats are plug-ins: content decides the format, what no format reads is refused by name,
and a format written in a test plugs in end to end without touching any other module."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from oracle import spec_validator
from test_load_helpers import TEST_ENV, running_sandbox, sandbox, test_env, write_config  # noqa: F401

import etl.extract.registry as registry
from etl.cli import main
from etl.extract.base import NOT_MINE, NOTHING, Detection, Feed, FeedFormat
from etl.extract.container import Container
from etl.extract.poliris.writer import annonces_bytes, row_values
from etl.issues import error
from etl.records import ExtractResult, FeedFacts, RecordError, SourceLocation, SourceRecord

SAMPLES = Path(__file__).resolve().parents[1] / "sample_feeds"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --------------------------------------------------------------------------- unknown content

def _xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Référence", "Prix", "Ville"])
    wb.active.append(["A1", 250000, "Lyon"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


UNKNOWN: dict[str, tuple[str, bytes, str]] = {
    # name: (file name, content, what the refusal must say it looks like)
    "kyero-xml": ("feed.xml", b'<?xml version="1.0" encoding="UTF-8"?>\n<root><kyero><feed_version>3</feed_version>'
                  b"</kyero><property><id>1</id><price>250000</price></property></root>\n",
                  "flux XML (racine <root>, probablement Kyero v3)"),
    "semicolon-csv": ("stock.csv", "Référence;Type;Prix;Ville\nA1;Appartement;250 000;Lyon\nA2;Maison;495 000;Nice\n"
                      .encode("cp1252"), "fichier CSV (séparateur « ; », 4 colonnes, en-tête : Référence, Type, Prix, Ville)"),
    "xlsx": ("stock.xlsx", _xlsx(), "classeur Excel (.xlsx)"),
    "pdf": ("Annonces.pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n", "document PDF"),
    "random-bytes": ("Annonces.csv", random.Random(7).randbytes(8192), "fichier binaire"),
}


@pytest.fixture
def poliris_only() -> Iterator[None]:
    """Only Poliris registered: the refusal path whatever other formats exist by now."""
    saved = dict(registry.formats())
    for name in saved:
        if name != "poliris":
            registry.unregister(name)
    try:
        yield
    finally:
        registry.formats().clear()
        registry.formats().update(saved)


def _as_source(tmp_path: Path, name: str, data: bytes, zipped: bool) -> Path:
    if not zipped:
        path = tmp_path / name
        path.write_bytes(data)
        return path
    path = tmp_path / "envoi.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
        zf.writestr("lisez-moi.txt", b"export du 12/03")
    return path


@pytest.mark.parametrize("zipped", [False, True], ids=["bare", "zipped"])
@pytest.mark.parametrize("case", list(UNKNOWN))
def test_content_no_format_reads_is_refused_with_exit_4_naming_what_it_looks_like(
        tmp_path: Path, case: str, zipped: bool, poliris_only: None, capsys: pytest.CaptureFixture[str]) -> None:
    name, data, looks_like = UNKNOWN[case]
    source = _as_source(tmp_path, name, data, zipped)
    out = tmp_path / "out"
    assert main(["convert", str(source), "--out", str(out)]) == 4
    err = capsys.readouterr().err
    assert looks_like in err
    assert "format non pris en charge par cette configuration" in err
    assert "E_LINE_MALFORMED" not in err  # never read as a broken Poliris line
    if zipped:
        assert f"son plus gros fichier, {name}" in err or looks_like == "classeur Excel (.xlsx)"
    assert not (out / "payloads.jsonl").exists()
    assert not _CONTROL.search(err)


def _docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    return buf.getvalue()


NOBODY_READS: dict[str, tuple[str, bytes, str]] = {
    # with every format registered: content no format (nor any mapping) reads
    "unknown-xml": ("stock.xml", b'<?xml version="1.0"?>\n<inventory><item><sku>1</sku></item><item><sku>2</sku></item></inventory>\n',
                    "flux XML (racine <inventory>)"),
    "json": ("annonces.json", b'[{"ref": "A1", "prix": 250000}]\n', "fichier JSON"),
    "docx": ("annonces.docx", _docx(), "document Word (.docx)"),
    "pdf": UNKNOWN["pdf"],
    "random-bytes": UNKNOWN["random-bytes"],
}


@pytest.mark.parametrize("zipped", [False, True], ids=["bare", "zipped"])
@pytest.mark.parametrize("case", list(NOBODY_READS))
def test_content_no_registered_format_reads_is_refused_by_name(
        tmp_path: Path, case: str, zipped: bool, capsys: pytest.CaptureFixture[str]) -> None:
    name, data, looks_like = NOBODY_READS[case]
    source = _as_source(tmp_path, name, data, zipped)
    out = tmp_path / "out"
    assert main(["convert", str(source), "--out", str(out)]) == 4
    err = capsys.readouterr().err
    assert looks_like in err and "non pris en charge" in err
    assert not (out / "payloads.jsonl").exists()
    assert not _CONTROL.search(err)


def test_a_refused_feed_reaches_the_run_report_without_its_control_bytes(
        tmp_path: Path, sandbox: Any, test_env: None, poliris_only: None) -> None:
    hostile = "annonces\x07\x1b[31m.dat"
    source = _as_source(tmp_path, hostile, random.Random(3).randbytes(4096), zipped=True)
    cfg = write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url, agencies={"ag": source},
                       agency_extra={"format": "auto"})
    out = tmp_path / "reports"
    assert main(["run", "--config", str(cfg), "--out", str(out)]) == 4
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "fichier binaire" in json.dumps(summary, ensure_ascii=False)
    for report in out.iterdir():
        if report.suffix in (".html", ".json", ".csv"):
            text = report.read_text(encoding="utf-8")
            assert not _CONTROL.search(text), f"{report.name} holds a control character"
    assert sandbox.classifieds() == []


def test_an_empty_feed_converts_to_nothing_with_a_warning_not_an_unknown_format(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for i, data in enumerate((b"", b"\r\n\r\n", b"\xef\xbb\xbf")):
        source = tmp_path / f"e{i}" / "Annonces.csv"
        source.parent.mkdir()
        source.write_bytes(data)
        out = tmp_path / f"out{i}"
        assert main(["convert", str(source), "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["totals"]["read"] == 0
        assert summary["sources"][0]["format"] == "poliris"
        assert any("aucune annonce" in p for p in summary["sources"][0]["problems"])
        assert (out / "payloads.jsonl").read_bytes() == b""


def test_detected_format_is_logged_and_written_to_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["convert", str(SAMPLES / "groupe-sud.zip"), "--out", str(out)]) == 0
    assert "export Poliris (SeLoger) (format poliris)" in capsys.readouterr().err
    source = json.loads((out / "summary.json").read_text(encoding="utf-8"))["sources"][0]
    assert (source["format"], source["dialect"], source["encoding"]) == ("poliris", "4.12", "cp1252")


# --------------------------------------------------------------------------- a format of the test's own

class JsonLinesFeed(Feed):
    def __init__(self, fmt: FeedFormat, container: Container, agency_id: str | None) -> None:
        self.format = fmt
        self.issues = []
        self._container = container
        self._agency_id = agency_id
        self.facts = FeedFacts(container.name, format=fmt.name)

    @property
    def source(self) -> str:
        return self._container.name

    @property
    def columns(self) -> Mapping[str, int]:
        return JsonLinesFormat.COLUMNS

    def records(self) -> Iterator[ExtractResult]:
        self.facts = FeedFacts(self.source, format=self.format.name, encoding="utf-8")
        with self._container.open() as stream:
            for n, raw in enumerate(io.BufferedReader(stream), 1):  # type: ignore[arg-type]
                if not raw.strip():
                    continue
                self.facts.records += 1
                where = SourceLocation(self.source, n, self.facts.records)
                try:
                    item = json.loads(raw)
                except ValueError:
                    self.facts.errors += 1
                    yield RecordError(where, [error("E_JSON", f"{where} : ligne JSON illisible")])
                    continue
                values = [str(item.get(name, "")) for name in JsonLinesFormat.COLUMNS]
                yield SourceRecord(item.get("agency") or self._agency_id or "", str(item.get("ref", "")), where,
                                   values, JsonLinesFormat.COLUMNS)


class JsonLinesFormat(FeedFormat):
    name: ClassVar[str] = "jsonl-test"
    title: ClassVar[str] = "annonces JSON lines (format de test)"
    COLUMNS: ClassVar[dict[str, int]] = {n: i for i, n in enumerate(
        ("agency", "ref", "kind", "price", "postcode", "city", "area", "rooms", "text"))}

    def detect(self, container: Container) -> Detection:
        if container.kind != "file":
            return NOT_MINE
        first = container.head().split(b"\n", 1)[0]
        try:
            item = json.loads(first)
        except ValueError:
            return NOT_MINE
        return Detection(0.9, "JSON lines") if isinstance(item, dict) and "ref" in item else NOT_MINE

    def open(self, container: Container, *, agency_id: str | None = None,
             options: Mapping[str, Any] = NOTHING) -> Feed:
        return JsonLinesFeed(self, container, agency_id)

    def label(self, name: str) -> str:
        return f"clé « {name} »"


MAPPING = """\
mapping: jsonl-test
format: jsonl-test
identity:
  marketing_key: ref
tables:
  kind:
    appartement: {type: APARTMENT, sub: {apartment: MULTI_STOREY}}
    maison: {type: HOUSE, sub: {house: SINGLE_FAMILY_HOUSE}}
rules:
  - {to: data.distributionType, value: BUY}
  - {to: data.estateType, from: kind, table: kind, column: type, required: true}
  - {to: data.estateSubType, from: kind, table: kind, column: sub}
  - {to: data.location.postalcode, from: postcode, convert: postal_code, required: true}
  - {to: data.location.city, from: city, convert: text, required: true}
  - {to: data.location.street, value: ""}
  - {to: data.location.houseNumber, value: ""}
  - {to: data.location.country, value: FRA}
  - {to: data.prices.currency, value: EUR}
  - {to: data.prices.buy.price.amount, from: price, convert: positive_amount, required: true,
     code: E_PRICE_MISSING, message: "Prix absent."}
  - {to: data.spaces.residential.livingSpace, from: area, convert: amount}
  - {to: data.spaces.spaceMeasureUnit, value: SQUARE_METER}
  - {to: data.structure.rooms.numberOfRooms, from: rooms, convert: half_count}
  - {to: data.texts.description.fr, from: text, convert: text, required: true}
"""


def _jsonl_feed(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _listing(i: int, *, price: int = 250_000, agency: str = "ag") -> dict[str, Any]:
    return {"agency": agency, "ref": f"J{i:03d}", "kind": "Appartement" if i % 2 else "maison",
            "price": str(price + i), "postcode": "69003", "city": "Lyon", "area": "72,5", "rooms": "3",
            "text": f"Bel appartement lumineux numéro {i}, proche des commerces et des transports."}


@pytest.fixture
def jsonl_format() -> Iterator[JsonLinesFormat]:
    fmt = JsonLinesFormat()
    registry.register(fmt)
    try:
        yield fmt
    finally:
        registry.unregister(fmt.name)


def _mapping(tmp_path: Path) -> Path:
    path = tmp_path / "jsonl-test.yaml"
    path.write_text(MAPPING, encoding="utf-8")
    return path


def test_a_format_registered_by_a_test_converts_end_to_end(tmp_path: Path, jsonl_format: JsonLinesFormat) -> None:
    rows = [_listing(i) for i in range(5)] + [{**_listing(9), "price": ""}]
    source = _jsonl_feed(tmp_path / "stock.jsonl", rows)
    out = tmp_path / "out"
    assert main(["convert", str(source), "--mapping", str(_mapping(tmp_path)), "--out", str(out)]) == 0
    lines = [json.loads(line) for line in (out / "payloads.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [p["listing_key"]["source_key"] for p in lines] == [f"J{i:03d}" for i in range(5)]
    validator = spec_validator()
    for p in lines:
        assert not list(validator.iter_errors(p["body"])), p["body"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["sources"][0]["format"] == "jsonl-test"
    assert summary["totals"]["read"] == 6 and summary["totals"]["rejected"] == 1
    rejections = (out / "rejections.csv").read_text(encoding="utf-8-sig")
    assert "J009" in rejections and "clé « price »" in rejections


def test_a_mapping_of_another_format_refuses_the_feed(tmp_path: Path, jsonl_format: JsonLinesFormat,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = main(["convert", str(SAMPLES / "groupe-sud.zip"), "--mapping", str(_mapping(tmp_path)), "--out", str(out)])
    assert code == 4
    err = capsys.readouterr().err
    assert "export Poliris (SeLoger), alors que la configuration attend un annonces JSON lines" in err
    assert not (out / "payloads.jsonl").exists()
    assert main(["convert", str(SAMPLES / "groupe-sud.zip"), "--format", "jsonl-test", "--out", str(out)]) == 4


def test_a_format_registered_by_a_test_runs_against_the_sandbox(tmp_path: Path, sandbox: Any, test_env: None,
                                                               jsonl_format: JsonLinesFormat) -> None:
    source = _jsonl_feed(tmp_path / "stock.jsonl", [_listing(i) for i in range(4)])
    cfg = write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url, agencies={"ag": source},
                       agency_extra={"format": "auto", "mapping": str(_mapping(tmp_path))})
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "r1")]) == 0
    assert sorted(c["offererEstateId"] for c in sandbox.classifieds()) == [f"ag-J{i:03d}" for i in range(4)]
    load = json.loads((tmp_path / "r1" / "load.json").read_text(encoding="utf-8"))
    assert load["agencies"][0]["counts"]["created"] == 4


# --------------------------------------------------------------------------- one-off imports

def _poliris_rows(n: int, *, start: int = 0, price: int = 200_000) -> list[list[str]]:
    from etl.feedgen import listings

    rows = [row_values(r, 329) for r in listings(start + n, agencies=("ag",), seed=11)][start:]
    for i, r in enumerate(rows):
        r[10] = str(price + 1000 * (start + i))  # field 11: price
    return rows


def test_a_partial_import_creates_and_updates_only_and_the_next_night_is_unaffected(
        tmp_path: Path, sandbox: Any, test_env: None) -> None:
    from etl.agencies import load_config
    from etl.pipeline.sources import outcomes

    nightly = tmp_path / "nightly" / "Annonces.csv"
    nightly.parent.mkdir()
    rows = _poliris_rows(130)
    nightly.write_bytes(annonces_bytes(rows))
    cfg = write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url, agencies={"ag": nightly},
                       agency_extra={"format": "auto"})
    loaded = load_config(cfg)
    accepted = {o.key.source_key for o in outcomes(loaded, loaded.agency("ag"), nightly, FeedFacts(str(nightly)))
                if o.accepted and o.key is not None}
    rows = [r for r in rows if r[174] in accepted][:100]  # feedgen makes a few listings this contract refuses
    nightly.write_bytes(annonces_bytes(rows))
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "n1")]) == 0
    live = len(sandbox.classifieds())
    assert live == 100

    # ten listings by hand: five corrected prices of live ones, five new
    published = {c["offererEstateId"] for c in sandbox.classifieds()}
    corrected = [r for r in rows if f"ag-{r[174]}" in published][:5]
    for r in corrected:
        r[10] = str(int(r[10]) + 7_000)
    new = [r for r in _poliris_rows(140, start=100) if r[174] not in {x[174] for x in rows}]
    batch = tmp_path / "batch" / "Annonces.csv"
    batch.parent.mkdir()
    batch.write_bytes(annonces_bytes(corrected + new[:5]))
    seq = sandbox.last_seq()
    code = main(["run", "--config", str(cfg), "--agency", "ag", "--source", str(batch), "--partial",
                 "--out", str(tmp_path / "partial")])
    assert code == 0
    methods = sorted(c["method"] for c in sandbox.requests(since=seq, kind="api"))
    created = json.loads((tmp_path / "partial" / "load.json").read_text(encoding="utf-8"))["agencies"][0]["counts"]
    assert "DELETE" not in methods
    assert methods.count("PUT") == 5 and methods.count("POST") == created["created"] == 5 and created["rejected"] == 0
    assert len(sandbox.classifieds()) == live + created["created"]

    # the next nightly run reads the full export again, with the same corrections and the new listings
    nightly.write_bytes(annonces_bytes(rows + new[:5]))
    seq = sandbox.last_seq()
    assert main(["run", "--config", str(cfg), "--out", str(tmp_path / "n2")]) == 0
    assert sandbox.requests(since=seq, kind="api") == []


def test_source_and_partial_need_one_agency(tmp_path: Path, sandbox: Any, test_env: None,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config(tmp_path, base_url=sandbox.base_url, token_url=sandbox.token_url,
                       agencies={"ag": SAMPLES / "groupe-sud.zip"})
    assert main(["run", "--config", str(cfg), "--source", str(SAMPLES / "groupe-sud.zip"), "--partial"]) == 2
    assert "précisez --agency" in capsys.readouterr().err
