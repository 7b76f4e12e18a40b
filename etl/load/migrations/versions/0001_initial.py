"""Initial state store: listings, runs, journal, locks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "listings",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("source_key", sa.String(512), primary_key=True),
        sa.Column("offerer_estate_id", sa.String(512), nullable=False),
        sa.Column("classified_id", sa.String(64)),
        sa.Column("body_hash", sa.String(64)),
        sa.Column("body", sa.Text),
        sa.Column("etag", sa.String(64)),
        sa.Column("portals", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("publication_status", sa.String(64)),
        sa.Column("first_seen_run", sa.Integer),
        sa.Column("last_seen_run", sa.Integer),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_listings_oeid", "listings", ["agency_id", "offerer_estate_id"])
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
        sa.Column("counts", sa.Text),
    )
    op.create_index("ix_runs_agency", "runs", ["agency_id", "id"])
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("agency_id", sa.String(64), nullable=False),
        sa.Column("source_key", sa.String(512), nullable=False),
        sa.Column("offerer_estate_id", sa.String(512), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("classified_id", sa.String(64)),
        sa.Column("body_hash", sa.String(64)),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("traceparent", sa.String(64)),
        sa.Column("detail", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
    )
    op.create_index("ix_journal_pending", "journal", ["agency_id", "state"])
    op.create_table(
        "locks",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.Integer),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("acquired_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_index("ix_journal_pending", "journal")
    op.drop_table("journal")
    op.drop_index("ix_runs_agency", "runs")
    op.drop_table("runs")
    op.drop_index("ix_listings_oeid", "listings")
    op.drop_table("listings")
