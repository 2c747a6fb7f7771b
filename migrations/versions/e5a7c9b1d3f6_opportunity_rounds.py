"""opportunities.rounds: rounds logged so far, and an index for the pipeline's stages

Revision ID: e5a7c9b1d3f6
Revises: b7d1c2a9e4f0
Create Date: 2026-11-22 04:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e5a7c9b1d3f6"
down_revision = "b7d1c2a9e4f0"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN with a default (no batch table copy), then one backfill.
    op.add_column(
        "opportunities",
        sa.Column("rounds", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    # Rounds are numbered in the order they are logged, so the count is the latest round.
    op.execute(
        "UPDATE opportunities SET rounds = "
        "(SELECT count(*) FROM interviews WHERE interviews.opportunity_id = opportunities.id)"
    )
    # The new index serves lookups by client alone too, so the single-column one goes.
    op.create_index(
        "ix_opportunities_client_stage", "opportunities", ["client_id", "outcome", "rounds"]
    )
    op.drop_index("ix_opportunities_client_id", table_name="opportunities")


def downgrade():
    op.create_index("ix_opportunities_client_id", "opportunities", ["client_id"])
    op.drop_index("ix_opportunities_client_stage", table_name="opportunities")
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would trip the foreign
    # keys that interviews hold on it.
    op.drop_column("opportunities", "rounds")
