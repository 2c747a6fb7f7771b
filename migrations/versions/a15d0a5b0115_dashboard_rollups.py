"""dashboard rollups: settled fact readings summed per grain, and each organisation's mark

Revision ID: a15d0a5b0115
Revises: a7c1a1c5e0f1
Create Date: 2026-12-03 18:00:00.000000

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import coach_app.models.types


# revision identifiers, used by Alembic.
revision = 'a15d0a5b0115'
down_revision = 'a7c1a1c5e0f1'
branch_labels = None
depends_on = None

_KEYS = ('grain', 'organization_id', 'coach_id', 'interview_month', 'rounds', 'industry',
         'outcome', 'band', 'hours_bucket', 'is_offer', 'ok_mask', 'bad_mask')
_COUNTERS = ('opportunities', 'compliance_num', 'compliance_den', 'same_day_notes_num',
             'same_day_notes_den', 'check_in_num', 'check_in_den', 'rejection_thanks_num',
             'rejection_thanks_den', 'compliance_opps', 'same_day_notes_opps', 'check_in_opps',
             'rejection_thanks_opps', 'offer_num', 'offer_den')


def upgrade():
    op.create_table(
        'analytics_rollups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('grain', sa.String(length=8), nullable=False),
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('coach_id', sa.Integer(), nullable=False),
        sa.Column('interview_month', sa.String(length=7), nullable=False),
        sa.Column('rounds', sa.Integer(), nullable=False),
        sa.Column('industry', sa.String(length=100), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('band', sa.String(length=8), nullable=False),
        sa.Column('hours_bucket', sa.String(length=16), nullable=False),
        sa.Column('is_offer', sa.Integer(), nullable=False),
        sa.Column('ok_mask', sa.Integer(), nullable=False),
        sa.Column('bad_mask', sa.Integer(), nullable=False),
        *[sa.Column(c, sa.BigInteger(), nullable=False) for c in _COUNTERS],
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint(*_KEYS, name='uq_analytics_rollups_key'),
    )
    op.create_table(
        'analytics_rollup_marks',
        sa.Column('organization_id', sa.Integer(), nullable=False),
        sa.Column('as_of', coach_app.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('organization_id'),
    )
    # Fill them from the facts already there, exact as of now (the same code as
    # `flask rebuild-analytics`, so the two can never disagree on what a rollup holds).
    from coach_app.services.analytics_rollups import rebuild_rollups

    rebuild_rollups(op.get_bind(), None, datetime.now(UTC))


def downgrade():
    op.drop_table('analytics_rollup_marks')
    op.drop_table('analytics_rollups')
