"""Tables of the state store (SQLAlchemy Core). Timestamps are UTC epoch seconds.

The Alembic revisions in ``migrations/versions`` create exactly these tables;
a change here needs a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa

# The newest revision in migrations/versions (a test keeps the two in step).
HEAD_REVISION = "0002"

metadata = sa.MetaData()

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
    sa.Column("publication_status", sa.String(64)),  # latest AVIV status (statuses endpoint)
    sa.Column("first_seen_run", sa.Integer),
    sa.Column("last_seen_run", sa.Integer),
    sa.Column("updated_at", sa.Float, nullable=False),
)
sa.Index("ix_listings_oeid", listings.c.agency_id, listings.c.offerer_estate_id)

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
