"""search term tier index: a common word's best candidates without reading every row

Revision ID: a7d3c9e1f5b8
Revises: f2c8a4e6b1d3
Create Date: 2026-12-06 21:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a7d3c9e1f5b8'
down_revision = 'f2c8a4e6b1d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('search_term', schema=None) as batch_op:
        batch_op.create_index(
            'ix_search_term_tier', ['weight', 'entity_type', 'term', 'entity_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('search_term', schema=None) as batch_op:
        batch_op.drop_index('ix_search_term_tier')
