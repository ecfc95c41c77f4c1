"""The JSON API: what it answers, who may change what, pages, ETags, errors.

Each answer checked here is also checked against its schema in the OpenAPI
description, so the description and the app cannot drift apart unnoticed.
"""

from datetime import UTC, date, datetime, timedelta

import jsonschema_rs
import pytest
from sqlalchemy import select

from directory.accounts import credentials
from directory.api import schemas, spec
from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import (
    AuditEvent,
    CallTree,
    CollaborationPattern,
    ContactKind,
    ContactPoint,
    Mode,
    ModeState,
    Override,
    PathMode,
    Person,
    Phase,
    Role,
    Scenario,
    ScenarioMeasure,
    Shift,
    UserRole,
    utcnow,
)
from directory.core.settings import VIEWERS_SEE_CONFIDENTIAL, set_setting
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role, make_user

API = "/api/v1"


# --- Helpers: a small region, users with tokens, schema checks -------------


@pytest.fixture
def region(app):
    """Haninge (with a TiB on call and a confidential number) and Nynäshamn."""
    haninge = make_actor("Haninge kommun", short_name="HK")
    nynashamn = make_actor("Nynäshamns kommun")
    asa = make_person(haninge, "Åsa Öberg", title="Säkerhetssamordnare")
    bo = make_person(haninge, "Bo Ek")
    tib = make_role(haninge)
    primary = make_contact(tib, "+46701740610", label="TiB 24/7")
    staff = make_contact(tib, "+46701740611", mode=PathMode.ACTIVATED, priority=1)
    private = make_contact(asa, "+46701740675", confidential=True, label="Privat mobil")
    work = make_contact(asa, "+46701740676", label="Tjänstemobil")
    db.session.commit()
    return type("Region", (), dict(haninge=haninge, nynashamn=nynashamn, asa=asa, bo=bo,
                                   tib=tib, primary=primary, staff=staff, private=private,
                                   work=work))


def bearer(user) -> dict:
    """Authorization headers with a fresh API token of `user`."""
    _token, secret = credentials.create_api_token(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def editor(region):
    return make_user("editor@example.org", role=UserRole.EDITOR, actors=[region.haninge])


@pytest.fixture
def as_editor(editor):
    return bearer(editor)


@pytest.fixture
def as_viewer(app):
    return bearer(make_user("viewer@example.org", role=UserRole.VIEWER))


@pytest.fixture
def as_admin(app):
    return bearer(make_user("admin@example.org", role=UserRole.ADMIN))


_DOCUMENT = None


def matches(response, schema_name: str) -> dict:
    """The JSON body, after checking it against its schema in the description."""
    global _DOCUMENT
    if _DOCUMENT is None:
        _DOCUMENT = spec.document()
    body = response.get_json()
    schema = {"$ref": f"#/components/schemas/{schema_name}",
              "components": _DOCUMENT["components"]}
    errors = [str(e) for e in jsonschema_rs.Draft202012Validator(schema).iter_errors(body)]
    assert not errors, errors
    return body


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return matches(response, "Problem")


def field_errors(response) -> dict:
    return {e["field"]: e["message"] for e in problem(response, 422)["errors"]}


# --- Reading ------------------------------------------------------------------


def test_actors_are_listed_in_pages_in_id_order(client, as_viewer, region):
    for n in range(3):
        make_actor(f"Aktör {n}")
    db.session.commit()
    first = client.get(f"{API}/actors?per_page=2", headers=as_viewer)
    body = matches(first, "ActorPage")
    assert (body["page"], body["per_page"], body["total"], body["pages"]) == (1, 2, 5, 3)
    assert [a["name"] for a in body["items"]] == ["Haninge kommun", "Nynäshamns kommun"]
    assert 'rel="next"' in first.headers["Link"] and "page=2" in first.headers["Link"]
    last = matches(client.get(f"{API}/actors?per_page=2&page=3", headers=as_viewer), "ActorPage")
    assert [a["name"] for a in last["items"]] == ["Aktör 2"]
    beyond = matches(client.get(f"{API}/actors?page=9", headers=as_viewer), "ActorPage")
    assert beyond["items"] == [] and beyond["total"] == 5


@pytest.mark.parametrize("query", ["per_page=201", "per_page=0", "page=0", "page=x",
                                   "per_page=-3"])
def test_page_and_per_page_are_bounded(client, as_viewer, region, query):
    errors = field_errors(client.get(f"{API}/actors?{query}", headers=as_viewer))
    assert set(errors) == {query.split("=")[0]}


def test_an_actor_by_id_and_by_slug(client, as_viewer, region):
    one = matches(client.get(f"{API}/actors/{region.haninge.id}", headers=as_viewer), "Actor")
    assert one["slug"] == "haninge-kommun" and one["version"] == region.haninge.version
    found = client.get(f"{API}/actors?slug=nynashamns-kommun", headers=as_viewer).get_json()
    assert [a["id"] for a in found["items"]] == [region.nynashamn.id]


def test_a_missing_or_deleted_entry_is_a_404_problem(client, as_viewer, region):
    region.bo.deleted_at = utcnow()
    db.session.commit()
    problem(client.get(f"{API}/persons/{region.bo.id}", headers=as_viewer), 404)
    problem(client.get(f"{API}/persons/999999", headers=as_viewer), 404)
    problem(client.get(f"{API}/persons/99999999999999999999", headers=as_viewer), 404)


def test_persons_and_roles_of_an_actor(client, as_viewer, region):
    make_person(region.nynashamn, "Cecilia Nyström")
    db.session.commit()
    persons = matches(client.get(f"{API}/persons?actor_id={region.haninge.id}",
                                 headers=as_viewer), "PersonPage")
    assert [p["name"] for p in persons["items"]] == ["Åsa Öberg", "Bo Ek"]
    roles = matches(client.get(f"{API}/roles?actor_id={region.haninge.id}", headers=as_viewer),
                    "RolePage")
    assert [r["short_name"] for r in roles["items"]] == ["TiB"]
    role = matches(client.get(f"{API}/roles/{region.tib.id}", headers=as_viewer), "Role")
    assert role["name"] == "Tjänsteman i beredskap"


def test_contact_points_show_the_number_as_stored_read_and_dialled(client, as_viewer, region):
    make_contact(region.haninge, "112", kind=ContactKind.LANDLINE, label="Nödnummer")
    make_contact(region.haninge, "tib@haninge.example", kind=ContactKind.EMAIL)
    db.session.commit()
    body = matches(client.get(f"{API}/contact-points?owner_type=actor&owner_id="
                              f"{region.haninge.id}", headers=as_viewer), "ContactPointPage")
    short, email = body["items"]
    assert (short["value"], short["display"], short["uri"]) == ("112", "112", "tel:112")
    assert email["uri"] == "mailto:tib@haninge.example"
    point = matches(client.get(f"{API}/contact-points/{region.primary.id}", headers=as_viewer),
                    "ContactPoint")
    assert (point["value"], point["display"], point["uri"]) == (
        "+46701740610", "070-174 06 10", "tel:+46701740610")
    assert (point["owner_type"], point["owner_id"]) == ("role", region.tib.id)


def test_owner_type_and_owner_id_go_together(client, as_viewer, region):
    assert set(field_errors(client.get(f"{API}/contact-points?owner_type=role",
                                       headers=as_viewer))) == {"owner_id"}


def test_who_is_on_call_for_a_role_now_and_at_a_time(client, as_viewer, region):
    now = utcnow()
    db.session.add_all([
        Override(role=region.tib, person=region.asa, starts_at=now - timedelta(hours=1),
                 ends_at=now + timedelta(hours=3), reason="Sjukdom"),
        Shift(role=region.tib, person=region.bo, starts_at=now + timedelta(days=1),
              ends_at=now + timedelta(days=2)),
    ])
    db.session.commit()
    body = matches(client.get(f"{API}/roles/{region.tib.id}/on-call", headers=as_viewer),
                   "RoleOnCall")
    assert body["on_call"]["source"] == "override"
    assert body["on_call"]["person"]["name"] == "Åsa Öberg"
    assert [p["value"] for p in body["person_contact_points"]] == ["+46701740676"]  # no secret
    assert [p["value"] for p in body["role_contact_points"]] == ["+46701740610"]  # ordinary
    tomorrow = (now + timedelta(days=1, hours=2)).astimezone(UTC).isoformat()
    later = client.get(f"{API}/roles/{region.tib.id}/on-call", headers=as_viewer,
                       query_string={"at": tomorrow}).get_json()
    assert (later["on_call"]["source"], later["on_call"]["person"]["name"]) == ("shift", "Bo Ek")


def test_the_numbers_follow_the_mode_in_force(client, as_viewer, region):
    db.session.add(ModeState(scope="region", mode=Mode.ACTIVATED, reason="Snöstorm"))
    db.session.commit()
    body = client.get(f"{API}/roles/{region.tib.id}/on-call", headers=as_viewer).get_json()
    assert body["mode"] == "activated"
    assert [p["value"] for p in body["role_contact_points"]] == ["+46701740611", "+46701740610"]


def test_at_must_be_a_readable_moment(client, as_viewer, region):
    for value in ("igår", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59"):
        errors = field_errors(client.get(f"{API}/roles/{region.tib.id}/on-call",
                                         query_string={"at": value}, headers=as_viewer))
        assert set(errors) == {"at"}


def test_local_time_without_an_offset_is_stockholm_time(client, as_viewer, region):
    body = client.get(f"{API}/roles/{region.tib.id}/on-call?at=2026-07-01T12:00",
                      headers=as_viewer).get_json()
    assert body["at"] == "2026-07-01T10:00:00Z"  # summer time, UTC+2


def test_who_is_on_call_for_every_role_of_an_actor(client, as_viewer, region):
    make_role(region.nynashamn, "Vakthavande", "VB")
    db.session.add(Shift(role=region.tib, person=region.bo, starts_at=utcnow(),
                         ends_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    body = matches(client.get(f"{API}/on-call?actor_id={region.haninge.id}", headers=as_viewer),
                   "OnCallItemPage")
    assert [(i["role"]["id"], i["on_call"]["person"]["name"]) for i in body["items"]] == [
        (region.tib.id, "Bo Ek")]


def test_shifts_and_overrides_of_a_role(client, as_viewer, region):
    now = utcnow()
    db.session.add_all([
        Shift(role=region.tib, person=region.bo, starts_at=now - timedelta(days=2),
              ends_at=now - timedelta(days=1)),
        Shift(role=region.tib, person=region.asa, starts_at=now, ends_at=now + timedelta(days=1)),
        Override(role=region.tib, person=region.asa, replaces_person=region.bo, starts_at=now,
                 ends_at=now + timedelta(hours=1)),
    ])
    db.session.commit()
    shifts = matches(client.get(f"{API}/shifts", headers=as_viewer,
                                query_string={"role_id": region.tib.id,
                                              "ends_after": now.isoformat()}), "ShiftPage")
    assert [s["person_id"] for s in shifts["items"]] == [region.asa.id]
    overrides = matches(client.get(f"{API}/overrides?person_id={region.asa.id}",
                                   headers=as_viewer), "OverridePage")
    assert overrides["items"][0]["replaces_person_id"] == region.bo.id


def test_a_call_tree_resolved(client, as_viewer, region):
    tree = CallTree(name="Larmkedja snö", actor=region.haninge, mode=Mode.ORDINARY,
                    valid_from=date(2026, 11, 1))
    db.session.add(tree)
    db.session.flush()
    top = add_node(tree, region.tib, escalate_after_minutes=5, alternates=[(region.asa, 10)])
    add_node(tree, region.nynashamn, parent=top, instructions="Ring växeln")
    db.session.commit()
    listed = matches(client.get(f"{API}/call-trees?actor_id={region.haninge.id}",
                                headers=as_viewer), "CallTreePage")
    assert [t["name"] for t in listed["items"]] == ["Larmkedja snö"]
    body = matches(client.get(f"{API}/call-trees/{tree.id}", headers=as_viewer),
                   "ResolvedCallTree")
    (node,) = body["nodes"]
    assert node["target"]["label"] == "TiB – Haninge kommun"
    assert [p["value"] for p in node["contact_points"]] == ["+46701740610"]
    assert node["escalate_after_minutes"] == 5
    assert node["alternates"][0]["target"]["name"] == "Åsa Öberg"
    assert "nobody_on_call" in node["warnings"]
    assert node["children"][0]["instructions"] == "Ring växeln"
    assert "no_path" in node["children"][0]["warnings"]


def test_patterns_scenarios_and_the_mode(client, as_viewer, region):
    scenario = Scenario(slug="sno", name="Snö och halka", goal="Framkomlighet")
    scenario.measures = [ScenarioMeasure(phase=Phase.PREPARATORY, position=1, text="Planera"),
                         ScenarioMeasure(phase=Phase.HANDLING, position=1, text="Samverka")]
    pattern = CollaborationPattern(name="Samverkanskonferens", convener_actor=region.haninge,
                                   starts_on=date(2026, 1, 1), scenario=scenario,
                                   recurrence="FREQ=DAILY;BYHOUR=9;BYMINUTE=0")
    db.session.add_all([scenario, pattern])
    db.session.flush()
    db.session.add_all([
        ContactPoint(pattern_id=pattern.id, kind=ContactKind.BRIDGE, value="+46701740699",
                     pin="12"),
        ModeState(scope=f"actor:{region.nynashamn.id}", actor_id=region.nynashamn.id,
                  mode=Mode.ACTIVATED, reason="Översvämning"),
    ])
    db.session.commit()
    found = matches(client.get(f"{API}/patterns/{pattern.id}", headers=as_viewer), "Pattern")
    assert [c["pin"] for c in found["channels"]] == ["12"]
    assert len(found["next_meetings"]) == 3 and found["next_meetings"][0].endswith(":00:00Z")
    assert matches(client.get(f"{API}/patterns", headers=as_viewer), "PatternPage")["total"] == 1
    story = matches(client.get(f"{API}/scenarios/{scenario.id}", headers=as_viewer), "Scenario")
    assert story["measures"] == {"preparatory": ["Planera"], "handling": ["Samverka"]}
    assert matches(client.get(f"{API}/scenarios", headers=as_viewer), "ScenarioPage")["total"] == 1
    mode = matches(client.get(f"{API}/mode", headers=as_viewer), "ModeOverview")
    assert mode["region"]["mode"] == "ordinary"
    assert [(a["actor_id"], a["mode"]) for a in mode["actors"]] == [
        (region.nynashamn.id, "activated")]
    own = matches(client.get(f"{API}/actors/{region.nynashamn.id}/mode", headers=as_viewer),
                  "ModeState")
    assert (own["mode"], own["reason"]) == ("activated", "Översvämning")


def test_search_answers_with_the_number_and_who_is_on_call(client, as_viewer, region):
    db.session.add(Shift(role=region.tib, person=region.bo, starts_at=utcnow(),
                         ends_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    body = matches(client.get(f"{API}/search?q=haninge+tib", headers=as_viewer), "SearchResults")
    first = body["results"][0]
    assert (first["type"], first["id"]) == ("role", region.tib.id)
    assert first["contact_points"][0]["value"] == "+46701740610"
    assert first["on_call"]["person"]["name"] == "Bo Ek"
    assert set(field_errors(client.get(f"{API}/search?q=+", headers=as_viewer))) == {"q"}


def test_search_answers_when_a_scenario_shares_the_words(client, as_viewer, region):
    db.session.add(Scenario(slug="haninge", name="Haninge snöstorm"))
    db.session.commit()
    response = client.get(f"{API}/search?q=haninge", headers=as_viewer)
    names = [r["name"] for r in matches(response, "SearchResults")["results"]]
    assert "Haninge kommun" in names


def test_reverse_lookup_of_a_number_written_any_way(client, as_viewer, region):
    for typed in ("070-174 06 10", "+46 70 174 06 10", "0046701740610"):
        body = matches(client.get(f"{API}/lookup", query_string={"number": typed},
                                  headers=as_viewer), "LookupResults")
        assert body["number"] == "+46701740610"
        assert [(r["owner"]["type"], r["actor"]["name"]) for r in body["results"]] == [
            ("role", "Haninge kommun")]
    errors = field_errors(client.get(f"{API}/lookup?number=07x", headers=as_viewer))
    assert errors == {"number": "A phone number may contain only digits, spaces, +, - and ()."}


# --- Confidential numbers ---------------------------------------------------


def test_a_viewer_does_not_learn_of_a_confidential_number(client, as_viewer, region):
    listed = client.get(f"{API}/contact-points?owner_type=person&owner_id={region.asa.id}",
                        headers=as_viewer).get_json()
    assert [p["value"] for p in listed["items"]] == ["+46701740676"]
    assert listed["total"] == 1
    problem(client.get(f"{API}/contact-points/{region.private.id}", headers=as_viewer), 404)
    lookup = client.get(f"{API}/lookup?number=0701740675", headers=as_viewer).get_json()
    assert lookup["results"] == []
    search = client.get(f"{API}/search?q=privat", headers=as_viewer).get_json()
    assert search["results"] == []


@pytest.mark.parametrize("who", ["editor", "admin", "viewer allowed by the setting"])
def test_a_confidential_number_is_shown_to_those_allowed(client, region, who):
    if who == "editor":
        user = make_user("e@example.org", role=UserRole.EDITOR, actors=[region.haninge])
    elif who == "admin":
        user = make_user("a@example.org", role=UserRole.ADMIN)
    else:
        user = make_user("v@example.org")
        set_setting(VIEWERS_SEE_CONFIDENTIAL, True)
    headers = bearer(user)
    listed = client.get(f"{API}/contact-points?owner_type=person&owner_id={region.asa.id}",
                        headers=headers).get_json()
    assert "+46701740675" in [p["value"] for p in listed["items"]]
    assert client.get(f"{API}/contact-points/{region.private.id}",
                      headers=headers).status_code == 200


def test_an_editor_of_another_actor_does_not_see_it(client, region):
    headers = bearer(make_user("o@example.org", role=UserRole.EDITOR,
                               actors=[region.nynashamn]))
    problem(client.get(f"{API}/contact-points/{region.private.id}", headers=headers), 404)


# --- ETag and If-None-Match -------------------------------------------------


def test_an_unchanged_entry_answers_304(client, as_viewer, region):
    url = f"{API}/persons/{region.asa.id}"
    first = client.get(url, headers=as_viewer)
    etag = first.headers["ETag"]
    assert etag == f'"person-{region.asa.id}-v1"'
    again = client.get(url, headers={**as_viewer, "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag


def test_a_changed_entry_answers_with_its_new_etag(client, as_viewer, region):
    url = f"{API}/persons/{region.asa.id}"
    etag = client.get(url, headers=as_viewer).headers["ETag"]
    region.asa.title = "Beredskapssamordnare"
    db.session.commit()
    changed = client.get(url, headers={**as_viewer, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_list_has_an_etag_that_follows_its_content(client, as_viewer, region):
    url = f"{API}/persons?actor_id={region.haninge.id}"
    etag = client.get(url, headers=as_viewer).headers["ETag"]
    assert client.get(url, headers={**as_viewer, "If-None-Match": etag}).status_code == 304
    make_person(region.haninge, "Cilla Ny")
    db.session.commit()
    assert client.get(url, headers={**as_viewer, "If-None-Match": etag}).status_code == 200


# --- Writing ------------------------------------------------------------------


def test_an_editor_adds_a_person_to_their_actor(client, as_editor, editor, region):
    response = client.post(f"{API}/persons", headers=as_editor,
                           json={"actor_id": region.haninge.id, "name": "Cilla Ny",
                                 "title": "Kommunikatör"})
    assert response.status_code == 201
    body = matches(response, "Person")
    assert response.headers["Location"] == f"{API}/persons/{body['id']}"
    assert response.headers["ETag"] == f'"person-{body["id"]}-v1"'
    person = db.session.get(Person, body["id"])
    assert (person.actor_id, person.title) == (region.haninge.id, "Kommunikatör")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.entity_type == "person",
                                                       AuditEvent.entity_id == person.id))
    assert event.user_id == editor.id  # the token's user is the one who changed it


def test_a_new_contact_path_is_validated_and_normalised_as_in_the_form(client, as_editor,
                                                                        region):
    response = client.post(f"{API}/contact-points", headers=as_editor, json={
        "owner_type": "person", "owner_id": region.bo.id, "kind": "mobile",
        "value": "070-174 06 20", "available_from": "08:00", "available_until": "17:00",
    })
    body = matches(response, "ContactPoint")
    assert (body["value"], body["mode"], body["priority"]) == ("+46701740620", "both", 1)
    assert (body["available_from"], body["available_until"]) == ("08:00", "17:00")
    short = client.post(f"{API}/contact-points", headers=as_editor, json={
        "owner_type": "actor", "owner_id": region.haninge.id, "kind": "landline",
        "value": "113 13"}).get_json()
    assert short["value"] == "11313"


def test_validation_failures_name_each_field_with_the_forms_message(client, as_editor, region):
    response = client.post(f"{API}/contact-points", headers=as_editor, json={
        "owner_type": "role", "owner_id": region.tib.id, "kind": "email",
        "value": "tib at haninge", "priority": 100,
    })
    assert field_errors(response) == {
        "value": "Enter a valid e-mail address.",
        "priority": "Number must be between 1 and 99.",
    }
    missing = field_errors(client.post(f"{API}/persons", headers=as_editor,
                                       json={"actor_id": region.haninge.id, "name": "  "}))
    assert missing == {"name": "This field is required."}


def test_opening_hours_need_both_times(client, as_editor, region):
    response = client.patch(f"{API}/contact-points/{region.primary.id}", headers=as_editor,
                            json={"available_from": "08:00"})
    assert field_errors(response) == {
        "available_until": "Give both times, or neither for around the clock."}


def test_the_body_must_have_the_described_types_and_fields(client, as_editor, region):
    errors = field_errors(client.post(f"{API}/contact-points", headers=as_editor, json={
        "owner_type": "role", "owner_id": region.tib.id, "kind": "pager", "value": 112,
        "priority": "1", "colour": "red",
    }))
    assert errors == {"kind": "Not a valid choice.", "value": "Give a text.",
                      "priority": "Give a whole number.", "colour": "Unknown field."}
    assert field_errors(client.post(f"{API}/roles", headers=as_editor, json={"name": "X"})) == {
        "actor_id": "This field is required."}
    nul = field_errors(client.patch(f"{API}/persons/{region.bo.id}", headers=as_editor,
                                    json={"title": "a\x00b"}))
    assert set(nul) == {"title"}


def test_a_body_that_is_not_a_json_object_is_refused(client, as_editor, region):
    url = f"{API}/persons/{region.bo.id}"
    problem(client.patch(url, headers=as_editor, json=["title"]), 400)
    problem(client.patch(url, headers=as_editor, data="title=x"), 415)


def test_a_change_keeps_the_fields_not_sent(client, as_editor, region):
    response = client.patch(f"{API}/contact-points/{region.primary.id}", headers=as_editor,
                            json={"label": "Dygnet runt", "confidential": True})
    body = matches(response, "ContactPoint")
    assert (body["label"], body["confidential"], body["value"]) == (
        "Dygnet runt", True, "+46701740610")
    assert body["version"] == 2 and response.headers["ETag"].endswith('-v2"')


def test_what_was_read_may_be_sent_back_whole(client, as_editor, region):
    url = f"{API}/persons/{region.bo.id}"
    read = client.get(url, headers=as_editor).get_json()
    response = client.patch(url, headers=as_editor, json={**read, "title": "Förrådsansvarig"})
    assert response.status_code == 200 and response.get_json()["title"] == "Förrådsansvarig"
    moved = client.patch(url, headers=as_editor, json={"actor_id": region.nynashamn.id})
    assert field_errors(moved) == {"actor_id": "This field cannot be changed here."}


def test_if_match_with_the_current_etag_or_version_saves(client, as_editor, region):
    url = f"{API}/persons/{region.bo.id}"
    etag = client.get(url, headers=as_editor).headers["ETag"]
    first = client.patch(url, headers={**as_editor, "If-Match": etag}, json={"title": "A"})
    assert first.status_code == 200
    second = client.patch(url, headers={**as_editor, "If-Match": "2"}, json={"title": "B"})
    assert second.status_code == 200 and second.get_json()["version"] == 3


def test_if_match_with_a_stale_etag_answers_412_and_saves_nothing(client, as_editor, region):
    url = f"{API}/persons/{region.bo.id}"
    stale = client.get(url, headers=as_editor).headers["ETag"]
    client.patch(url, headers=as_editor, json={"title": "Someone else's edit"})
    response = client.patch(url, headers={**as_editor, "If-Match": stale}, json={"title": "Mine"})
    body = problem(response, 412)
    assert body["current_version"] == 2 and body["changed_fields"] == ["title"]
    assert response.headers["ETag"] == f'"person-{region.bo.id}-v2"'
    db.session.expire_all()
    assert db.session.get(Person, region.bo.id).title == "Someone else's edit"
    deleting = client.delete(url, headers={**as_editor, "If-Match": stale})
    problem(deleting, 412)


def test_a_version_sent_back_in_the_body_is_a_precondition_too(client, as_editor, region):
    url = f"{API}/persons/{region.bo.id}"
    read = client.get(url, headers=as_editor).get_json()
    client.patch(url, headers=as_editor, json={"title": "Meanwhile"})
    problem(client.patch(url, headers=as_editor, json={**read, "title": "Mine"}), 412)


def test_a_duplicate_role_name_is_a_conflict(client, as_editor, region):
    response = client.post(f"{API}/roles", headers=as_editor,
                           json={"actor_id": region.haninge.id, "name": region.tib.name})
    assert "clashes" in problem(response, 409)["detail"]


def test_deleting_hides_the_entry_and_keeps_it_restorable(client, as_editor, region):
    url = f"{API}/contact-points/{region.work.id}"
    response = client.delete(url, headers=as_editor)
    assert response.status_code == 204 and response.get_data() == b""
    problem(client.get(url, headers=as_editor), 404)
    db.session.expire_all()
    assert db.session.get(ContactPoint, region.work.id).deleted_at is not None


def test_a_shift_is_added_with_the_forms_rules(client, as_editor, region):
    stranger = make_person(region.nynashamn, "Främling")
    db.session.commit()
    body = {"role_id": region.tib.id, "person_id": region.bo.id,
            "starts_at": "2026-12-24T08:00", "ends_at": "2026-12-25T08:00:30+01:00"}
    created = matches(client.post(f"{API}/shifts", headers=as_editor, json=body), "Shift")
    assert (created["starts_at"], created["ends_at"]) == (
        "2026-12-24T07:00:00Z", "2026-12-25T07:00:30Z")  # exact, Stockholm time in
    backwards = field_errors(client.post(f"{API}/shifts", headers=as_editor,
                                         json={**body, "ends_at": "2026-12-23T08:00"}))
    assert backwards == {"ends_at": "The end must be after the start."}
    foreign = field_errors(client.post(f"{API}/shifts", headers=as_editor,
                                       json={**body, "person_id": stranger.id}))
    assert foreign == {"person_id": "Not a valid choice."}
    moved = client.patch(f"{API}/shifts/{created['id']}", headers=as_editor,
                         json={"ends_at": "2026-12-26T08:00"})
    assert moved.get_json()["ends_at"] == "2026-12-26T07:00:00Z"


def test_an_override_names_whom_it_replaces_or_nobody(client, as_editor, region):
    body = {"role_id": region.tib.id, "person_id": region.asa.id,
            "starts_at": "2026-12-24T08:00", "ends_at": "2026-12-24T20:00",
            "replaces_person_id": region.bo.id, "reason": "Julafton"}
    created = matches(client.post(f"{API}/overrides", headers=as_editor, json=body), "Override")
    assert created["replaces_person_id"] == region.bo.id
    cleared = client.patch(f"{API}/overrides/{created['id']}", headers=as_editor,
                           json={"replaces_person_id": None}).get_json()
    assert cleared["replaces_person_id"] is None and cleared["reason"] == "Julafton"


def test_an_editor_confirms_a_review(client, as_editor, region):
    body = matches(client.post(f"{API}/actors/{region.haninge.id}/review", headers=as_editor),
                   "Actor")
    assert body["last_reviewed_at"] is not None and body["review_due_at"] is not None


def test_an_editor_changes_only_their_own_actors_entries(client, as_editor, region):
    other_role = make_role(region.nynashamn, "Vakthavande", "VB")
    db.session.commit()
    problem(client.patch(f"{API}/roles/{other_role.id}", headers=as_editor,
                         json={"name": "Mine now"}), 403)
    problem(client.post(f"{API}/roles", headers=as_editor,
                        json={"actor_id": region.nynashamn.id, "name": "Ny"}), 403)
    problem(client.patch(f"{API}/actors/{region.nynashamn.id}", headers=as_editor,
                         json={"name": "Mine"}), 403)


def test_a_viewer_changes_nothing_and_learns_nothing_from_validation(client, as_viewer, region):
    response = client.post(f"{API}/persons", headers=as_viewer, json={"nonsense": True})
    problem(response, 403)
    problem(client.delete(f"{API}/persons/{region.bo.id}", headers=as_viewer), 403)


def test_an_admin_changes_any_actors_entries(client, as_admin, region):
    response = client.patch(f"{API}/actors/{region.nynashamn.id}", headers=as_admin,
                            json={"review_interval_days": 90, "level": "local"})
    body = matches(response, "Actor")
    assert (body["review_interval_days"], body["level"]) == (90, "local")
    assert field_errors(client.patch(f"{API}/actors/{region.nynashamn.id}", headers=as_admin,
                                     json={"review_interval_days": 0})) == {
        "review_interval_days": "Number must be between 1 and 3650."}


# --- Signing in: bearer token or session with CSRF --------------------------


def test_without_credentials_the_api_answers_401_problem_json(client, region):
    response = client.get(f"{API}/actors")
    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    problem(client.get(f"{API}/actors", headers={"Authorization": "Bearer kv_nonsense"}), 401)


def test_a_bearer_token_writes_without_csrf_and_sets_no_cookie(client, as_editor, region):
    response = client.patch(f"{API}/persons/{region.bo.id}", headers=as_editor,
                            json={"title": "Via token"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_a_session_reads_without_csrf(client, login_as, region):
    login_as(UserRole.VIEWER)
    assert client.get(f"{API}/actors").status_code == 200


def test_a_session_must_send_the_csrf_token_to_write(client, login_as, region):
    login_as(UserRole.EDITOR, actors=[region.haninge])
    url = f"{API}/persons/{region.bo.id}"
    refused = client.patch(url, json={"title": "Forged"})
    assert "CSRF" in problem(refused, 403)["detail"]
    token = Auth(client).csrf_token("/")
    accepted = client.patch(url, json={"title": "Mine"}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200


def test_a_token_alone_signs_a_request_in_even_beside_a_session(client, login_as, region):
    login_as(UserRole.EDITOR, actors=[region.haninge])
    problem(client.get(f"{API}/actors", headers={"Authorization": "Bearer kv_wrong"}), 401)
    viewer = bearer(make_user("other@example.org"))
    # The viewer's token, not the editor's session, says who is asking.
    problem(client.patch(f"{API}/persons/{region.bo.id}", headers=viewer,
                         json={"title": "No"}), 403)


def test_a_token_works_whatever_cookie_the_client_has(client, as_editor, region):
    client.post("/language", data={"locale": "sv", "csrf_token": Auth(client).csrf_token()})
    response = client.get(f"{API}/actors", headers=as_editor)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_a_deactivated_users_token_stops_working(client, editor, as_editor, region):
    editor.active = False
    db.session.commit()
    problem(client.get(f"{API}/actors", headers=as_editor), 401)


def test_a_token_does_not_open_the_pages(client, as_editor, region):
    response = client.get("/", headers=as_editor)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_errors_under_the_api_are_problem_json_never_html(client, as_viewer, region):
    problem(client.get(f"{API}/no-such-thing", headers=as_viewer), 404)
    problem(client.put(f"{API}/actors", headers=as_viewer), 405)
    problem(client.get(f"{API}/persons/abc", headers=as_viewer), 404)


def test_lists_default_to_the_documented_page_size(client, as_viewer, region):
    body = client.get(f"{API}/persons", headers=as_viewer).get_json()
    assert body["per_page"] == schemas.DEFAULT_PER_PAGE


def test_role_validation_clashes_and_deleting_a_role(client, as_editor, region):
    created = client.post(f"{API}/roles", headers=as_editor,
                          json={"actor_id": region.haninge.id, "name": "Kommunikatör",
                                "short_name": "KiB"})
    assert matches(created, "Role")["short_name"] == "KiB"
    role_id = created.get_json()["id"]
    assert client.delete(f"{API}/roles/{role_id}", headers=as_editor).status_code == 204
    db.session.expire_all()
    assert db.session.get(Role, role_id).deleted_at is not None


def test_moments_are_answered_in_utc(client, as_viewer, region):
    db.session.add(Shift(role=region.tib, person=region.bo,
                         starts_at=datetime(2026, 12, 24, 7, tzinfo=UTC),
                         ends_at=datetime(2026, 12, 25, 7, tzinfo=UTC)))
    db.session.commit()
    item = client.get(f"{API}/shifts", headers=as_viewer).get_json()["items"][0]
    assert (item["starts_at"], item["ends_at"]) == ("2026-12-24T07:00:00Z",
                                                    "2026-12-25T07:00:00Z")


def test_a_role_carries_its_escalation_and_a_path_its_verification(client, as_viewer, region):
    """What pages and paper show beside a role and a number, the API answers too."""
    from directory.core import escalations
    from directory.core.models import CheckSource
    from directory.core.verification import record_call

    escalations.set_steps(region.tib, [(region.asa, 10), (region.haninge, 20)])
    reached = utcnow() - timedelta(days=3)
    record_call(region.primary, True, at=reached, source=CheckSource.EDITOR)
    record_call(region.work, False, source=CheckSource.CALL_OUT)
    db.session.commit()

    role = matches(client.get(f"{API}/roles/{region.tib.id}", headers=as_viewer), "Role")
    assert [(s["position"], s["after_minutes"], s["target"]["type"], s["target"]["id"])
            for s in role["escalation"]] == [
        (1, 10, "person", region.asa.id), (2, 20, "switchboard", region.haninge.id)]
    assert role["escalation"][1]["dead_end"]  # Haninge has no switchboard number

    primary = matches(client.get(f"{API}/contact-points/{region.primary.id}",
                                 headers=as_viewer), "ContactPoint")["verification"]
    assert primary["verified_how"] == "editor" and not primary["failed"]
    assert primary["verified_at"] == reached.astimezone(UTC).isoformat().replace("+00:00", "Z")
    work = matches(client.get(f"{API}/contact-points/{region.work.id}", headers=as_viewer),
                   "ContactPoint")["verification"]
    assert work["failed"] and work["verified_at"] is None
    never = matches(client.get(f"{API}/contact-points/{region.staff.id}", headers=as_viewer),
                    "ContactPoint")["verification"]
    assert never == {"verified_at": None, "verified_how": None, "failed": False,
                     "failed_at": None}
