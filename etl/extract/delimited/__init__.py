"""Delimited text feeds (CSV, ``;``/``,``/tab/``|``): see ``format.py``."""

from etl.extract.delimited.format import FORMAT, DelimitedFormat

__all__ = ["FORMAT", "DelimitedFormat"]
