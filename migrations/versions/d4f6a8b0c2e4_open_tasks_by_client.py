"""open tasks by client: partial index for the pipeline and the exceptions queue

Revision ID: d4f6a8b0c2e4
Revises: 5cc48f0620b5
Create Date: 2026-11-22 01:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d4f6a8b0c2e4"
down_revision = "5cc48f0620b5"
branch_labels = None
depends_on = None

OPEN = "completed_at IS NULL AND waived_reason IS NULL"


def upgrade():
    # A plain CREATE INDEX (no batch table copy): the task table is the largest one.
    op.create_index(
        "ix_follow_up_tasks_open_client_due",
        "follow_up_tasks",
        ["client_id", "due_at", "rule"],
        unique=False,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade():
    op.drop_index("ix_follow_up_tasks_open_client_due", table_name="follow_up_tasks")
