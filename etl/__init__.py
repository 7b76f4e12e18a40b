"""classifieds-etl: agency listing exports → AVIV Classified API v4."""

__version__ = "0.1.0"
