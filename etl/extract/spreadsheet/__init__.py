"""Spreadsheet feeds (.xlsx, .xlsm, .xls, .ods): see ``format.py``."""

from etl.extract.spreadsheet.format import FORMAT, SpreadsheetFormat

__all__ = ["FORMAT", "SpreadsheetFormat"]
