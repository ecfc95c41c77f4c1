"""vcard cache: forget cards rendered before the app's own X-KONTAKTVAGAR lines

Cards now end with X-KONTAKTVAGAR-ENTRY and X-KONTAKTVAGAR-PATH lines, from
which `flask import-directory` restores a directory. Cached texts of the old
form would make the export differ from a fresh render until each entry next
changes, so they are removed (a card missing from the cache is rendered on
the fly; `flask cards rebuild` fills the cache again), and CardDAV sync
tokens given before are no longer answered, so address books fetch every
card again. No schema change; downgrade has nothing to restore.

Revision ID: e5a1c7d3b9f2
Revises: c3a9d7e5f1b2
Create Date: 2026-12-06 13:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e5a1c7d3b9f2'
down_revision = 'c3a9d7e5f1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.execute('DELETE FROM vcard_cache')
    op.execute('UPDATE card_sequence SET seq = seq + 1, "floor" = seq + 1')


def downgrade():
    op.execute('DELETE FROM vcard_cache')
