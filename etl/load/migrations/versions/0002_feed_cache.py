"""What the last clean run downloaded from each agency's URL feed (conditional GET validators).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_cache",
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("etag", sa.String(512)),
        sa.Column("last_modified", sa.String(64)),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("fetched_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_cache")
