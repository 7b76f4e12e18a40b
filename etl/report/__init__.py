"""Run summary and the reports agencies and operators read (CSV, HTML, XLSX, JSON).

Entry points: ``etl.report.summary.ConvertSummary`` (fed one Outcome at a time)
and ``etl.report.writers.write_reports``. Kept import-free so the pipeline can
use the summary without loading openpyxl and Jinja2.
"""
