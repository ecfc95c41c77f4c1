"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from directory import create_app
from directory.core.extensions import db
from directory.core.models.accounts import SEARCH_WORD_TRIGRAM
from tests.conftest import make_config


@pytest.fixture
def empty_database(database, tmp_path):
    """A database of its own, with no tables at all."""
    if "schema" not in database:
        yield {"url": f"sqlite:///{tmp_path / 'migrations.sqlite'}", "engine_options": {}}
        return
    schema = f"kvmig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database["url"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {
            "url": database["url"],
            "engine_options": {"connect_args": {"options": f"-csearch_path={schema}"}},
        }
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def migration_app(empty_database):
    app = create_app(make_config(empty_database))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def modelled(name, type_, parent_names) -> bool:
    """Not the word list's trigram index, which the models leave to the database."""
    return not (name or "").startswith(SEARCH_WORD_TRIGRAM)


def schema_diff():
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": modelled}
        )
        return compare_metadata(context, db.metadata)


def table_names():
    names = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    return {name for name in names if modelled(name, "table", {})}


def test_upgrade_downgrade_upgrade_round_trip(migration_app):
    upgrade()
    assert table_names() == set(db.metadata.tables)
    downgrade(revision="base")
    assert table_names() == set()
    upgrade()
    assert table_names() == set(db.metadata.tables)


def test_models_and_migrations_agree(migration_app):
    upgrade()
    assert schema_diff() == []


def test_the_trigram_index_holds_the_words_indexed_before_it(migration_app):
    """Words inside compounds are found at once in a database migrated with words."""
    from directory.lookup.search import _inside_words

    upgrade(revision="7c3d9e1f4a20")
    db.session.execute(text("INSERT INTO search_word (word) VALUES ('snorojning')"))
    db.session.commit()
    upgrade()
    assert _inside_words("rojning") == ["snorojning"]
    db.session.execute(text("INSERT INTO search_word (word) VALUES ('vinterrojning')"))
    assert _inside_words("rojning") == ["snorojning", "vinterrojning"]  # kept current
