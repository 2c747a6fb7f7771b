"""users.deactivated_at (an admin's deactivation) and an index for the audit log's person filter

Revision ID: f5e5c0dead00
Revises: f2b2c0de2fa0
Create Date: 2026-12-01 10:00:00

"""

import sqlalchemy as sa
from alembic import op

from coach_app.models.types import UTCDateTime

revision = "f5e5c0dead00"
down_revision = "f2b2c0de2fa0"
branch_labels = None
depends_on = None


def upgrade():
    # A plain nullable ADD COLUMN: no batch copy of `users`, which many tables reference.
    op.add_column("users", sa.Column("deactivated_at", UTCDateTime(), nullable=True))
    op.create_index(
        "ix_audit_events_org_actor_created",
        "audit_events",
        ["organization_id", "actor_id", "created_at"],
    )


def downgrade():
    op.drop_index("ix_audit_events_org_actor_created", table_name="audit_events")
    # A plain DROP COLUMN (SQLite 3.35+), for the same reason as above.
    op.drop_column("users", "deactivated_at")
