"""search word trigram index: words inside compounds found by the database's own index;
the entity index of search_term covers term and weight

PostgreSQL: the pg_trgm extension (in `public`, so dropping a schema never
takes it) and a GIN trigram index on search_word.word, which serves
LIKE '%...%'. SQLite: an FTS5 table with the trigram tokenizer over
search_word (external content), kept by triggers, filled from the words
already there.

Revision ID: 3b8e5f2a9d61
Revises: b6e2d4f81c35
Create Date: 2026-12-02 14:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3b8e5f2a9d61'
down_revision = 'b6e2d4f81c35'
branch_labels = None
depends_on = None

SQLITE = (
    "CREATE VIRTUAL TABLE search_word_trigram USING fts5("
    "word, content='search_word', tokenize='trigram')",
    "CREATE TRIGGER search_word_trigram_insert AFTER INSERT ON search_word BEGIN "
    "INSERT INTO search_word_trigram (rowid, word) VALUES (new.rowid, new.word); END",
    "CREATE TRIGGER search_word_trigram_delete AFTER DELETE ON search_word BEGIN "
    "INSERT INTO search_word_trigram (search_word_trigram, rowid, word) "
    "VALUES ('delete', old.rowid, old.word); END",
    "CREATE TRIGGER search_word_trigram_update AFTER UPDATE ON search_word BEGIN "
    "INSERT INTO search_word_trigram (search_word_trigram, rowid, word) "
    "VALUES ('delete', old.rowid, old.word); "
    "INSERT INTO search_word_trigram (rowid, word) VALUES (new.rowid, new.word); END",
    "INSERT INTO search_word_trigram (search_word_trigram) VALUES ('rebuild')",
)
POSTGRESQL = (
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public; "
    "EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$",
    "DO $$ DECLARE home text; BEGIN "
    "SELECT extnamespace::regnamespace::text INTO home FROM pg_extension "
    "WHERE extname = 'pg_trgm'; "
    "EXECUTE 'CREATE INDEX search_word_trigram ON search_word "
    "USING gin (word ' || home || '.gin_trgm_ops)'; END $$",
)


def upgrade():
    # An entry's words and weights from the index alone (search scores the
    # entries of the rarest word through it).
    with op.batch_alter_table('search_term', schema=None) as batch_op:
        batch_op.drop_index('ix_search_term_entity')
        batch_op.create_index(
            'ix_search_term_entity', ['entity_type', 'entity_id', 'term', 'weight'], unique=False
        )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(dialect, ()):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS search_word_trigram_{trigger}")
        op.execute("DROP TABLE IF EXISTS search_word_trigram")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS search_word_trigram")  # the extension may serve others
    with op.batch_alter_table('search_term', schema=None) as batch_op:
        batch_op.drop_index('ix_search_term_entity')
        batch_op.create_index('ix_search_term_entity', ['entity_type', 'entity_id'], unique=False)
