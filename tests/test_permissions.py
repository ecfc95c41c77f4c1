"""Who may change what: every data-changing route against every kind of user.

The routes are found by walking the app's URL map, so a new route that
changes data and has no rule here makes `test_every_mutating_route_has_a_rule`
fail until someone decides who may use it.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallOut,
    CallOutKind,
    CallTree,
    CallTreeNode,
    CheckSource,
    CollaborationPattern,
    ContactPoint,
    Mode,
    Override,
    Person,
    Role,
    Scenario,
    User,
    UserRole,
    utcnow,
)
from directory.core.verification import record_call
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role, make_user

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Routes any visitor or signed-in user may post to, and why.
OPEN_ROUTES = {
    "auth.login": "signing in is how one gets a session",
    "auth.logout": "anyone signed in may sign out",
    "lookup.set_language": "anyone may choose the language, even before signing in",
    "tokens.create": "anyone signed in makes their own API tokens",
    "tokens.revoke_own": "anyone signed in revokes their own API tokens (others' are 404)",
    "devices.create": "anyone signed in makes device passwords for their own phones",
    "devices.revoke_own": "anyone signed in revokes their own device passwords (others' are 404)",
    "reminders.account": "anyone signed in chooses how often they get mail",
    "printing.binder_preview_job": "anyone signed in previews the binder, as with GET "
                                   "/binder.pdf: it records nothing, and the PDF holds what "
                                   "they may see (tests/test_print_jobs.py)",
}


@dataclass
class World:
    own: Actor
    other: Actor
    person: Person
    role: Role
    point: ContactPoint
    deleted: Person
    user: User
    override: Override
    tree: CallTree
    node: CallTreeNode
    drill: CallOut
    pattern: CollaborationPattern
    scenario: Scenario
    check: object = None  # an editor's "tested, works" on `point`


def actor_fields(w):
    return {"name": "Haninge kommun", "short_name": "HK", "kind": "municipality",
            "level": "regional", "review_interval_days": "180", "notes": "",
            "version": str(w.own.version)}


def pattern_fields(w):
    return {"name": "Samverkan", "convener": str(w.own.id), "convener_role_id": "0",
            "mode": "activated", "scenario_id": "0", "frequency": "daily", "times": "09:00, 15:00",
            "starts_on": "2026-12-01", "duration_minutes": "30", "participants": str(w.own.id)}


def scenario_fields(w):
    return {"name": f"Översvämning {w.own.id}", "facts": "Höga flöden",
            "preparatory": "Inventera pumpar\nVarna", "handling": "Evakuera"}


def tree_fields(w):
    return {"name": "Larmkedja snö", "owner": str(w.own.id), "mode": "activated",
            "scenario_id": "0", "revision": "2", "valid_from": "2026-12-01"}


def period_fields(w):
    return {"person_id": str(w.person.id), "starts_at": "2026-12-24T08:00",
            "ends_at": "2026-12-25T08:00", "reason": "Julafton"}


# endpoint -> (url, form data, may the owning actor's editor use it?)
RULES = {
    "editing.actor_edit": (lambda w: f"/actors/{w.own.slug}/edit", actor_fields, True),
    "editing.actor_review": (lambda w: f"/actors/{w.own.slug}/review", lambda w: {}, True),
    "editing.person_new": (lambda w: f"/actors/{w.own.slug}/persons/new",
                        lambda w: {"name": "Ny Person"}, True),
    "editing.person_edit": (lambda w: f"/persons/{w.person.id}/edit",
                         lambda w: {"name": "Åsa Öberg", "title": "TiB",
                                    "version": str(w.person.version)}, True),
    "editing.person_delete": (lambda w: f"/persons/{w.person.id}/delete",
                           lambda w: {"version": str(w.person.version)}, True),
    "editing.role_new": (lambda w: f"/actors/{w.own.slug}/roles/new",
                      lambda w: {"name": "Kommunikatör i beredskap"}, True),
    "editing.role_edit": (lambda w: f"/roles/{w.role.id}/edit",
                       lambda w: {"name": "Tjänsteman i beredskap", "short_name": "TiB",
                                  "version": str(w.role.version)}, True),
    "editing.role_delete": (lambda w: f"/roles/{w.role.id}/delete",
                         lambda w: {"version": str(w.role.version)}, True),
    "editing.contact_new": (lambda w: f"/actors/{w.own.slug}/contacts/new?owner=role-{w.role.id}",
                         lambda w: {"kind": "mobile", "value": "070-174 06 20",
                                    "mode": "both", "priority": "2"}, True),
    "editing.contact_edit": (lambda w: f"/contacts/{w.point.id}/edit",
                          lambda w: {"kind": "mobile", "value": "070-174 06 21",
                                     "mode": "both", "priority": "1",
                                     "version": str(w.point.version)}, True),
    "editing.contact_delete": (lambda w: f"/contacts/{w.point.id}/delete",
                            lambda w: {"version": str(w.point.version)}, True),
    "editing.restore": (lambda w: f"/history/person/{w.deleted.id}/restore", lambda w: {}, True),
    "editing.contact_move": (lambda w: f"/contacts/{w.point.id}/move",
                          lambda w: {"direction": "down", "version": str(w.point.version)},
                          True),
    "editing.schedule_new": (lambda w: f"/roles/{w.role.id}/overrides/new", period_fields, True),
    "editing.schedule_edit": (lambda w: f"/overrides/{w.override.id}/edit",
                           lambda w: {**period_fields(w), "version": str(w.override.version)},
                           True),
    "editing.schedule_delete": (lambda w: f"/overrides/{w.override.id}/delete",
                             lambda w: {"version": str(w.override.version)}, True),
    "admin.user_new": (lambda w: "/admin/users/new",
                       lambda w: {"email": "new@example.org", "role": "viewer",
                                  "active": "y"}, False,
                       {"success": (201,)}),  # shows the generated password once
    "admin.user_edit": (lambda w: f"/admin/users/{w.user.id}/edit",
                        lambda w: {"email": w.user.email, "role": "editor",
                                   "actors": str(w.own.id), "active": "y"}, False),
    "admin.user_password": (lambda w: f"/admin/users/{w.user.id}/password",
                            lambda w: {"password": "a new long password"}, False),
    "calltrees.new": (lambda w: "/calltrees/new", tree_fields, True),
    "calltrees.edit": (lambda w: f"/calltrees/{w.tree.id}/edit", tree_fields, True),
    "calltrees.delete": (lambda w: f"/calltrees/{w.tree.id}/delete", lambda w: {}, True),
    "calltrees.node_new": (lambda w: f"/calltrees/{w.tree.id}/nodes/new?parent={w.node.id}",
                       lambda w: {"target": f"person-{w.person.id}"}, True),
    "calltrees.node_edit": (lambda w: f"/nodes/{w.node.id}/edit",
                        lambda w: {"target": f"role-{w.role.id}",
                                   "escalate_after_minutes": "10",
                                   "alternates-0-target": f"actor-{w.own.id}",
                                   "alternates-0-minutes": "5"}, True),
    "calltrees.node_move": (lambda w: f"/nodes/{w.node.id}/move", lambda w: {"action": "down"},
                        True),
    "calltrees.node_delete": (lambda w: f"/nodes/{w.node.id}/delete", lambda w: {}, True),
    "callouts.start": (lambda w: f"/calltrees/{w.tree.id}/callouts/new",
                       lambda w: {"title": "Larm: snö", "kind": "real"}, True),
    "callouts.mark": (lambda w: f"/callouts/{w.drill.id}/steps/{w.node.id}",
                      lambda w: {"outcome": "no_answer", "path": str(w.point.id)}, True),
    "callouts.close": (lambda w: f"/callouts/{w.drill.id}/close", lambda w: {}, True),
    "editing.role_escalation": (lambda w: f"/roles/{w.role.id}/escalation",
                                lambda w: {"version": str(w.role.version),
                                           "steps-0-target": f"actor-{w.own.id}",
                                           "steps-0-minutes": "10"}, True),
    "coordination.mode": (lambda w: "/mode", lambda w: {"scope": "0", "mode": "activated",
                                                        "scenario": "0",
                                                        "reason": "Snöstorm",
                                                        "confirmed": "1"}, False),
    "coordination.pattern_new": (lambda w: "/patterns/new", pattern_fields, True),
    "coordination.pattern_edit": (lambda w: f"/patterns/{w.pattern.id}/edit", pattern_fields,
                                  True),
    "coordination.pattern_delete": (lambda w: f"/patterns/{w.pattern.id}/delete",
                                    lambda w: {}, True),
    "coordination.scenario_new": (lambda w: "/scenarios/new", scenario_fields, False),
    "coordination.scenario_edit": (lambda w: f"/scenarios/{w.scenario.slug}/edit",
                                   scenario_fields, False),
    "admin.settings": (lambda w: "/admin/settings",
                       lambda w: {"viewers_see_confidential": "y", "verify_after_days": "90"},
                       False),
    "editing.contact_check": (lambda w: f"/contacts/{w.point.id}/check",
                              lambda w: {"works": "Tested, works", "note": "Svarade"}, True),
    "editing.check_change": (lambda w: f"/checks/{w.check.id}/withdraw", lambda w: {}, True),
    "lookup.synonyms": (lambda w: "/search/synonyms",
                        lambda w: {"groups": "TRV, Trafikverket"}, False),
}

# Each capability keeps its own rules beside its tests, in tests/rules_*.py
# (a dict RULES of the same form, options may add {"json": True} for the API).
for _module in ("rules_exports", "rules_printing", "rules_api", "rules_actors"):
    try:
        _extra = __import__(f"tests.{_module}", fromlist=["RULES"]).RULES
    except ModuleNotFoundError:
        continue
    RULES.update(_extra)

PERSONAS = ["anonymous", "viewer", "editor_of_other", "editor_of_owner", "admin"]


def mutating_endpoints(app):
    """Every endpoint that changes data; one endpoint may answer several methods."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.methods & MUTATING and rule.endpoint not in OPEN_ROUTES
    }


def test_every_mutating_route_has_a_rule(app):
    assert mutating_endpoints(app) == set(RULES)


@pytest.fixture
def world(app):
    own = make_actor("Haninge kommun")
    other = make_actor("Nynäshamns kommun")
    person = make_person(own, "Åsa Öberg")
    role = make_role(own)
    point = make_contact(role, "+46701740610")
    deleted = make_person(own, "Borttagen Person", deleted_at=utcnow())
    user = make_user("someone@example.org")
    override = Override(role=role, person=person, starts_at=utcnow(),
                        ends_at=utcnow() + timedelta(hours=4))
    db.session.add(override)
    tree = CallTree(name="Larmkedja", actor=own, mode=Mode.ORDINARY, valid_from=date.today())
    db.session.add(tree)
    db.session.flush()
    node = add_node(tree, role)
    add_node(tree, person)
    drill = CallOut(call_tree=tree, kind=CallOutKind.DRILL, title="Övning",
                    started_at=utcnow())
    db.session.add(drill)
    pattern = CollaborationPattern(name="Veckomöte", convener_actor=own, starts_on=date.today(),
                                   recurrence="FREQ=WEEKLY;BYDAY=WE;BYHOUR=10;BYMINUTE=0")
    scenario = Scenario(slug="sno", name="Snö")
    db.session.add_all([pattern, scenario])
    check = record_call(point, True, source=CheckSource.EDITOR, note="Svarade")
    db.session.commit()
    return World(own, other, person, role, point, deleted, user, override, tree, node, drill,
                 pattern, scenario, check)


def sign_in(client, world, persona):
    if persona == "anonymous":
        return
    role, actors = {
        "viewer": (UserRole.VIEWER, []),
        "editor_of_other": (UserRole.EDITOR, [world.other]),
        "editor_of_owner": (UserRole.EDITOR, [world.own]),
        "admin": (UserRole.ADMIN, []),
    }[persona]
    user = make_user(f"{persona}@example.org", role=role, actors=actors)
    db.session.commit()
    assert Auth(client).login(user.email).status_code == 302


def database_state() -> dict[str, list[str]]:
    """Every row of every table, read afresh: to compare before and after a refusal."""
    db.session.rollback()  # a new transaction: see what the request committed
    state = {
        table.name: sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
        for table in db.metadata.sorted_tables
    }
    db.session.rollback()
    return state


def changed_tables(before: dict, after: dict) -> dict[str, tuple[list, list]]:
    """Per table that differs: the rows gone and the rows new."""
    return {
        name: ([r for r in before[name] if r not in after[name]],
               [r for r in after[name] if r not in before[name]])
        for name in before
        if before[name] != after[name]
    }


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint", sorted(RULES))
def test_permission_matrix(app, client, world, endpoint, persona):
    url, data, owner_may, *options = RULES[endpoint]
    options = options[0] if options else {}
    sign_in(client, world, persona)
    token = Auth(client).csrf_token("/login" if persona == "anonymous" else "/")
    target = url(world)
    before = database_state()
    if options.get("json"):
        response = client.open(target, method=options.get("method", "POST"), json=data(world),
                               headers={"X-CSRFToken": token})
    else:
        response = client.post(target, data={**data(world), "csrf_token": token})
    if persona == "anonymous" and target.startswith("/api/"):
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
    elif persona == "anonymous":
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    elif persona in ("viewer", "editor_of_other") or (
        persona == "editor_of_owner" and not owner_may
    ):
        assert response.status_code == 403
    else:
        expected = options.get("success", (302,))
        assert response.status_code in expected, response.get_data(as_text=True)[:2000]
        return
    # Refused: and nothing at all was written, not even in part.
    assert changed_tables(before, database_state()) == {}


def test_editor_cannot_open_another_actors_form(app, client, world):
    sign_in(client, world, "editor_of_other")
    assert client.get(f"/actors/{world.own.slug}/edit").status_code == 403
    assert client.get(f"/persons/{world.person.id}/edit").status_code == 403
    assert client.get(f"/contacts/{world.point.id}/edit").status_code == 403
