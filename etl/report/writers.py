"""Write every report of a run into one directory."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import orjson

from etl.report.atomic import atomic_path
from etl.report.csv_report import write_csv
from etl.report.fmt import agency_file_names
from etl.report.html_report import render_agency_html, render_run_html, write_text
from etl.report.i18n import Lang
from etl.report.outdir import clean_previous, prepare_out_dir
from etl.report.rows import anomaly_rows
from etl.report.story import build_stories
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


def write_reports(summary: ConvertSummary, out_dir: Path, *, lang: Lang = "fr", languages: Mapping[str, Lang] | None = None,
                  keep: tuple[str, ...] = ()) -> dict[str, Path]:
    """Write rejections.csv, report.html, report.xlsx, report-<agency>.html / .xlsx and summary.json.

    ``out_dir`` is created if missing (``OutputDirError`` when it cannot be written);
    when reused, the previous run's own reports are removed first (except ``keep``),
    so no stale agency report sits beside the new ones. ``lang`` is the operator's
    language; each agency's files are in its own (``summary.runs[id].language``, else
    ``languages[id]``, else French).
    The words of each code come from ``etl.report.i18n``. Returns the paths written: keys ``csv``, ``html``, ``xlsx``,
    ``summary``, ``html:<agency id>`` and ``xlsx:<agency id>``. summary.json is
    written last and lists the others (relative to ``out_dir``).
    """
    prepare_out_dir(out_dir)
    clean_previous(out_dir, keep=keep)
    if summary.finished_at is None:
        summary.finish()
    paths: dict[str, Path] = {}

    rows = list(anomaly_rows(summary))  # bounded by the summary's per-agency limit
    write_csv(rows, out_dir / CSV_NAME)
    paths["csv"] = out_dir / CSV_NAME
    del rows
    write_xlsx(summary, out_dir / XLSX_NAME, lang=lang)
    paths["xlsx"] = out_dir / XLSX_NAME

    ids = [a.agency_id for a in summary.agencies]
    html_files = agency_file_names(ids)
    xlsx_files = agency_file_names(ids, suffix=".xlsx")
    write_text(out_dir / HTML_NAME, render_run_html(summary, lang=lang, agency_files=html_files))
    paths["html"] = out_dir / HTML_NAME
    for story in build_stories(summary, languages=languages):
        aid = story.agency_id
        write_text(out_dir / html_files[aid], render_agency_html(story))
        paths[f"html:{aid}"] = out_dir / html_files[aid]
        if len(ids) == 1 and story.lang == lang:  # one agency: its workbook is the run's
            with atomic_path(out_dir / xlsx_files[aid]) as tmp:
                shutil.copyfile(out_dir / XLSX_NAME, tmp)
        else:
            write_xlsx(summary, out_dir / xlsx_files[aid], [aid], lang=story.lang)
        paths[f"xlsx:{aid}"] = out_dir / xlsx_files[aid]

    summary.reports.update({"csv": CSV_NAME, "html": HTML_NAME, "xlsx": XLSX_NAME, "summary": SUMMARY_NAME})
    summary.agency_reports.update(html_files)
    summary.agency_workbooks.update(xlsx_files)
    write_summary_json(summary, out_dir / SUMMARY_NAME)
    paths["summary"] = out_dir / SUMMARY_NAME
    return paths
