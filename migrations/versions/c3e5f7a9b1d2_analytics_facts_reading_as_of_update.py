"""analytics facts: the reading as of the row's computation

Revision ID: c3e5f7a9b1d2
Revises: d4f6a8b0c2e4
Create Date: 2026-11-22 01:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import coach_app.models.types


# revision identifiers, used by Alembic.
revision = 'c3e5f7a9b1d2'
down_revision = 'd4f6a8b0c2e4'
branch_labels = None
depends_on = None

_PAIRS = ('compliance', 'notes', 'check_in', 'thanks', 'opps_a', 'opps_b')


def upgrade():
    # Nullable: existing rows are read one by one until `flask rebuild-analytics` fills them.
    with op.batch_alter_table('analytics_opportunity_facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_open_due', coach_app.models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('band_asof', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('ok_mask_asof', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('bad_mask_asof', sa.Integer(), nullable=True))
        for pair in _PAIRS:
            batch_op.add_column(sa.Column(f'pair_{pair}_asof', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('analytics_opportunity_facts', schema=None) as batch_op:
        for pair in reversed(_PAIRS):
            batch_op.drop_column(f'pair_{pair}_asof')
        batch_op.drop_column('bad_mask_asof')
        batch_op.drop_column('ok_mask_asof')
        batch_op.drop_column('band_asof')
        batch_op.drop_column('next_open_due')
