"""The audit trail, restore of deleted entries, and no lost updates."""

import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.core.audit import snapshot
from directory.core.extensions import db
from directory.core.models import AuditAction, AuditEvent, ContactPoint, Person, UserRole
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role


def events_for(entry):
    return db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entry.__tablename__, AuditEvent.entity_id == entry.id)
        .order_by(AuditEvent.id)
    ).all()


def post(client, url, **data):
    token = Auth(client).csrf_token("/")
    return client.post(url, data={**data, "csrf_token": token})


def version_on_form(client, url) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)


def test_create_update_delete_are_recorded_with_who_and_what(app, client, login_as):
    actor = make_actor()
    db.session.commit()
    editor = login_as(UserRole.EDITOR, actors=[actor])

    post(client, f"/actors/{actor.slug}/persons/new", name="Åsa Öberg", title="TiB")
    person = db.session.scalar(select(Person).where(Person.name == "Åsa Öberg"))
    post(client, f"/persons/{person.id}/edit", name="Åsa Öberg", title="VB", version="1")
    post(client, f"/persons/{person.id}/delete", version="2")

    created, updated, deleted = events_for(person)
    assert [e.action for e in (created, updated, deleted)] == [
        AuditAction.CREATE, AuditAction.UPDATE, AuditAction.DELETE,
    ]
    assert {e.user_id for e in (created, updated, deleted)} == {editor.id}
    assert created.after["name"] == "Åsa Öberg"
    assert updated.before == {"title": "TiB"}
    assert updated.after["title"] == "VB"
    assert deleted.after["deleted_at"] is not None
    assert created.actor_id == actor.id


def test_restore_brings_back_exactly_the_deleted_values(app, client, login_as):
    actor = make_actor()
    role = make_role(actor)
    point = make_contact(role, "+46701740633", label="TiB-telefon", priority=2,
                         confidential=True, pin="")
    db.session.commit()
    before = snapshot(point)
    login_as(UserRole.EDITOR, actors=[actor])

    assert post(client, f"/contacts/{point.id}/delete", version="1").status_code == 302
    db.session.expire_all()
    assert db.session.get(ContactPoint, point.id).deleted_at is not None
    assert post(client, f"/history/contact_point/{point.id}/restore").status_code == 302

    db.session.expire_all()
    restored = db.session.get(ContactPoint, point.id)
    assert restored.deleted_at is None
    assert snapshot(restored) == before
    assert [e.action for e in events_for(point)][-2:] == [AuditAction.DELETE,
                                                          AuditAction.RESTORE]


def test_history_page_shows_the_changes(app, client, login_as):
    actor = make_actor()
    person = make_person(actor, "Åsa Öberg", title="TiB")
    db.session.commit()
    login_as(UserRole.ADMIN)
    post(client, f"/persons/{person.id}/edit", name="Åsa Öberg", title="Stabschef", version="1")
    page = client.get(f"/history/person/{person.id}").get_data(as_text=True)
    assert "Stabschef" in page and "TiB" in page


def test_stale_save_is_refused_and_shows_what_the_other_person_changed(
    app, client, login_as
):
    actor = make_actor()
    person = make_person(actor, "Åsa Öberg", title="TiB")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    seen_version = version_on_form(client, f"/persons/{person.id}/edit")

    with Session(db.engine) as colleague:  # saves first, from another browser
        theirs = colleague.get(Person, person.id)
        theirs.title = "Räddningschef"
        colleague.commit()

    response = post(client, f"/persons/{person.id}/edit", name="Åsa Öberg",
                    title="Min ändring", version=seen_version)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Räddningschef" in page  # what they changed
    assert "Min ändring" in page  # what I typed is kept
    db.session.expire_all()
    assert db.session.get(Person, person.id).title == "Räddningschef"


def test_saving_again_after_a_conflict_is_a_deliberate_overwrite(app, client, login_as):
    actor = make_actor()
    person = make_person(actor, "Åsa Öberg", title="TiB")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    with Session(db.engine) as colleague:
        colleague.get(Person, person.id).title = "Räddningschef"
        colleague.commit()
    conflict = post(client, f"/persons/{person.id}/edit", name="Åsa Öberg", title="Mitt",
                    version="1")
    new_version = re.search(r'name="version" type="hidden" value="(\d+)"',
                            conflict.get_data(as_text=True)).group(1)
    assert new_version == "2"
    again = post(client, f"/persons/{person.id}/edit", name="Åsa Öberg", title="Mitt",
                 version=new_version)
    assert again.status_code == 302


def test_phone_number_is_normalised_on_save(app, client, login_as):
    actor = make_actor()
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    response = post(client, f"/actors/{actor.slug}/contacts/new", kind="mobile",
                    value="070-174 06 20", mode="both", priority="1")
    assert response.status_code == 302
    assert db.session.scalar(select(ContactPoint.value)) == "+46701740620"


def test_invalid_number_gets_a_field_error_and_writes_nothing(app, client, login_as):
    actor = make_actor()
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    events_before = db.session.scalar(select(func.count(AuditEvent.id)))
    response = post(client, f"/actors/{actor.slug}/contacts/new", kind="mobile",
                    value="070-17", mode="both", priority="1")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "too short" in page
    assert 'value="070-17"' in page  # what the user typed is kept
    assert db.session.scalar(select(func.count(ContactPoint.id))) == 0
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events_before


def test_a_rolled_back_change_leaves_no_audit_record(app):
    actor = make_actor()
    db.session.commit()
    count = db.session.scalar(select(func.count(AuditEvent.id)))
    make_person(actor, "Tillfällig")
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == count


def test_review_is_recorded(app, client, login_as):
    actor = make_actor()
    db.session.commit()
    editor = login_as(UserRole.EDITOR, actors=[actor])
    assert post(client, f"/actors/{actor.slug}/review").status_code == 302
    last = events_for(actor)[-1]
    assert last.action == AuditAction.REVIEW
    assert last.user_id == editor.id


def test_opening_hours_need_both_times_and_say_so(app, client, login_as):
    actor = make_actor()
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    response = post(client, f"/actors/{actor.slug}/contacts/new", kind="landline",
                    value="08-123 456 78", mode="both", priority="1", available_from="08:00")
    assert response.status_code == 422
    assert "Give both times" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ContactPoint.id))) == 0


def test_a_change_to_an_entrys_parts_moves_the_entrys_version(app):
    """Participants, measures, a rotation's order and a step's alternates are saved
    against their entry's version: changing only them must move it, or two saves
    from the same read would both pass and the second undo the first unseen."""
    from datetime import date

    from directory.calltrees.rules import add_node, set_alternates
    from directory.core import entries
    from directory.core.models import (
        CallTree,
        CollaborationPattern,
        Mode,
        Phase,
        Rotation,
        Scenario,
    )

    haninge, nynas = make_actor("Haninge kommun"), make_actor("Nynäshamns kommun")
    tib = make_role(haninge)
    anna, bo = make_person(haninge, "Anna Berg"), make_person(haninge, "Bo Ek")
    pattern = CollaborationPattern(name="Samverkanskonferens", convener_actor=haninge,
                                   starts_on=date(2026, 1, 1),
                                   recurrence="FREQ=DAILY;BYHOUR=9;BYMINUTE=0")
    scenario = Scenario(slug="sno", name="Snö och halka")
    rotation = Rotation(role=tib, name="Veckovis", starts_on=date(2026, 1, 5))
    tree = CallTree(name="Larmkedja", mode=Mode.ORDINARY, valid_from=date(2026, 12, 1))
    db.session.add_all([pattern, scenario, rotation, tree])
    node = add_node(tree, tib, alternates=[(anna, 5)])
    db.session.flush()
    entries.set_participants(pattern, [haninge.id])
    entries.set_measures(scenario, {Phase.HANDLING: ["Larma TiB"]})
    entries.set_rotation_members(rotation, [anna.id, bo.id])
    db.session.commit()

    changes = [
        (pattern, lambda: entries.set_participants(pattern, [haninge.id, nynas.id])),
        (pattern, lambda: entries.set_participants(pattern, [nynas.id])),
        (scenario, lambda: entries.set_measures(scenario, {Phase.HANDLING: ["Larma VB"]})),
        (scenario, lambda: entries.set_measures(scenario, {Phase.HANDLING: []})),
        (rotation, lambda: entries.set_rotation_members(rotation, [bo.id, anna.id])),
        (rotation, lambda: entries.set_rotation_members(rotation, [bo.id])),
        (node, lambda: set_alternates(node, [(anna, 10)])),
        (node, lambda: set_alternates(node, [(anna, 10), (bo, 5)])),
        (node, lambda: set_alternates(node, [])),
    ]
    for entry, change in changes:
        read = entry.version
        change()
        db.session.commit()
        assert entry.version == read + 1, (type(entry).__name__, read, entry.version)
        with pytest.raises(entries.ConflictError):  # a save from the old read is refused
            entries.check_version(entry, read)
