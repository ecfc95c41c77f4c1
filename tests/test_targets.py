"""Whom a step may call, as the escalation and call-tree forms list it
(`core.targets`): every live target in a small region; at national scale
those near, those chosen and those found by name, with any live target sent
accepted; and a malformed value a field's message, never a 500."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from directory.core import escalations, targets
from directory.core.extensions import db
from directory.core.models import (
    CallTree,
    CallTreeNode,
    ContactKind,
    Mode,
    RoleEscalationStep,
    UserRole,
)
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role
from tests.test_api import API, bearer, field_errors, matches


@pytest.fixture
def region(app):
    county = make_actor("Länsstyrelsen Stockholm")
    haninge = make_actor("Haninge kommun", parent=county)
    tib = make_role(haninge)
    make_contact(tib, "+46701740608")
    vb = make_role(haninge, "Vakthavande befäl", "VB")
    make_contact(vb, "+46701740612")
    make_contact(haninge, "+46701740651", label="Växel", kind=ContactKind.SWITCHBOARD)
    lena = make_person(haninge, "Lena Håkansson")
    county_tib = make_role(county, "Regional tjänsteman i beredskap", "RTiB")
    far = make_actor("Kiruna kommun")
    zelda = make_person(far, "Zelda Zorn")
    make_contact(zelda, "+46701740699")
    far_tib = make_role(far)
    tree = CallTree(name="Larm snö", mode=Mode.ACTIVATED, actor=haninge,
                    valid_from=date(2026, 11, 1))
    db.session.add(tree)
    db.session.commit()
    return type("Region", (), dict(county=county, haninge=haninge, tib=tib, vb=vb, lena=lena,
                                   county_tib=county_tib, far=far, zelda=zelda,
                                   far_tib=far_tib, tree=tree))


@pytest.fixture
def national(monkeypatch):
    """As at national scale: more live targets than a form lists whole."""
    monkeypatch.setattr(targets, "WHOLE_LIST_MAX", 3)


def options(page: str, name: str) -> set[str]:
    """The values offered by the select called `name`."""
    select_ = re.search(rf'<select[^>]*name="{re.escape(name)}".*?</select>', page, re.S)
    return set(re.findall(r'<option[^>]*value="([^"]*)"', select_[0])) - {""}


def selected(page: str, name: str) -> str | None:
    select_ = re.search(rf'<select[^>]*name="{re.escape(name)}".*?</select>', page, re.S)
    found = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|'
                      r'<option[^>]*value="([^"]*)"[^>]*selected', select_[0])
    return next((g for g in found.groups() if g), None) if found else None


def escalation_form(token, version, steps, **extra) -> dict:
    data = {"csrf_token": token, "version": str(version), **extra}
    for index, (target, minutes) in enumerate(steps):
        data[f"steps-{index}-target"] = target
        data[f"steps-{index}-minutes"] = str(minutes)
    return data


def test_a_small_region_lists_every_target_and_no_finder(region, client, login_as):
    login_as(UserRole.EDITOR, actors=[region.haninge])
    page = client.get(f"/roles/{region.tib.id}/escalation").get_data(as_text=True)
    assert options(page, "steps-0-target") == {
        f"role-{r.id}" for r in (region.vb, region.county_tib, region.far_tib)} | {
        f"person-{p.id}" for p in (region.lena, region.zelda)} | {
        f"actor-{a.id}" for a in (region.county, region.haninge, region.far)}
    assert 'name="find"' not in page


def test_at_national_scale_the_escalation_lists_the_near_and_finds_the_rest(
        region, national, client, login_as):
    login_as(UserRole.EDITOR, actors=[region.haninge])
    url = f"/roles/{region.tib.id}/escalation"
    page = client.get(url).get_data(as_text=True)
    near = ({f"role-{r.id}" for r in (region.vb, region.county_tib)}
            | {f"person-{region.lena.id}"}
            | {f"actor-{a.id}" for a in (region.county, region.haninge)})
    assert options(page, "steps-0-target") == near  # its actor and the one it belongs to
    assert f"role-{region.tib.id}" not in options(page, "steps-0-target")  # never itself
    assert 'name="find"' in page and "Someone else to call?" in page

    # Find by name: the match joins the lists, and what was chosen stays chosen.
    token = Auth(client).csrf_token("/")
    answer = client.post(url, data=escalation_form(
        token, region.tib.version, [(f"role-{region.vb.id}", 7)],
        find="zelda", find_targets="1"))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "1 found for “zelda”" in page
    assert options(page, "steps-1-target") == near | {f"person-{region.zelda.id}"}
    assert selected(page, "steps-0-target") == f"role-{region.vb.id}"
    assert 'value="7"' in page
    assert db.session.scalars(select(RoleEscalationStep)).all() == []  # a search saves nothing

    # Words of an entry and of its actor together: "kiruna tib".
    page = client.post(url, data=escalation_form(
        token, region.tib.version, [], find="kiruna tib", find_targets="1")).get_data(
        as_text=True)
    assert f"role-{region.far_tib.id}" in options(page, "steps-0-target")

    # A target far away is saved though the page did not list it, and is then listed.
    answer = client.post(url, data=escalation_form(
        token, region.tib.version, [(f"role-{region.vb.id}", 5),
                                    (f"person-{region.zelda.id}", 10)]))
    assert answer.status_code == 302
    db.session.expire_all()
    assert [targets.target_value(s.target) for s in escalations.steps_of(region.tib)] == [
        f"role-{region.vb.id}", f"person-{region.zelda.id}"]
    page = client.get(url).get_data(as_text=True)
    assert f"person-{region.zelda.id}" in options(page, "steps-1-target")
    assert selected(page, "steps-1-target") == f"person-{region.zelda.id}"


def test_at_national_scale_a_tree_step_lists_the_owners_and_finds_the_rest(
        region, national, client, login_as):
    login_as(UserRole.EDITOR, actors=[region.haninge])
    url = f"/calltrees/{region.tree.id}/nodes/new"
    page = client.get(url).get_data(as_text=True)
    listed = options(page, "target")
    assert f"role-{region.tib.id}" in listed and f"person-{region.lena.id}" in listed
    assert f"person-{region.zelda.id}" not in listed
    token = Auth(client).csrf_token("/")
    page = client.post(url, data={"csrf_token": token, "target": f"role-{region.tib.id}",
                                  "find": "zorn", "find_targets": "1"}).get_data(as_text=True)
    assert f"person-{region.zelda.id}" in options(page, "alternates-0-target")
    assert selected(page, "target") == f"role-{region.tib.id}"
    answer = client.post(url, data={"csrf_token": token, "target": f"person-{region.zelda.id}",
                                    "alternates-0-target": f"role-{region.far_tib.id}",
                                    "alternates-0-minutes": "5"})
    assert answer.status_code == 302
    node = db.session.scalars(select(CallTreeNode)).one()
    assert node.target_person_id == region.zelda.id
    assert [a.target.id for a in node.alternates] == [region.far_tib.id]


def test_the_api_takes_any_live_target_at_national_scale(region, national, client):
    from tests.conftest import make_user

    editor = make_user("editor@example.org", role=UserRole.EDITOR, actors=[region.haninge])
    response = client.post(f"{API}/call-tree-nodes", headers=bearer(editor), json={
        "tree_id": region.tree.id, "target": f"person-{region.zelda.id}",
        "alternates": [{"target": f"role-{region.far_tib.id}", "minutes": 5}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert matches(response, "CallTreeStep")["target"] == f"person-{region.zelda.id}"


@pytest.mark.parametrize("value", [
    "role-²", "role-99999999999999999999", "role-", "robot-1", "role-1-2", "role--1",
    "person-0",
])
def test_a_malformed_target_is_a_field_message_and_nothing_is_written(
        region, client, login_as, value):
    login_as(UserRole.EDITOR, actors=[region.haninge])
    token = Auth(client).csrf_token("/")
    answer = client.post(f"/roles/{region.tib.id}/escalation", data=escalation_form(
        token, region.tib.version, [(value, 5)]))
    assert answer.status_code == 422
    assert "Not a valid choice" in answer.get_data(as_text=True)
    answer = client.post(f"/calltrees/{region.tree.id}/nodes/new", data={
        "csrf_token": token, "target": value})
    assert answer.status_code == 422
    assert db.session.scalars(select(RoleEscalationStep)).all() == []
    assert db.session.scalars(select(CallTreeNode)).all() == []
    assert targets.parse_target(value) is None


def test_a_malformed_target_through_the_api_is_a_field_error(region, client):
    from tests.conftest import make_user

    editor = make_user("editor@example.org", role=UserRole.EDITOR, actors=[region.haninge])
    response = client.post(f"{API}/call-tree-nodes", headers=bearer(editor), json={
        "tree_id": region.tree.id, "target": "role-99999999999999999999"})
    assert response.status_code == 422
    assert "target" in field_errors(response)


@pytest.mark.parametrize("persona", ["editor", "admin"])
def test_owner_and_convener_lists_hold_the_actors_one_may_change(region, client, login_as,
                                                                  persona):
    """A call tree's owner and a pattern's convener: an editor's own actors, every
    live actor for a coordinator (who may also make a regional tree); a pattern's
    participants are every live actor."""
    if persona == "editor":
        login_as(UserRole.EDITOR, actors=[region.haninge])
        mine = {str(region.haninge.id)}
    else:
        login_as(UserRole.ADMIN)
        mine = {str(a.id) for a in (region.county, region.haninge, region.far)} | {"0"}
    everyone = {str(a.id) for a in (region.county, region.haninge, region.far)}
    page = client.get("/calltrees/new").get_data(as_text=True)
    assert options(page, "owner") == mine
    page = client.get("/patterns/new").get_data(as_text=True)
    assert options(page, "convener") == mine - {"0"}
    assert options(page, "participants") == everyone


def test_a_search_by_name_lists_roles_first_and_says_when_it_found_more(
        region, national, client, login_as, monkeypatch):
    """"kiruna" names Kiruna's actor, its roles and all its persons: roles come
    first, then the switchboard, then persons, and the page says it cut."""
    monkeypatch.setattr(targets, "FOUND_MAX", 3)
    for n in range(4):
        make_person(region.far, f"Person {n} Kirunabo")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[region.haninge])
    token = Auth(client).csrf_token("/")
    answer = client.post(f"/roles/{region.tib.id}/escalation", data=escalation_form(
        token, region.tib.version, [], find="  kiruna  ", find_targets="1"))
    page = answer.get_data(as_text=True)
    listed = options(page, "steps-0-target")
    assert {f"role-{region.far_tib.id}", f"actor-{region.far.id}"} <= listed
    assert len([v for v in listed if v.startswith("person-")
                and v != f"person-{region.lena.id}"]) == 1
    assert "More than 3 found for “kiruna”" in page
    assert 'value="kiruna"' in page  # what was searched, as searched
    # Enter in a step saves (the form's first submit button); in the name field, finds.
    form = page[page.rfind("<form", 0, page.index('name="find"')):]
    first_button = re.search(r'<(?:button|input)[^>]*type="submit"[^>]*>', form)[0]
    assert 'name="submit"' in first_button
    assert 'data-enter-presses="find_targets"' in page


@pytest.mark.parametrize("value", ["²", "١٢", "99999999999999999999", "0", "-1", "1.5", ""])
def test_ids_typed_in_forms_and_addresses_are_read_or_refused_never_a_500(
        region, client, login_as, value):
    from directory.core.limits import id_from_text

    assert id_from_text(value) is None
    login_as(UserRole.EDITOR, actors=[region.haninge])
    if value:  # an empty ?parent= is a step at the top
        answer = client.get(f"/calltrees/{region.tree.id}/nodes/new",
                            query_string={"parent": value})
        assert answer.status_code == 404
    answer = client.get(f"/actors/{region.haninge.slug}/contacts/new",
                        query_string={"owner": f"role-{value}"})
    assert answer.status_code == 404
