"""The writes added to the API: rotations and the mode switch.

Each is checked for success, a field-level problem on bad input, a refusal
that leaves the database as it was, and (where the entry has a version) an
If-Match conflict. The create/change/delete of every entry kind comes from
one table, checked here against the description.
"""

from datetime import date

import pytest
from sqlalchemy import func, select

from directory.api import writes
from directory.core.extensions import db
from directory.core.models import Mode, ModeChange, ModeState, Rotation, RotationMember
from tests import test_api
from tests.conftest import make_person, make_role
from tests.test_api import API, field_errors, matches, problem

# The API tests' region and signed-in clients.
region, editor = test_api.region, test_api.editor
as_editor, as_viewer, as_admin = test_api.as_editor, test_api.as_viewer, test_api.as_admin


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def rotation_body(region, **fields) -> dict:
    return {"role_id": region.tib.id, "name": "Veckovis", "kind": "weekly",
            "handover_time": "08:00", "starts_on": "2026-01-05",
            "members": [region.asa.id, region.bo.id], **fields}


@pytest.fixture
def rotation(region):
    made = Rotation(role=region.tib, name="Veckovis", starts_on=date(2026, 1, 5))
    made.members = [RotationMember(person=region.asa, position=0)]
    db.session.add(made)
    db.session.commit()
    return made


# --- Rotations ----------------------------------------------------------------


def test_an_editor_adds_a_rotation_with_its_members_in_order(client, as_editor, region):
    response = client.post(f"{API}/rotations", headers=as_editor,
                           json=rotation_body(region, members=[region.bo.id, region.asa.id]))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = matches(response, "Rotation")
    assert response.headers["Location"] == f"{API}/rotations/{body['id']}"
    assert (body["members"], body["length_days"], body["handover_time"]) == (
        [region.bo.id, region.asa.id], 7, "08:00")
    saved = db.session.get(Rotation, body["id"])
    assert [m.person_id for m in saved.members] == [region.bo.id, region.asa.id]
    assert matches(client.get(f"{API}/rotations?role_id={region.tib.id}", headers=as_editor),
                   "RotationPage")["total"] == 1


def test_a_rotation_is_validated_field_by_field_with_the_forms_messages(client, as_editor,
                                                                         region):
    before = count(Rotation)
    errors = field_errors(client.post(f"{API}/rotations", headers=as_editor, json=rotation_body(
        region, members=[region.asa.id, region.asa.id], ends_on="2026-01-01")))
    assert errors == {"members": "Each person can be in the order only once.",
                      "ends_on": "The end must be after the start."}
    typed = field_errors(client.post(f"{API}/rotations", headers=as_editor,
                                     json=rotation_body(region, members="asa", colour="red")))
    assert set(typed) == {"members", "colour"} and typed["colour"] == "Unknown field."
    stranger = field_errors(client.post(f"{API}/rotations", headers=as_editor,
                                        json=rotation_body(region, members=[999999])))
    assert stranger == {"members": "Not a valid choice."}
    assert count(Rotation) == before


def test_a_rotation_of_another_actors_role_is_refused_and_nothing_changes(client, as_editor,
                                                                           region):
    other = make_role(region.nynashamn, "Vakthavande", "VB")
    someone = make_person(region.nynashamn, "Eva Berg")
    db.session.commit()
    before = count(Rotation)
    problem(client.post(f"{API}/rotations", headers=as_editor, json=rotation_body(
        region, role_id=other.id, members=[someone.id])), 403)
    assert count(Rotation) == before


def test_a_rotation_is_changed_and_deleted_by_its_editor(client, as_editor, rotation):
    url = f"{API}/rotations/{rotation.id}"
    response = client.patch(url, headers=as_editor, json={"kind": "daily"})
    body = matches(response, "Rotation")
    assert (body["kind"], body["length_days"], body["version"]) == ("daily", 1, 2)
    assert client.delete(url, headers=as_editor).status_code == 204
    problem(client.get(url, headers=as_editor), 404)
    db.session.expire_all()
    assert db.session.get(Rotation, rotation.id).deleted_at is not None  # restorable


def test_changing_a_rotation_with_a_stale_etag_answers_412_and_saves_nothing(
        client, as_editor, rotation):
    url = f"{API}/rotations/{rotation.id}"
    stale = client.get(url, headers=as_editor).headers["ETag"]
    assert client.patch(url, headers=as_editor, json={"name": "Först"}).status_code == 200
    response = client.patch(url, headers={**as_editor, "If-Match": stale},
                            json={"name": "Sist"})
    assert problem(response, 412)["changed_fields"] == ["name"]
    db.session.expire_all()
    assert db.session.get(Rotation, rotation.id).name == "Först"


def test_a_viewer_may_not_change_a_rotation(client, as_viewer, rotation):
    problem(client.patch(f"{API}/rotations/{rotation.id}", headers=as_viewer,
                         json={"name": "Mine"}), 403)
    problem(client.delete(f"{API}/rotations/{rotation.id}", headers=as_viewer), 403)
    db.session.expire_all()
    assert db.session.get(Rotation, rotation.id).name == "Veckovis"
    assert db.session.get(Rotation, rotation.id).deleted_at is None


# --- The mode switch ----------------------------------------------------------


def test_a_coordinator_activates_the_region_and_the_switch_is_logged(client, as_admin, region):
    response = client.post(f"{API}/mode", headers=as_admin,
                           json={"mode": "activated", "reason": "Snöstorm"})
    body = matches(response, "ModeState")
    assert (body["mode"], body["scope"], body["reason"]) == ("activated", "region", "Snöstorm")
    assert matches(client.get(f"{API}/mode", headers=as_admin),
                   "ModeOverview")["region"]["mode"] == "activated"
    change = db.session.scalars(select(ModeChange)).one()
    assert (change.to_mode, change.reason) == (Mode.ACTIVATED, "Snöstorm")


def test_one_actor_is_switched_and_back(client, as_admin, region):
    url = f"{API}/mode"
    on = matches(client.post(url, headers=as_admin, json={
        "actor_id": region.haninge.id, "mode": "activated", "reason": "Vattenläcka"}),
        "ModeState")
    assert (on["scope"], on["mode"]) == (f"actor:{region.haninge.id}", "activated")
    off = matches(client.post(url, headers=as_admin, json={
        "actor_id": region.haninge.id, "mode": "ordinary", "reason": "Åtgärdat"}), "ModeState")
    assert off["mode"] == "ordinary"
    assert count(ModeState) == 0  # it follows the region again


def test_a_mode_switch_needs_a_reason_and_a_known_actor(client, as_admin, region):
    assert field_errors(client.post(f"{API}/mode", headers=as_admin,
                                    json={"mode": "activated"})) == {
        "reason": "This field is required."}
    assert field_errors(client.post(f"{API}/mode", headers=as_admin, json={
        "mode": "panic", "reason": "x"})) == {"mode": "Not a valid choice."}
    assert field_errors(client.post(f"{API}/mode", headers=as_admin, json={
        "actor_id": 999999, "mode": "activated", "reason": "x"})) == {
        "actor_id": "There is no such entry."}
    assert count(ModeChange) == 0 and count(ModeState) == 0


@pytest.mark.parametrize("who", ["as_editor", "as_viewer"])
def test_only_coordinators_switch_modes_and_a_refusal_changes_nothing(client, request, region,
                                                                      who):
    headers = request.getfixturevalue(who)
    problem(client.post(f"{API}/mode", headers=headers,
                        json={"mode": "activated", "reason": "Snöstorm"}), 403)
    assert count(ModeChange) == 0 and count(ModeState) == 0


# --- One table for create, change and delete ----------------------------------


def test_every_kind_in_the_table_has_its_routes_described(app):
    from directory.api.spec import document

    with app.test_request_context():
        paths = document()["paths"]
    for kind in writes.KINDS:
        one = f"/{kind.path}/{{{kind.key}}}"
        for verb in kind.verbs:
            path, method = {"create": (f"/{kind.path}", "post"), "update": (one, "patch"),
                            "delete": (one, "delete")}[verb]
            assert paths[path][method]["operationId"] == f"api.{kind.name}_{verb}"
