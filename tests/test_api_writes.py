"""The writes added to the API: rotations, call trees and their steps, collaboration
patterns, scenarios and the mode switch.

Each is checked for success, a field-level problem on bad input, a refusal
that leaves the database as it was, and (where the entry has a version) an
If-Match conflict. The create/change/delete of every entry kind comes from
one table, checked here against the description.
"""

from datetime import date

import pytest
from sqlalchemy import func, select

from directory.api import writes
from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallTree,
    CallTreeNode,
    CollaborationPattern,
    Mode,
    ModeChange,
    ModeState,
    Rotation,
    RotationMember,
    Scenario,
)
from tests import test_api
from tests.conftest import make_actor, make_person, make_role
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


# --- Call trees and their steps -------------------------------------------------


def tree_body(region, **fields) -> dict:
    return {"actor_id": region.haninge.id, "name": "Larmkedja storm", "mode": "activated",
            "valid_from": "2026-12-01", **fields}


@pytest.fixture
def tree(region):
    """Haninge's tree: the TiB first (Åsa next), Bo under it."""
    made = CallTree(name="Larmkedja snö", actor=region.haninge, mode=Mode.ORDINARY,
                    valid_from=date(2026, 12, 1))
    db.session.add(made)
    db.session.flush()
    top = add_node(made, region.tib, alternates=[(region.asa, 10)])
    add_node(made, region.bo, parent=top)
    db.session.commit()
    return made


def steps(tree) -> list[tuple]:
    """The tree's live steps as (target, parent's target, depth, position)."""
    db.session.expire_all()
    nodes = {n.id: n for n in db.session.get(CallTree, tree.id).nodes}
    return sorted((n.target.name, nodes[n.parent_id].target.name if n.parent_id else None,
                   n.depth, n.position) for n in nodes.values() if n.deleted_at is None)


def test_an_editor_builds_a_call_tree_step_by_step(client, as_editor, region):
    response = client.post(f"{API}/call-trees", headers=as_editor, json=tree_body(region))
    created = matches(response, "CallTree")
    assert response.status_code == 201
    assert response.headers["Location"] == f"{API}/call-trees/{created['id']}"
    assert (created["actor_id"], created["mode"], created["revision"]) == (
        region.haninge.id, "activated", 1)
    top = client.post(f"{API}/call-tree-nodes", headers=as_editor, json={
        "tree_id": created["id"], "target": f"role-{region.tib.id}",
        "escalate_after_minutes": 5, "alternates": [{"target": f"person-{region.asa.id}",
                                                     "minutes": 10}]})
    assert top.status_code == 201, top.get_data(as_text=True)
    step = matches(top, "CallTreeStep")
    assert step["alternates"] == [{"target": f"person-{region.asa.id}", "minutes": 10}]
    child = matches(client.post(f"{API}/call-tree-nodes", headers=as_editor, json={
        "tree_id": created["id"], "parent_id": step["id"], "target": f"person-{region.bo.id}",
        "instructions": "Ring två gånger."}), "CallTreeStep")
    assert (child["parent_id"], child["depth"], child["position"]) == (step["id"], 1, 0)
    resolved = matches(client.get(f"{API}/call-trees/{created['id']}", headers=as_editor),
                       "ResolvedCallTree")
    assert [n["target"]["name"] for n in resolved["nodes"]] == ["Tjänsteman i beredskap"]
    assert [c["target"]["name"] for c in resolved["nodes"][0]["children"]] == ["Bo Ek"]
    assert matches(client.get(f"{API}/call-tree-nodes/{child['id']}", headers=as_editor),
                   "CallTreeStep") == child


def test_a_step_with_no_number_for_the_trees_mode_is_saved_with_a_dead_end_warning(
        client, as_editor, region, tree):
    """As the builder page warns: saved, and said (Bo has no contact path)."""
    response = client.post(f"{API}/call-tree-nodes", headers=as_editor, json={
        "tree_id": tree.id, "target": f"person-{region.bo.id}"})
    assert matches(response, "CallTreeStep")["warnings"] == [
        {"target": f"person-{region.bo.id}", "warning": "no_path"}]


def test_a_step_cannot_be_moved_under_its_own_child_and_nothing_changes(
        client, as_editor, region, tree):
    top, child = sorted((n for n in tree.nodes), key=lambda n: n.depth)
    before = steps(tree)
    assert field_errors(client.patch(f"{API}/call-tree-nodes/{top.id}", headers=as_editor,
                                     json={"parent_id": child.id})) == {
        "parent_id": "A step cannot be placed under itself or a step below it: that would"
                     " make a cycle."}
    assert steps(tree) == before


def test_a_step_is_moved_to_the_top_and_its_depth_follows(client, as_editor, region, tree):
    child = next(n for n in tree.nodes if n.depth == 1)
    moved = matches(client.patch(f"{API}/call-tree-nodes/{child.id}", headers=as_editor,
                                 json={"parent_id": None, "position": 0}), "CallTreeStep")
    assert (moved["parent_id"], moved["depth"], moved["position"]) == (None, 0, 0)
    assert steps(tree) == [("Bo Ek", None, 0, 0), ("Tjänsteman i beredskap", None, 0, 1)]


def test_call_tree_steps_are_checked_field_by_field(client, as_editor, region, tree):
    other = CallTree(name="Annan", actor=region.haninge, mode=Mode.ORDINARY,
                     valid_from=date(2026, 12, 1))
    db.session.add(other)
    db.session.flush()
    foreign = add_node(other, region.tib)
    db.session.commit()
    before, count_before = steps(tree), count(CallTreeNode)
    url = f"{API}/call-tree-nodes"
    assert field_errors(client.post(url, headers=as_editor, json={
        "tree_id": tree.id, "parent_id": foreign.id, "target": f"role-{region.tib.id}"})) == {
        "parent_id": "Not a valid choice."}
    assert field_errors(client.post(url, headers=as_editor, json={
        "tree_id": tree.id, "target": "role-999999"})) == {"target": "Choose whom to call."}
    assert field_errors(client.post(url, headers=as_editor, json={
        "tree_id": tree.id, "target": "tib"})) == {"target": "Choose whom to call."}
    assert set(field_errors(client.post(url, headers=as_editor, json={
        "tree_id": tree.id, "target": f"role-{region.tib.id}", "alternates": [
            {"target": f"person-{region.asa.id}"}] * 4}))) == {"alternates"}
    assert field_errors(client.post(url, headers=as_editor, json={
        "tree_id": tree.id, "target": f"role-{region.tib.id}",
        "escalate_after_minutes": 5000})) == {
        "escalate_after_minutes": "Number must be between 0 and 1440."}
    assert steps(tree) == before and count(CallTreeNode) == count_before


def test_deleting_a_step_deletes_the_steps_under_it_restorably(client, as_editor, tree):
    top = next(n for n in tree.nodes if n.depth == 0)
    assert client.delete(f"{API}/call-tree-nodes/{top.id}", headers=as_editor).status_code \
        == 204
    assert steps(tree) == []
    assert all(n.deleted_at is not None for n in db.session.get(CallTree, tree.id).nodes)


def test_a_regional_tree_is_the_coordinators(client, as_editor, as_admin, region):
    before = count(CallTree)
    problem(client.post(f"{API}/call-trees", headers=as_editor,
                        json=tree_body(region, actor_id=None)), 403)
    assert count(CallTree) == before
    made = matches(client.post(f"{API}/call-trees", headers=as_admin,
                               json=tree_body(region, actor_id=None)), "CallTree")
    assert made["actor_id"] is None


def test_another_actors_tree_is_refused_and_nothing_changes(client, as_editor, region):
    theirs = CallTree(name="Nynäshamns kedja", actor=region.nynashamn, mode=Mode.ORDINARY,
                      valid_from=date(2026, 12, 1))
    db.session.add(theirs)
    db.session.commit()
    before = count(CallTree)
    problem(client.post(f"{API}/call-trees", headers=as_editor,
                        json=tree_body(region, actor_id=region.nynashamn.id)), 403)
    problem(client.patch(f"{API}/call-trees/{theirs.id}", headers=as_editor,
                         json={"name": "Vår"}), 403)
    problem(client.post(f"{API}/call-tree-nodes", headers=as_editor, json={
        "tree_id": theirs.id, "target": f"role-{region.tib.id}"}), 403)
    problem(client.delete(f"{API}/call-trees/{theirs.id}", headers=as_editor), 403)
    db.session.expire_all()
    assert count(CallTree) == before and count(CallTreeNode) == 0
    assert (theirs.name, theirs.deleted_at) == ("Nynäshamns kedja", None)


def test_a_tree_changed_with_a_stale_etag_answers_412(client, as_editor, tree):
    url = f"{API}/call-trees/{tree.id}"
    stale = client.patch(url, headers=as_editor, json={"revision": 2}).headers["ETag"]
    assert client.patch(url, headers={**as_editor, "If-Match": stale},
                        json={"revision": 3}).status_code == 200
    response = client.patch(url, headers={**as_editor, "If-Match": stale},
                            json={"name": "Sist"})
    assert problem(response, 412)["changed_fields"] == ["revision"]
    db.session.expire_all()
    assert (tree.name, tree.revision) == ("Larmkedja snö", 3)


# --- Collaboration patterns -----------------------------------------------------


def pattern_body(region, **fields) -> dict:
    return {"convener_actor_id": region.haninge.id, "name": "Samverkanskonferens",
            "convener_role_id": region.tib.id, "mode": "activated", "frequency": "daily",
            "times": "09:00, 15:00", "starts_on": "2026-12-01",
            "participants": [region.nynashamn.id], **fields}


def test_an_editor_adds_a_pattern_and_changes_one_field_of_it(client, as_editor, region):
    response = client.post(f"{API}/patterns", headers=as_editor, json=pattern_body(region))
    made = matches(response, "Pattern")
    assert response.status_code == 201
    assert (made["recurrence"], made["participants"], made["convener_role_id"]) == (
        "FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0",
        [{"actor_id": region.nynashamn.id, "role_id": None}], region.tib.id)
    changed = matches(client.patch(f"{API}/patterns/{made['id']}", headers=as_editor,
                                   json={"meeting_place": "Länsstyrelsen"}), "Pattern")
    assert changed["meeting_place"] == "Länsstyrelsen"
    assert {k: changed[k] for k in ("recurrence", "participants", "convener_role_id",
                                    "starts_on")} == {
        k: made[k] for k in ("recurrence", "participants", "convener_role_id", "starts_on")}
    weekly = matches(client.patch(f"{API}/patterns/{made['id']}", headers=as_editor, json={
        "frequency": "weekly", "weekdays": ["MO", "TH"], "times": "10:00"}), "Pattern")
    assert weekly["recurrence"] == "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=10;BYMINUTE=0"


def test_a_pattern_is_checked_field_by_field_and_nothing_is_saved(client, as_editor, region):
    other_role = make_role(region.nynashamn, "Vakthavande", "VB")
    db.session.commit()
    url = f"{API}/patterns"
    assert field_errors(client.post(url, headers=as_editor,
                                    json=pattern_body(region, times="9.30 or so"))) == {
        "times": "“or” is not a time like 09:00."}
    assert field_errors(client.post(url, headers=as_editor, json=pattern_body(
        region, frequency="weekly"))) == {"times": "Choose at least one weekday."}
    assert field_errors(client.post(url, headers=as_editor, json=pattern_body(
        region, convener_role_id=other_role.id))) == {"convener_role_id": "Not a valid choice."}
    problem(client.post(url, headers=as_editor, json=pattern_body(
        region, convener_actor_id=region.nynashamn.id)), 403)
    assert count(CollaborationPattern) == 0


def test_a_pattern_changed_with_a_stale_version_answers_412(client, as_editor, region):
    made = client.post(f"{API}/patterns", headers=as_editor, json=pattern_body(region))
    url = f"{API}/patterns/{made.get_json()['id']}"
    assert client.patch(url, headers=as_editor, json={"purpose": "Lägesbild"}).status_code \
        == 200
    response = client.patch(url, headers=as_editor, json={"purpose": "Annat", "version": 1})
    assert problem(response, 412)["changed_fields"] == ["purpose"]
    db.session.expire_all()
    assert db.session.scalars(select(CollaborationPattern)).one().purpose == "Lägesbild"


# --- Scenarios ------------------------------------------------------------------


def test_a_coordinator_writes_a_scenario_and_changing_its_facts_keeps_its_measures(
        client, as_admin, region):
    response = client.post(f"{API}/scenarios", headers=as_admin, json={
        "name": "Översvämning", "goal": "Skydda liv",
        "preparatory": "Förvarna\nSandsäckar", "handling": "Samverka"})
    made = matches(response, "Scenario")
    assert (made["slug"], made["measures"]) == ("oversvamning", {
        "preparatory": ["Förvarna", "Sandsäckar"], "handling": ["Samverka"]})
    changed = matches(client.patch(f"{API}/scenarios/{made['id']}", headers=as_admin,
                                   json={"facts": "Högt vattenstånd."}), "Scenario")
    assert (changed["facts"], changed["measures"]) == ("Högt vattenstånd.", made["measures"])
    assert client.delete(f"{API}/scenarios/{made['id']}", headers=as_admin).status_code == 204
    problem(client.get(f"{API}/scenarios/{made['id']}", headers=as_admin), 404)
    assert db.session.get(Scenario, made["id"]).deleted_at is not None  # restorable


def test_scenarios_are_the_coordinators_and_a_refusal_changes_nothing(
        client, as_editor, as_admin, region):
    problem(client.post(f"{API}/scenarios", headers=as_editor, json={"name": "Vår"}), 403)
    assert count(Scenario) == 0
    assert field_errors(client.post(f"{API}/scenarios", headers=as_admin,
                                    json={"name": " "})) == {"name": "This field is required."}
    assert count(Scenario) == 0


# --- The register of actors (coordinators) ---------------------------------------


def test_a_coordinator_creates_moves_and_retires_an_actor(client, as_admin, region):
    response = client.post(f"{API}/actors", headers=as_admin, json={
        "name": "Haninge räddningstjänst", "parent_id": region.haninge.id,
        "kind": "rescue_service", "level": "local"})
    made = matches(response, "Actor")
    assert response.status_code == 201
    assert response.headers["Location"] == f"{API}/actors/{made['id']}"
    assert (made["slug"], made["parent_id"], made["kind"]) == (
        "haninge-raddningstjanst", region.haninge.id, "rescue_service")
    moved = matches(client.post(f"{API}/actors/{made['id']}/move", headers=as_admin,
                                json={"parent_id": None}), "Actor")
    assert (moved["parent_id"], moved["version"]) == (None, 2)
    assert client.delete(f"{API}/actors/{made['id']}", headers=as_admin).status_code == 204
    problem(client.get(f"{API}/actors/{made['id']}", headers=as_admin), 404)
    assert db.session.get(Actor, made["id"]).deleted_at is not None  # restorable


def test_on_an_empty_database_a_coordinator_creates_the_first_actor(client, as_admin):
    """Issue 15, item 12: a fresh installation starts from the API too."""
    assert count(Actor) == 0
    response = client.post(f"{API}/actors", headers=as_admin, json={"name": "Haninge kommun"})
    made = matches(response, "Actor")
    assert response.status_code == 201
    assert (made["slug"], made["parent_id"]) == ("haninge-kommun", None)
    assert [a.name for a in db.session.scalars(select(Actor))] == ["Haninge kommun"]


def test_the_register_refuses_at_the_field_and_changes_nothing(client, as_admin, region):
    part = make_actor("Haninge hemtjänst")
    part.parent = region.haninge
    db.session.commit()
    before = count(Actor)
    assert field_errors(client.post(f"{API}/actors", headers=as_admin, json={
        "name": "haninge KOMMUN"})) == {
        "name": "Another actor is already called “haninge KOMMUN”."}
    assert field_errors(client.post(f"{API}/actors/{region.haninge.id}/move",
                                    headers=as_admin, json={"parent_id": part.id})) == {
        "parent_id": "An actor cannot be placed under itself or one of its parts."}
    assert problem(client.delete(f"{API}/actors/{region.haninge.id}", headers=as_admin),
                   409)["detail"] == "Move or retire its parts first: Haninge hemtjänst."
    db.session.expire_all()
    assert count(Actor) == before
    assert (region.haninge.parent_id, region.haninge.deleted_at) == (None, None)


def test_moving_an_actor_with_a_stale_etag_answers_412(client, as_admin, region):
    url = f"{API}/actors/{region.nynashamn.id}"
    stale = client.get(url, headers=as_admin).headers["ETag"]
    client.patch(url, headers=as_admin, json={"notes": "Granskad"})
    problem(client.post(f"{url}/move", headers={**as_admin, "If-Match": stale},
                        json={"parent_id": region.haninge.id}), 412)
    db.session.expire_all()
    assert region.nynashamn.parent_id is None


@pytest.mark.parametrize("who", ["as_editor", "as_viewer"])
def test_only_coordinators_keep_the_register(client, request, region, who):
    headers = request.getfixturevalue(who)
    before = count(Actor)
    problem(client.post(f"{API}/actors", headers=headers, json={"name": "Tyresö kommun"}), 403)
    problem(client.post(f"{API}/actors/{region.haninge.id}/move", headers=headers,
                        json={"parent_id": region.nynashamn.id}), 403)
    problem(client.delete(f"{API}/actors/{region.haninge.id}", headers=headers), 403)
    db.session.expire_all()
    assert count(Actor) == before
    assert (region.haninge.parent_id, region.haninge.deleted_at) == (None, None)


def test_a_coordinator_renames_an_actor_and_its_slug_stays(client, as_admin, region):
    """Issue 15, item 12: renamed through PATCH, the slug (and every link) stays; a
    name another actor has, in any case, is refused at the field."""
    url = f"{API}/actors/{region.nynashamn.id}"
    slug = region.nynashamn.slug
    renamed = matches(client.patch(url, headers=as_admin, json={"name": "Nynäshamns stad"}),
                      "Actor")
    assert (renamed["name"], renamed["slug"]) == ("Nynäshamns stad", slug)
    assert field_errors(client.patch(url, headers=as_admin, json={"name": "HANINGE kommun"})) \
        == {"name": "Another actor is already called “HANINGE kommun”."}
    db.session.expire_all()
    assert db.session.get(Actor, region.nynashamn.id).name == "Nynäshamns stad"
