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


def test_drills_become_call_outs_with_their_marks(migration_app):
    """Upgrading keeps every drill as a call-out of kind 'drill', its nodes reached as
    'reached' marks at their time and those not reached as 'no answer'; new call-outs
    then get ids of their own (the PostgreSQL counter is moved past the kept ids)."""
    upgrade(revision="7c3d9e1f4a20")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO actor (id, slug, name, short_name, kind, level, notes, keywords,"
            " review_interval_days, is_demo, search_key, created_at, updated_at, version)"
            " VALUES (1, 'h', 'Haninge', '', 'municipality', 'regional', '', '', 180, false,"
            " '', '2026-12-01 08:00:00', '2026-12-01 08:00:00', 1)"))
        conn.execute(text(
            "INSERT INTO call_tree (id, name, mode, revision, valid_from, notes,"
            " created_at, updated_at, version)"
            " VALUES (1, 'Larmkedja snö', 'ordinary', 1, '2026-12-01', '',"
            " '2026-12-01 08:00:00', '2026-12-01 08:00:00', 1)"))
        for node in (1, 2):
            conn.execute(text(
                "INSERT INTO call_tree_node (id, tree_id, depth, position, target_actor_id,"
                " instructions, created_at, updated_at, version)"
                f" VALUES ({node}, 1, 0, {node}, 1, '', '2026-12-01 08:00:00',"
                " '2026-12-01 08:00:00', 1)"))
        conn.execute(text(
            "INSERT INTO drill (id, call_tree_id, started_at, closed_at, notes)"
            " VALUES (7, 1, '2026-12-02 02:00:00', '2026-12-02 02:30:00', 'övning')"))
        conn.execute(text(
            "INSERT INTO drill_entry (drill_id, node_id, reached_at, not_reached, note)"
            " VALUES (7, 1, '2026-12-02 02:04:09', false, ''), (7, 2, NULL, true, 'upptaget')"))
    upgrade()
    with db.engine.begin() as conn:
        callout = conn.execute(text(
            "SELECT id, kind, title, closed_at IS NOT NULL FROM callout")).one()
        assert tuple(callout) == (7, "drill", "Övning – Larmkedja snö", True)
        marks = conn.execute(text(
            "SELECT node_id, outcome, note FROM callout_mark ORDER BY node_id")).all()
        assert [tuple(m) for m in marks] == [(1, "reached", ""), (2, "no_answer", "upptaget")]
        conn.execute(text(
            "INSERT INTO callout (kind, title, call_tree_id, started_at, notes)"
            " VALUES ('real', 'Larm', 1, '2026-12-02 03:00:00', '')"))
        assert conn.execute(text("SELECT MAX(id) FROM callout")).scalar() == 8
    downgrade(revision="7c3d9e1f4a20")
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT id FROM drill")).scalars().all() == [7]
        entries = conn.execute(text(
            "SELECT node_id, reached_at IS NOT NULL, not_reached FROM drill_entry"
            " ORDER BY node_id")).all()
        assert [tuple(e) for e in entries] == [(1, True, False), (2, False, True)]
