"""client_summaries: the per-client read model of the pipeline and the exceptions queue

Creates the table and a row for every existing client. The rows are built in SQL here, not
with the application's code (which may change after this revision): who the client is
(organisation, coach, archived, effective time zone) and empty figures stamped as of
1970-01-01, so every row starts stale. Stale rows are exact anyway (readers recompute them
live, docs/architecture.md "Read model"), and the fold job that runs every minute computes
them for real; on a large database run `flask rebuild-read-model` once after the upgrade.

Revision ID: a15c0de5a7e1
Revises: f6f6c0de4157
Create Date: 2026-12-03 18:00:00

"""

import sqlalchemy as sa
from alembic import op

import coach_app.models.types

revision = "a15c0de5a7e1"
down_revision = "f6f6c0de4157"
branch_labels = None
depends_on = None

# As SQLAlchemy writes datetimes on SQLite (with microseconds), so equality tests match.
STALE = "1970-01-01 00:00:00.000000"


def upgrade():
    op.create_table(
        "client_summaries",
        sa.Column("client_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column("next_task_id", sa.Integer(), nullable=True),
        sa.Column("next_rule", sa.String(length=32), nullable=True),
        sa.Column("next_due_at", coach_app.models.types.UTCDateTime(), nullable=True),
        sa.Column("on_time", sa.Integer(), nullable=False),
        sa.Column("counted", sa.Integer(), nullable=False),
        sa.Column("notes_same_day", sa.Integer(), nullable=False),
        sa.Column("notes_counted", sa.Integer(), nullable=False),
        sa.Column("stages", sa.JSON(), nullable=False),
        sa.Column("decided", sa.JSON(), nullable=False),
        sa.Column("as_of", coach_app.models.types.UTCDateTime(), nullable=False),
        sa.Column("fresh_until", coach_app.models.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("client_id"),
    )
    with op.batch_alter_table("client_summaries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_client_summaries_coach",
            ["organization_id", "coach_id", "archived", "timezone"],
            unique=False,
        )
        batch_op.create_index(
            "ix_client_summaries_org", ["organization_id", "archived", "timezone"], unique=False
        )
        batch_op.create_index("ix_client_summaries_fresh_until", ["fresh_until"], unique=False)
    empty = "CAST('[]' AS JSON)" if op.get_bind().dialect.name == "postgresql" else "'[]'"
    op.execute(
        "INSERT INTO client_summaries (client_id, organization_id, coach_id, archived, timezone,"
        " overdue, on_time, counted, notes_same_day, notes_counted, stages, decided, as_of,"
        " fresh_until) "
        "SELECT cp.id, cp.organization_id, cp.coach_id, cp.archived_at IS NOT NULL,"
        " COALESCE(u.timezone, o.timezone), 0, 0, 0, 0, 0,"
        f" {empty}, {empty}, '{STALE}', '{STALE}' "
        "FROM client_profiles cp JOIN users u ON u.id = cp.user_id"
        " JOIN organizations o ON o.id = cp.organization_id"
    )


def downgrade():
    with op.batch_alter_table("client_summaries", schema=None) as batch_op:
        batch_op.drop_index("ix_client_summaries_fresh_until")
        batch_op.drop_index("ix_client_summaries_org")
        batch_op.drop_index("ix_client_summaries_coach")
    op.drop_table("client_summaries")
