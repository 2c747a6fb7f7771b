"""second factor: TOTP secrets, recovery codes, trusted devices, the organisation's requirement

Revision ID: f2b2c0de2fa0
Revises: f1a1c0de5e55
Create Date: 2026-11-23 10:00:00

"""

import sqlalchemy as sa
from alembic import op

import coach_app.models.types

revision = "f2b2c0de2fa0"
down_revision = "f1a1c0de5e55"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN with a server default: no batch copy of a table others point at.
    op.add_column(
        "organizations",
        sa.Column("require_two_factor", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "two_factor",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=255), nullable=False),
        sa.Column("created_at", coach_app.models.types.UTCDateTime(), nullable=False),
        sa.Column("enabled_at", coach_app.models.types.UTCDateTime(), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_two_factor_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_two_factor")),
    )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", coach_app.models.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", coach_app.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recovery_codes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])
    op.create_table(
        "trusted_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("password_mark", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", coach_app.models.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", coach_app.models.types.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", coach_app.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trusted_devices_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_devices")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_trusted_devices_token_hash")),
    )
    op.create_index(op.f("ix_trusted_devices_user_id"), "trusted_devices", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_trusted_devices_user_id"), table_name="trusted_devices")
    op.drop_table("trusted_devices")
    op.drop_index(op.f("ix_recovery_codes_user_id"), table_name="recovery_codes")
    op.drop_table("recovery_codes")
    op.drop_table("two_factor")
    # A plain DROP COLUMN (SQLite 3.35+), as in e5a7c9b1d3f6: a batch copy of organizations
    # would trip the foreign keys every other table holds on it.
    op.drop_column("organizations", "require_two_factor")
