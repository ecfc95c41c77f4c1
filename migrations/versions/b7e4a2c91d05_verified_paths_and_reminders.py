"""verified paths and reminders: path checks, the sent log, mail preferences

Revision ID: b7e4a2c91d05
Revises: 87071be86281
Create Date: 2026-12-02 14:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e4a2c91d05'
down_revision = '87071be86281'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('path_check',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_point_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Enum('reached', 'failed', name='call_outcome', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('source', sa.Enum('drill', 'call_out', 'editor', name='check_source', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['contact_point_id'], ['contact_point.id'], name=op.f('fk_path_check_contact_point_id_contact_point'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_path_check_user_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_path_check'))
    )
    op.create_index('ix_path_check_point_at', 'path_check', ['contact_point_id', 'at'], unique=False)
    op.create_table('reminder_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_reminder_sent_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_sent')),
    sa.UniqueConstraint('user_id', 'kind', 'day', name=op.f('uq_reminder_sent_user_id_kind_day'))
    )
    op.create_index(op.f('ix_reminder_sent_user_id'), 'reminder_sent', ['user_id'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminder_frequency', sa.Enum('daily', 'weekly', 'off', name='reminder_frequency', native_enum=False, create_constraint=True, length=24), nullable=False, server_default='weekly'))
        batch_op.add_column(sa.Column('mode_notices', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint('reminder_frequency', type_='check')
        batch_op.drop_column('mode_notices')
        batch_op.drop_column('reminder_frequency')
    op.drop_index(op.f('ix_reminder_sent_user_id'), table_name='reminder_sent')
    op.drop_table('reminder_sent')
    op.drop_index('ix_path_check_point_at', table_name='path_check')
    op.drop_table('path_check')
