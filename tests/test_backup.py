"""Back-up and restore: every table, exactly, from SQLite to PostgreSQL and back."""

import json
import os
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text

from directory import create_app
from directory.core.extensions import db
from directory.core.models import Actor, AuditEvent
from directory.operations.backup import RestoreError, dump, load
from directory.operations.demo import load_demo
from tests.conftest import TODAY, make_config


@pytest.fixture
def peer(database, tmp_path):
    """A second, empty database of the other kind when one is available.

    In CI the SQLite run gets PostgreSQL as its peer and the PostgreSQL run
    gets SQLite, so both directions are proven.
    """
    url = os.environ.get("BACKUP_PEER_DATABASE_URL") if "schema" not in database else None
    if not url:
        yield {"url": f"sqlite:///{tmp_path / 'peer.sqlite'}", "engine_options": {}}
        return
    from config import database_url

    url = database_url(url)
    schema = f"kvpeer_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
        yield {"url": url, "engine_options": options}
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def payload(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    document.pop("created_at")
    return document


def test_a_round_trip_to_the_other_database_loses_nothing(app, peer, tmp_path):
    from flask_migrate import stamp

    stamp()  # the test schema was made by create_all; mark it at head
    load_demo(TODAY)
    db.session.commit()
    first = tmp_path / "first.json"
    dump(first)

    other = create_app(make_config(peer))
    with other.app_context():
        upgrade()
        load(first)
        second = tmp_path / "second.json"
        dump(second)
        db.session.remove()
        db.engine.dispose()

    assert payload(second) == payload(first)
    tables = payload(first)["tables"]
    assert tables["audit_event"]["rows"], "the audit trail is part of the back-up"
    assert len(tables["actor"]["rows"]) == 45


def test_restore_refuses_a_database_with_data(app, tmp_path):
    from flask_migrate import stamp

    stamp()
    load_demo(TODAY)
    db.session.commit()
    path = tmp_path / "b.json"
    dump(path)
    with pytest.raises(RestoreError, match="not empty"):
        load(path)


def test_restore_refuses_something_that_is_not_a_backup(app, tmp_path):
    path = tmp_path / "b.json"
    path.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(RestoreError, match="not a Kontaktvägar back-up"):
        load(path)


def test_a_failed_restore_writes_nothing(app, tmp_path):
    from flask_migrate import stamp

    stamp()
    load_demo(TODAY)
    db.session.commit()
    path = tmp_path / "b.json"
    dump(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    persons = document["tables"]["person"]
    id_column = persons["columns"].index("id")
    persons["rows"][3][id_column] = persons["rows"][2][id_column]
    path.write_text(json.dumps(document), encoding="utf-8")  # two persons, one id
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    with pytest.raises(Exception):  # noqa: B017 - any database error will do
        load(path)
    assert db.session.scalar(select(func.count(Actor.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


def test_backup_and_restore_commands(app, runner, tmp_path):
    from flask_migrate import stamp

    stamp()
    load_demo(TODAY)
    db.session.commit()
    path = tmp_path / "cli.json"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0 and "tables" in result.output
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code != 0 and "not empty" in result.output


def test_new_rows_after_a_restore_get_fresh_ids(app, peer, tmp_path):
    from flask_migrate import stamp

    from tests.conftest import make_actor

    stamp()
    load_demo(TODAY)
    db.session.commit()
    path = tmp_path / "b.json"
    dump(path)
    other = create_app(make_config(peer))
    with other.app_context():
        upgrade()
        load(path)
        actor = make_actor("Ny kommun")  # would clash with a restored id otherwise
        db.session.commit()
        assert actor.id > 45
        db.session.remove()
        db.engine.dispose()
