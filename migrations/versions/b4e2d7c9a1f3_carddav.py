"""carddav: device passwords, address-book snapshots behind sync tokens

Revision ID: b4e2d7c9a1f3
Revises: 7c3d9e1f4a20
Create Date: 2026-12-02 14:20:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = 'b4e2d7c9a1f3'
down_revision = '7c3d9e1f4a20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('device_password',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_device_password_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_password'))
    )
    with op.batch_alter_table('device_password', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_password_user_id'), ['user_id'], unique=False)
    op.create_table('carddav_snapshot',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('listing', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_carddav_snapshot'))
    )
    with op.batch_alter_table('carddav_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carddav_snapshot_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('carddav_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carddav_snapshot_created_at'))
    op.drop_table('carddav_snapshot')
    with op.batch_alter_table('device_password', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_password_user_id'))
    op.drop_table('device_password')
