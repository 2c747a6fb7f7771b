"""Outbox: a partial index of claimed rows by claim token, instead of (status, claimed_at).

Revision ID: a7c1a1c5e0f1
Revises: a15c0de5a7e1
Create Date: 2026-12-03 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c1a1c5e0f1"
down_revision = "a15c0de5a7e1"
branch_labels = None
depends_on = None

CLAIMED = sa.text("status = 'claimed'")


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        # Every status change of every row updated it; the rows in flight need only the new one.
        batch_op.drop_index("ix_outbox_messages_status_claimed")
        batch_op.create_index(
            "ix_outbox_messages_claim",
            ["claim_token", "claimed_at"],
            unique=False,
            sqlite_where=CLAIMED,
            postgresql_where=CLAIMED,
        )


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_messages_claim", sqlite_where=CLAIMED, postgresql_where=CLAIMED
        )
        batch_op.create_index(
            "ix_outbox_messages_status_claimed", ["status", "claimed_at"], unique=False
        )
