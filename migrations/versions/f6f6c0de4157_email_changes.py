"""email_changes: pending changes of a sign-in address, confirmed from the new address

Revision ID: f6f6c0de4157
Revises: f5e5c0dead00
Create Date: 2026-11-23 10:00:00

"""

import sqlalchemy as sa
from alembic import op

import coach_app.models.types

revision = "f6f6c0de4157"
down_revision = "f5e5c0dead00"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "email_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("new_email", sa.String(length=254), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", coach_app.models.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", coach_app.models.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", coach_app.models.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", coach_app.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_email_changes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_changes")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_email_changes_token_hash")),
    )
    op.create_index(
        op.f("ix_email_changes_user_id"), "email_changes", ["user_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_email_changes_user_id"), table_name="email_changes")
    op.drop_table("email_changes")
