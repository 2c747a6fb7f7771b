"""outbox: index (recipient_id, status, due_at) for the sweep's per-person claim

Revision ID: b7d1c2a9e4f0
Revises: c3e5f7a9b1d2
Create Date: 2026-11-22 01:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "b7d1c2a9e4f0"
down_revision = "c3e5f7a9b1d2"
branch_labels = None
depends_on = None


def upgrade():
    # The claim widens to each person's pending rows due soon: with this index it reads
    # only those, instead of every row of the person. It also serves lookups by recipient
    # alone, so the single-column index goes.
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_messages_recipient_status_due",
            ["recipient_id", "status", "due_at"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_outbox_messages_recipient_id"))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.drop_index("ix_outbox_messages_recipient_status_due")
