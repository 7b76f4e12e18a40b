"""rejections.csv: one row per issue, for Excel as French users open it.

UTF-8 with a BOM (without it Excel reads the accents as cp1252) and ``;`` as the
separator (the list separator of a French Windows locale, so a double-click
opens the file in columns).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from etl.report.atomic import atomic_path
from etl.report.fmt import neutralise_formula
from etl.report.rows import ANOMALY_COLUMNS, AnomalyRow

CSV_ENCODING = "utf-8-sig"
CSV_DELIMITER = ";"


def write_csv(rows: Iterable[AnomalyRow], path: Path) -> int:
    """Write the rows; returns how many were written (header excluded)."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding=CSV_ENCODING, newline="") as f:
        writer = csv.writer(f, delimiter=CSV_DELIMITER, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow(ANOMALY_COLUMNS)
        for row in rows:
            writer.writerow([neutralise_formula(v) if isinstance(v, str) else ("" if v is None else v)
                             for v in row])
            n += 1
    return n
