"""The rate limit shared by every worker sending with one credential (``etl/load/ratelimit.py``).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


# One round trip per reservation: under load, every extra statement is a late start.
RESERVE = """
CREATE OR REPLACE FUNCTION etl_rate_reserve(p_key text, p_interval float8, p_window int, p_span float8)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    v_next float8;
    v_ring jsonb;
    v_now float8;
    v_start float8;
    n int;
BEGIN
    INSERT INTO rate_buckets (key, next_at, ring) VALUES (p_key, 0, '[]') ON CONFLICT (key) DO NOTHING;
    SELECT next_at, ring::jsonb INTO v_next, v_ring FROM rate_buckets WHERE key = p_key FOR UPDATE;
    -- read once the row is ours: the database's clock is every worker's clock
    v_now := extract(epoch FROM clock_timestamp());
    v_start := greatest(v_now, v_next);
    n := jsonb_array_length(v_ring);
    IF n >= p_window THEN
        -- the start p_window places back must be more than p_span old
        v_start := greatest(v_start, (v_ring ->> (n - p_window))::float8 + p_span);
    END IF;
    v_ring := v_ring || to_jsonb(v_start);
    IF n + 1 > p_window THEN
        v_ring := v_ring - 0;
    END IF;
    UPDATE rate_buckets SET next_at = v_start + p_interval, ring = v_ring::text WHERE key = p_key;
    RETURN v_start - extract(epoch FROM clock_timestamp());
END
$$;
"""


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("ring", sa.Text, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":  # the shared limit needs PostgreSQL's row locks
        op.get_bind().connection.driver_connection.execute(RESERVE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS etl_rate_reserve(text, float8, int, float8)")
    op.drop_table("rate_buckets")
