"""The queue: Procrastinate's schema (PostgreSQL only) and the per-night results of queued runs.

Procrastinate's SQL is applied from a copy frozen with this revision
(``migrations/sql/procrastinate-3.10.0.sql``, its ``schema.sql``), not read from the installed
package: a revision must do the same thing forever. Upgrading Procrastinate past 3.10 means a new
revision applying its ``sql/migrations/*.sql`` files of the versions in between (pyproject pins
the minor version for that reason).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PROCRASTINATE_SQL = Path(__file__).resolve().parents[1] / "sql" / "procrastinate-3.10.0.sql"


def upgrade() -> None:
    op.create_table(
        "queue_results",
        sa.Column("night", sa.String(32), primary_key=True),
        sa.Column("agency_id", sa.String(64), primary_key=True),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("counts", sa.Text),
        sa.Column("job_id", sa.BigInteger),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer),
        sa.Column("finished_at", sa.Float, nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":  # the queue needs PostgreSQL; SQLite stores only run inline
        # the raw driver: the script is many statements with $$-quoted bodies and literal % signs
        bind.connection.driver_connection.execute(PROCRASTINATE_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
                   "procrastinate_workers CASCADE")
        op.execute("DROP TYPE IF EXISTS procrastinate_job_event_type, procrastinate_job_status CASCADE")
    op.drop_table("queue_results")
