"""card change log: cheap CardDAV syncs of large books

Revision ID: c3a9d7e5f1b2
Revises: b7e4a2c91d05
Create Date: 2026-12-06 07:10:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'c3a9d7e5f1b2'
down_revision = 'b7e4a2c91d05'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('card_change',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('variants', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', 'entity_type', 'entity_id', name=op.f('pk_card_change'))
    )
    with op.batch_alter_table('card_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_card_change_changed_at'), ['changed_at'], unique=False)
    sequence = op.create_table('card_sequence',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('floor', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_sequence'))
    )
    # Tokens given before this revision named a listing, not a sequence:
    # their clients are asked to sync anew once.
    op.bulk_insert(sequence, [{'id': 1, 'seq': 0, 'floor': 0}])


def downgrade():
    op.drop_table('card_sequence')
    with op.batch_alter_table('card_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_card_change_changed_at'))
    op.drop_table('card_change')
