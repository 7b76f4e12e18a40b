"""The AVIV Classified API v4 body: its types, its schema check and its canonical form.

- ``etl.model.classified``: the request body as pydantic-validated TypedDicts, generated
  from the official spec by ``etl.model.generate``;
- ``etl.model.check``: ``check_body(body) -> list[Issue]`` (codes ``E_SCHEMA_*``);
- ``etl.model.canonical``: ``canonical_json`` and ``content_hash`` (change detection).
"""
