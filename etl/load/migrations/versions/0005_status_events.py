"""AVIV's status callbacks, stored once each, and the latest status's date and detail per listing.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("listings") as batch:
        batch.add_column(sa.Column("publication_at", sa.Float))
        batch.add_column(sa.Column("publication_detail", sa.Text))
    op.create_index("ix_listings_classified", "listings", ["classified_id"])
    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("intermediary_id", sa.String(64), nullable=False),
        sa.Column("classified_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(64), nullable=False),
        sa.Column("status_at", sa.Float, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("applied_at", sa.Float),
    )
    op.create_index("ix_status_events_unapplied", "status_events", ["applied_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_status_events_unapplied", "status_events")
    op.drop_table("status_events")
    op.drop_index("ix_listings_classified", "listings")
    with op.batch_alter_table("listings") as batch:
        batch.drop_column("publication_detail")
        batch.drop_column("publication_at")
