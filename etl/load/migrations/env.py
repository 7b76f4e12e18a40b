"""Alembic environment for the loader's state store.

The store runs migrations itself (``StateStore.open``) and hands over its
connection; the ``alembic`` command line works too with ``-x url=…``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from etl.load.schema import include_name, metadata

config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
