"""Tables of the state store (SQLAlchemy Core). Timestamps are UTC epoch seconds.

The Alembic revisions in ``migrations/versions`` create exactly these tables;
a change here needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa

# The newest revision in migrations/versions (a test keeps the two in step).
HEAD_REVISION = "0005"

metadata = sa.MetaData()

# Tables in the same schema that are not ours: Procrastinate's (created by revision 0003 from its
# own SQL). Alembic's autogenerate must neither drop them nor compare them to ``metadata``.
FOREIGN_PREFIXES = ("procrastinate_",)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook: everything but the foreign tables."""
    return not (type_ == "table" and name is not None and name.startswith(FOREIGN_PREFIXES))

listings = sa.Table(
    "listings", metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("source_key", sa.String(512), primary_key=True),
    sa.Column("offerer_estate_id", sa.String(512), nullable=False),
    sa.Column("classified_id", sa.String(64)),
    sa.Column("body_hash", sa.String(64)),          # hash of the last body the API accepted
    sa.Column("body", sa.Text),                      # that body (canonical JSON)
    sa.Column("etag", sa.String(64)),
    sa.Column("portals", sa.Text),                   # JSON list
    sa.Column("status", sa.String(16), nullable=False),  # live | deleted
    sa.Column("publication_status", sa.String(64)),  # latest AVIV status (statuses endpoint or webhook)
    sa.Column("publication_at", sa.Float),           # its statusDate: an older status never replaces it
    sa.Column("publication_detail", sa.Text),        # JSON: portals, why, failed media (etl/load/statuses.py)
    sa.Column("first_seen_run", sa.Integer),
    sa.Column("last_seen_run", sa.Integer),
    sa.Column("updated_at", sa.Float, nullable=False),
)
sa.Index("ix_listings_oeid", listings.c.agency_id, listings.c.offerer_estate_id)
sa.Index("ix_listings_classified", listings.c.classified_id)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agency_id", sa.String(64), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("status", sa.String(16), nullable=False),  # running | done | failed | guarded | crashed | dry-run
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("counts", sa.Text),  # JSON
)
sa.Index("ix_runs_agency", runs.c.agency_id, runs.c.id)

journal = sa.Table(
    "journal", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=False),
    sa.Column("agency_id", sa.String(64), nullable=False),
    sa.Column("source_key", sa.String(512), nullable=False),
    sa.Column("offerer_estate_id", sa.String(512), nullable=False),
    sa.Column("op", sa.String(8), nullable=False),  # create | update | delete
    sa.Column("classified_id", sa.String(64)),
    sa.Column("body_hash", sa.String(64)),
    sa.Column("state", sa.String(12), nullable=False),  # pending | done | failed | resolved
    sa.Column("http_status", sa.Integer),
    sa.Column("traceparent", sa.String(64)),
    sa.Column("detail", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
)
sa.Index("ix_journal_pending", journal.c.agency_id, journal.c.state)

locks = sa.Table(
    "locks", metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("run_id", sa.Integer),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("acquired_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
)

# The validators (ETag / Last-Modified) of the feed the agency's last clean run downloaded, with the
# fingerprint of the configuration that converted it: an unchanged feed under an unchanged
# configuration needs no download, no convert and no request.
feed_cache = sa.Table(
    "feed_cache", metadata,
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("etag", sa.String(512)),
    sa.Column("last_modified", sa.String(64)),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("fetched_at", sa.Float, nullable=False),
)

# The outcome of each agency's queued run, per night (the queue's jobs, in Procrastinate's tables,
# say only succeeded/failed): what `worker --until-empty` exits with and reports. A retried job
# overwrites its agency's row, so the night holds each agency's last word.
queue_results = sa.Table(
    "queue_results", metadata,
    sa.Column("night", sa.String(32), primary_key=True),
    sa.Column("agency_id", sa.String(64), primary_key=True),
    sa.Column("exit_code", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),   # the report's kind: ok, locked, mass_delete…
    sa.Column("message", sa.Text),
    sa.Column("counts", sa.Text),                          # JSON
    sa.Column("job_id", sa.BigInteger),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("final", sa.Boolean, nullable=False),                # False: a transient failure, a retry follows
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
    sa.Column("finished_at", sa.Float, nullable=False),
)

# The rate limit shared across processes (etl/load/ratelimit.py): one row per credential, updated
# under a row lock. ``next_at`` and ``ring`` (the last starts, JSON) are in the database's clock.
rate_buckets = sa.Table(
    "rate_buckets", metadata,
    sa.Column("key", sa.String(64), primary_key=True),   # hash of (API, client id, intermediary)
    sa.Column("next_at", sa.Float, nullable=False),
    sa.Column("ring", sa.Text, nullable=False),
)

# AVIV's status callbacks as received (``classifieds-etl webhook``), once each: a redelivery has the
# same digest. ``applied_at`` is set once the status is folded into its listing (etl/load/statuses.py);
# a callback for a classified we do not know (yet) stays unapplied until a later fold finds it.
status_events = sa.Table(
    "status_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("intermediary_id", sa.String(64), nullable=False),
    sa.Column("classified_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("status_at", sa.Float, nullable=False),           # statusDate
    sa.Column("body", sa.Text, nullable=False),                 # the ClassifiedStatus, canonical JSON
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("applied_at", sa.Float),
)
sa.Index("ix_status_events_unapplied", status_events.c.applied_at, status_events.c.id)
