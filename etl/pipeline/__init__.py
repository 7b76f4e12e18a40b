"""The conductor: the one place that joins the stages (extract → map → check → load → report).

Flows: ``convert`` (``convert.py``, and its command in ``convert_cli.py``), the nightly ``run``
and ``plan`` (``run.py``), ``status`` (``status.py``), the ``demo`` (``demo.py``). Stages never
import this package nor each other; they meet here through the types in ``etl/records.py``,
``etl/outcome.py`` and ``etl/issues.py``.
"""

from etl.pipeline.convert import AgencyOptions, Converter, convert, convert_feed, open_source

__all__ = ["AgencyOptions", "Converter", "convert", "convert_feed", "open_source"]
