"""Faults: the database going away, and edits that fail halfway."""

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from directory import create_app
from directory.core import entries as services
from directory.core.extensions import db
from directory.core.models import AuditEvent, Rotation, RotationKind, UserRole
from tests.conftest import Auth, make_actor, make_config, make_role, make_user


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on a SQLite file whose folder can be taken away and brought back."""
    folder = tmp_path / "data"
    folder.mkdir()
    app = create_app(make_config({"url": f"sqlite:///{folder}/db.sqlite",
                                  "engine_options": {}}))
    with app.app_context():
        db.create_all()
        make_actor("Haninge kommun")
        make_user("tib@example.org", role=UserRole.VIEWER)
        db.session.commit()
        db.session.remove()
    return app, folder


def test_database_gone_gives_503_and_the_app_recovers(sqlite_app):
    app, folder = sqlite_app
    client = app.test_client()
    assert Auth(client).login("tib@example.org").status_code == 302
    assert client.get("/actors/haninge-kommun").status_code == 200

    hidden = folder.with_name("away")
    folder.rename(hidden)
    with app.app_context():
        db.engine.dispose()  # open connections would still reach the moved file
    page = client.get("/actors/haninge-kommun")
    assert page.status_code == 503
    assert "The database does not answer" in page.get_data(as_text=True)
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "unavailable"

    hidden.rename(folder)
    assert client.get("/healthz").status_code == 200
    assert client.get("/actors/haninge-kommun").status_code == 200


def test_an_edit_that_fails_halfway_leaves_nothing(app):
    role = make_role(make_actor())
    db.session.commit()
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    rotation = Rotation(role_id=role.id, kind=RotationKind.WEEKLY, length_days=7,
                        starts_on=date(2026, 12, 7))
    services.save(rotation, {"name": "Veckorotation"})  # the rotation row is written...
    with pytest.raises(IntegrityError):
        services.set_rotation_members(rotation, [999_999])  # ...its member is not a person
    db.session.rollback()
    assert db.session.scalar(select(func.count(Rotation.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
