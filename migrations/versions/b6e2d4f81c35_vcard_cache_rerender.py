"""vcard cache: forget cards rendered before both modes' numbers and octet folding

Cards now carry the other mode's numbers, URLs unescaped and lines folded by
octets. Cached texts of the old form would make the directory export differ
from a fresh render until each entry next changes, so they are removed: a card
missing from the cache is rendered on the fly, and `flask cards rebuild`
fills the cache again (no schema change; downgrade has nothing to restore).

Revision ID: b6e2d4f81c35
Revises: b4e2d7c9a1f3
Create Date: 2026-12-02 14:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b6e2d4f81c35'
down_revision = 'b4e2d7c9a1f3'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('DELETE FROM vcard_cache')


def downgrade():
    op.execute('DELETE FROM vcard_cache')
