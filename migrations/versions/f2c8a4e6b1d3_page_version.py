"""page version: the change counter the page cache is keyed by

Revision ID: f2c8a4e6b1d3
Revises: e5a1c7d3b9f2
Create Date: 2026-12-06 18:20:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2c8a4e6b1d3'
down_revision = 'e5a1c7d3b9f2'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table('page_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('epoch', sa.String(length=32), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page_version'))
    )
    op.bulk_insert(table, [{'id': 1, 'epoch': secrets.token_hex(16), 'n': 0}])


def downgrade():
    op.drop_table('page_version')
