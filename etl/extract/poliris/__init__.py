"""The Poliris ("SeLoger transferts") format: ``FORMAT`` for the registry, and the reader's API."""

from etl.extract.poliris.format import FORMAT, PolirisFormat
from etl.extract.poliris.reader import COLUMNS, FIELD_COUNT, FIELD_NAMES, PolirisFeed, field_label, read_poliris

__all__ = ["COLUMNS", "FIELD_COUNT", "FIELD_NAMES", "FORMAT", "PolirisFeed", "PolirisFormat", "field_label", "read_poliris"]
