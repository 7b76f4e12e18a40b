"""`classifieds-etl convert` as a user runs it: files written, exit codes, no tracebacks."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "sample_feeds"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "etl", *args], capture_output=True, text=True, timeout=300)


def test_convert_writes_payloads_rejections_reports_and_summary(tmp_path):
    proc = run("convert", str(SAMPLES / "lumiere-immobilier.zip"), "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "payloads.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert set(first) == {"listing_key", "body"} and first["body"]["portals"]
    # The line carries the very body convert accepted (serialised once, while hashing it).
    from etl.pipeline import convert
    accepted = {o.key.source_key: o for o in convert(SAMPLES / "lumiere-immobilier.zip") if o.accepted}
    for line in lines:
        item = json.loads(line)
        outcome = accepted.pop(item["listing_key"]["source_key"])
        assert item["body"] == outcome.body and item["listing_key"]["agency_id"] == outcome.key.agency_id
    assert not accepted
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    agency = next(a for a in summary["agencies"] if a["agency_id"] == "lumiere-immo") \
        if isinstance(summary["agencies"], list) else summary["agencies"]["lumiere-immo"]
    assert agency["accepted"] == len(lines) and agency["rejected"] >= 1
    with open(tmp_path / "rejections.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert any(r["code"] == "E_PRICE_MISSING" and "champ 11" in r["champ source"] for r in rows)
    assert (tmp_path / "report.html").exists() and (tmp_path / "report.xlsx").exists()


def test_an_unreadable_source_exits_4_with_a_message_and_no_traceback(tmp_path):
    proc = run("convert", str(tmp_path / "absent.zip"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 4
    assert "absent.zip" in proc.stderr and "Traceback" not in proc.stderr


def test_a_broken_mapping_exits_2_naming_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mapping: bad\nformat: poliris\nrules:\n  - to: data.x\n    from: price\n", encoding="utf-8")
    proc = run("convert", str(SAMPLES / "groupe-sud.zip"), "--mapping", str(bad), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "bad.yaml:4" in proc.stderr and "Traceback" not in proc.stderr
