"""search words: editors' keywords, coordinators' synonyms, the word list

Revision ID: 7c3d9e1f4a20
Revises: 5e1f0a9c2b7d
Create Date: 2026-12-02 12:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c3d9e1f4a20'
down_revision = '5e1f0a9c2b7d'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('actor', 'role', 'collaboration_pattern'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('keywords', sa.Text(), nullable=False, server_default=''))
    op.create_table('search_word',
    sa.Column('word', sa.String(length=60).with_variant(sa.String(length=60, collation='C'), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_word'))
    )
    op.create_table('search_synonym',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_synonym'))
    )
    # The words already indexed, so compounds and typos are found at once.
    op.execute('INSERT INTO search_word (word) SELECT DISTINCT term FROM search_term')


def downgrade():
    op.drop_table('search_synonym')
    op.drop_table('search_word')
    for table in ('collaboration_pattern', 'role', 'actor'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('keywords')
