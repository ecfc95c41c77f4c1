"""Editors keep their roles staffed: rotations, shifts, overrides, review."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from directory.core.extensions import db
from directory.core.models import (
    AuditAction,
    AuditEvent,
    ContactPoint,
    Override,
    Rotation,
    RotationKind,
    RotationMember,
    Shift,
    UserRole,
    utcnow,
)
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role


@pytest.fixture
def role(app, login_as):
    actor = make_actor("Haninge kommun")
    role = make_role(actor)
    for name in ("Anna Berg", "Bo Ek", "Cia Dahl"):
        make_person(actor, name)
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    return role


def person_id(name):
    from directory.core.models import Person

    return str(db.session.scalar(select(Person.id).where(Person.name == name)))


def post(client, url, **data):
    return client.post(url, data={**data, "csrf_token": Auth(client).csrf_token("/")})


def test_editor_adds_an_override_in_local_time(client, role):
    response = post(client, f"/roles/{role.id}/overrides/new", person_id=person_id("Bo Ek"),
                    replaces_person_id=person_id("Anna Berg"),
                    starts_at="2026-12-24T08:00", ends_at="2026-12-25T08:00", reason="Julafton")
    assert response.status_code == 302
    override = db.session.scalar(select(Override))
    assert override.starts_at == datetime(2026, 12, 24, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert override.replaces_person.name == "Anna Berg"
    page = client.get(f"/roles/{role.id}?at=2026-12-24T12:00").get_data(as_text=True)
    assert "Bo Ek" in page and "override" in page
    created = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "override"))
    assert created.action == AuditAction.CREATE


def test_a_shift_ending_before_it_starts_gets_a_field_error_and_writes_nothing(client, role):
    response = post(client, f"/roles/{role.id}/shifts/new", person_id=person_id("Bo Ek"),
                    starts_at="2026-12-24T08:00", ends_at="2026-12-24T07:00")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "The end must be after the start." in page
    assert 'value="2026-12-24T07:00"' in page  # what was typed is kept
    assert db.session.scalar(select(func.count(Shift.id))) == 0


def test_editor_creates_and_reorders_a_weekly_rotation(client, role):
    response = post(client, f"/roles/{role.id}/rotations/new", name="Veckorotation",
                    kind="weekly", handover_time="08:00", starts_on="2026-11-30",
                    **{"members-0": person_id("Anna Berg"), "members-1": person_id("Bo Ek"),
                       "members-2": person_id("Cia Dahl")})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    rotation = db.session.scalar(select(Rotation))
    assert (rotation.kind, rotation.length_days) == (RotationKind.WEEKLY, 7)
    assert [m.person.name for m in rotation.members] == ["Anna Berg", "Bo Ek", "Cia Dahl"]

    response = post(client, f"/rotations/{rotation.id}/edit", name="Veckorotation",
                    kind="weekly", handover_time="08:00", starts_on="2026-11-30",
                    version=str(rotation.version),
                    **{"members-0": person_id("Cia Dahl"), "members-1": person_id("Anna Berg")})
    assert response.status_code == 302
    db.session.expire_all()
    members = db.session.scalars(
        select(RotationMember).where(RotationMember.rotation_id == rotation.id)
        .order_by(RotationMember.position)).all()
    assert [m.person.name for m in members] == ["Cia Dahl", "Anna Berg"]


def test_a_rotation_needs_members_once_each(client, role):
    response = post(client, f"/roles/{role.id}/rotations/new", kind="daily",
                    handover_time="08:00", starts_on="2026-11-30",
                    **{"members-0": person_id("Bo Ek"), "members-1": person_id("Bo Ek")})
    assert response.status_code == 422
    assert "only once" in response.get_data(as_text=True)


def test_paths_are_reordered_up_and_down(client, role):
    first = make_contact(role, "+46701740610", priority=1)
    second = make_contact(role, "+46701740611", priority=2)
    db.session.commit()
    assert post(client, f"/contacts/{second.id}/move", direction="up",
                version=str(second.version)).status_code == 302
    db.session.expire_all()
    assert db.session.get(ContactPoint, second.id).priority == 1
    assert db.session.get(ContactPoint, first.id).priority == 2


def test_review_page_lists_overdue_actors_and_roles_with_gaps(client, login_as):
    fresh = make_actor("Färsk kommun", last_reviewed_at=utcnow())
    old = make_actor("Gammal kommun", last_reviewed_at=utcnow() - timedelta(days=400))
    never = make_actor("Aldrig kommun")
    staffed = make_role(fresh)
    anna = make_person(fresh, "Anna Berg")
    db.session.add(Rotation(role=staffed, kind=RotationKind.DAILY, length_days=1,
                            handover_time=time(0, 0), starts_on=date(2020, 1, 1),
                            members=[RotationMember(person=anna, position=0)]))
    unstaffed = make_role(old, name="Vakthavande", short_name="VB")
    db.session.commit()
    login_as(UserRole.ADMIN)
    page = client.get("/review").get_data(as_text=True)
    overdue = page[page.index('id="overdue"'):]
    assert never.name in overdue and old.name in overdue and fresh.name not in overdue
    assert overdue.index(never.name) < overdue.index(old.name)  # never reviewed first
    gaps = page[page.index('id="gaps"'):page.index('id="overdue"')]
    assert f"/roles/{unstaffed.id}" in gaps and f"/roles/{staffed.id}" not in gaps
