"""Write every report of a run into one directory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import orjson

from etl.report.atomic import atomic_path
from etl.report.csv_report import write_csv
from etl.report.fmt import agency_file_names
from etl.report.html_report import write_html
from etl.report.rows import anomaly_rows
from etl.report.summary import ConvertSummary
from etl.report.xlsx_report import write_xlsx

CSV_NAME = "rejections.csv"
HTML_NAME = "report.html"
XLSX_NAME = "report.xlsx"
SUMMARY_NAME = "summary.json"


def write_summary_json(summary: ConvertSummary, path: Path) -> None:
    data = orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_reports(summary: ConvertSummary, out_dir: Path, *,
                  hints: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Write rejections.csv, report.html, report-<agency>.html, report.xlsx and summary.json.

    ``hints`` maps an issue code to a general "how to fix" sentence shown above
    the listings that have it. Returns the paths written: keys ``csv``,
    ``html``, ``xlsx``, ``summary`` and ``html:<agency id>`` for each agency.
    summary.json is written last and lists the others (relative to ``out_dir``).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if summary.finished_at is None:
        summary.finish()
    paths: dict[str, Path] = {}

    rows = list(anomaly_rows(summary))  # bounded by the summary's per-agency limit
    write_csv(rows, out_dir / CSV_NAME)
    paths["csv"] = out_dir / CSV_NAME
    write_xlsx(summary, rows, out_dir / XLSX_NAME)
    paths["xlsx"] = out_dir / XLSX_NAME
    del rows

    agency_files = agency_file_names(a.agency_id for a in summary.agencies)
    write_html(summary, out_dir / HTML_NAME, hints=hints, agency_files=agency_files)
    paths["html"] = out_dir / HTML_NAME
    for agency_id, name in agency_files.items():
        write_html(summary, out_dir / name, [agency_id], hints=hints)
        paths[f"html:{agency_id}"] = out_dir / name

    summary.reports.update({"csv": CSV_NAME, "html": HTML_NAME, "xlsx": XLSX_NAME, "summary": SUMMARY_NAME})
    summary.agency_reports.update(agency_files)
    write_summary_json(summary, out_dir / SUMMARY_NAME)
    paths["summary"] = out_dir / SUMMARY_NAME
    return paths
