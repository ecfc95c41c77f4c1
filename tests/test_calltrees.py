"""Call trees: building, resolving for their mode, escalation, drills, mode switching."""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from directory.callouts import rules as callouts
from directory.calltrees import rules as calltrees
from directory.calltrees.rules import CallTreeError, add_node, resolve_tree
from directory.core.extensions import db
from directory.core.models import (
    CallOutKind,
    CallTree,
    CallTreeNode,
    Mode,
    ModeChange,
    PathMode,
    Rotation,
    RotationKind,
    RotationMember,
    StepOutcome,
    UserRole,
    utcnow,
)
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role

TZ = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def region(app):
    lan = make_actor("Länsstyrelsen Stockholm", last_reviewed_at=utcnow())
    lan_tib = make_role(lan)
    make_contact(lan_tib, "+46701740605", label="Dygnet runt")
    make_contact(lan_tib, "+46701740606", label="Stab", mode=PathMode.ACTIVATED)
    officer = make_person(lan, "Per Åkesson")
    db.session.add(Rotation(role=lan_tib, kind=RotationKind.DAILY, length_days=1,
                            handover_time=time(8, 0), starts_on=date(2020, 1, 1),
                            members=[RotationMember(person=officer, position=0)]))
    haninge = make_actor("Haninge kommun", last_reviewed_at=utcnow())
    han_tib = make_role(haninge)
    make_contact(han_tib, "+46701740608")
    switchboard = make_contact(haninge, "+46701740651", label="Växel")
    frg = make_actor("FRG Haninge")  # never reviewed, no paths
    db.session.commit()
    return {"lan_tib": lan_tib, "han_tib": han_tib, "haninge": haninge, "frg": frg,
            "officer": officer, "switchboard": switchboard}


def make_tree(mode=Mode.ORDINARY, actor=None):
    tree = CallTree(name=f"Larmkedja {mode.value}", mode=mode, actor=actor,
                    valid_from=date(2026, 12, 1))
    db.session.add(tree)
    db.session.flush()
    return tree


def test_a_tree_resolves_each_node_for_its_own_mode(region):
    tree = make_tree(Mode.ACTIVATED)
    add_node(tree, region["lan_tib"], instructions="Säg: detta är inte en övning")
    db.session.commit()
    (top,) = resolve_tree(tree, utcnow(), TZ)
    assert top.reach.paths[0].value == "+46701740606"  # the staff number, activated
    assert top.reach.on_call.person == region["officer"]
    assert top.warnings == []


def test_escalation_order_and_delays(region):
    tree = make_tree()
    add_node(tree, region["han_tib"], escalate_after_minutes=10,
             alternates=[(region["haninge"], 5), (region["lan_tib"], 15)])
    db.session.commit()
    (top,) = resolve_tree(tree, utcnow(), TZ)
    assert top.reach.escalate_after_minutes == 10
    assert [(a.target, a.escalate_after_minutes) for a in top.alternates] == [
        (region["haninge"], 5), (region["lan_tib"], 15)]
    assert top.alternates[0].paths == [region["switchboard"]]


def test_warnings_for_no_path_nobody_on_call_and_overdue_review(region):
    tree = make_tree()
    top = add_node(tree, region["han_tib"])
    add_node(tree, region["frg"], parent=top)
    db.session.commit()
    (resolved_top,) = resolve_tree(tree, utcnow(), TZ)
    assert resolved_top.warnings == ["nobody_on_call"]
    assert set(resolved_top.children[0].warnings) == {"no_path", "review_overdue"}


def test_the_service_refuses_moving_a_node_under_its_own_child(region):
    tree = make_tree()
    top = add_node(tree, region["lan_tib"])
    child = add_node(tree, region["han_tib"], parent=top)
    db.session.commit()
    with pytest.raises(CallTreeError, match="cycle"):
        calltrees.reparent(top, child, 0)


def test_indent_and_outdent_keep_depths_right_through_commit(region):
    tree = make_tree()
    first = add_node(tree, region["lan_tib"])
    second = add_node(tree, region["han_tib"])
    grandchild = add_node(tree, region["frg"], parent=second)
    db.session.commit()
    calltrees.move(second, "indent")  # second (and its child) go under first
    db.session.commit()
    assert (second.parent_id, second.depth, grandchild.depth) == (first.id, 1, 2)
    calltrees.move(second, "outdent")
    db.session.commit()
    assert (second.parent_id, second.depth, grandchild.depth) == (None, 0, 1)
    assert [n.node for n in resolve_tree(tree, utcnow(), TZ)] == [first, second]


def test_drill_report_figures_keep_seconds_and_tell_outcomes_apart(app, region):
    """A drill is a call-out: its report counts reached steps by their latest mark,
    to the second, and keeps "not called" apart from "no answer" and "message left"."""
    tree = make_tree()
    top = add_node(tree, region["lan_tib"])
    middle = add_node(tree, region["han_tib"], parent=top)
    last = add_node(tree, region["frg"], parent=middle)
    drill = callouts.start_callout(tree, None, title="Övning", kind=CallOutKind.DRILL)
    start = drill.started_at
    path = callouts.step_paths(top)[0][1]

    def mark(node, outcome, seconds):
        paths = callouts.step_paths(node)
        point = paths[0][1] if paths and outcome != StepOutcome.NOT_CALLED else None
        callouts.record_step_outcome(drill, node, outcome, point,
                                     start + timedelta(seconds=seconds), None)

    mark(top, StepOutcome.REACHED, 125)
    mark(middle, StepOutcome.MESSAGE_LEFT, 300)
    states = callouts.step_states(drill, TZ)
    report = callouts.report(drill, states)
    assert (report.total, report.reached, report.time_to_reach_all) == (3, 1, None)
    assert [s.node for s in report.by_outcome[StepOutcome.MESSAGE_LEFT]] == [middle]
    assert [s.node for s in report.by_outcome[StepOutcome.NOT_CALLED]] == [last]
    mark(middle, StepOutcome.REACHED, 541)
    mark(last, StepOutcome.REACHED, 842)
    callouts.close_callout(drill, None, at=start + timedelta(minutes=20))
    report = callouts.report(drill, callouts.step_states(drill, TZ))
    assert report.time_to_reach_all == timedelta(seconds=842)
    assert callouts.duration_text(report.time_to_reach_all) == "14:02"
    assert [s.node for s, _took in report.slowest] == [last, middle, top]
    with pytest.raises(callouts.CallOutError, match="closed"):
        callouts.record_step_outcome(drill, top, StepOutcome.NO_ANSWER, path, None, None)


def test_editor_builds_a_tree_in_the_browser(client, login_as, region):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    token = Auth(client).csrf_token("/")
    response = client.post("/calltrees/new", data={
        "csrf_token": token, "name": "Haninges larmkedja", "owner": str(region["haninge"].id),
        "mode": "ordinary", "scenario_id": "0", "revision": "1", "valid_from": "2026-12-01"})
    assert response.status_code == 302
    tree = db.session.scalar(select(CallTree))
    client.post(f"/calltrees/{tree.id}/nodes/new", data={
        "csrf_token": token, "target": f"role-{region['han_tib'].id}",
        "escalate_after_minutes": "10", "alternates-0-target": f"actor-{region['haninge'].id}",
        "alternates-0-minutes": "5"})
    node = db.session.scalar(select(CallTreeNode))
    assert node.target_role == region["han_tib"]
    page = client.get(f"/calltrees/{tree.id}").get_data(as_text=True)
    assert "070-174 06 08" in page and "No answer within 10 min? Call:" in page


def test_coordinator_activates_the_region_and_search_follows(client, login_as, region):
    login_as(UserRole.ADMIN)
    assert "+46701740605" in client.get("/search?q=lansstyrelsen+tib").get_data(as_text=True)
    token = Auth(client).csrf_token("/mode")
    response = client.post("/mode", data={"csrf_token": token, "scope": "0",
                                          "mode": "activated", "scenario": "0",
                                          "reason": "Snöoväder", "confirmed": "1"})
    assert response.status_code == 302
    page = client.get("/search?q=lansstyrelsen+tib").get_data(as_text=True)
    first = page[page.index('href="tel:') + 10:].split('"')[0]
    assert first == "+46701740606"
    change = db.session.scalar(select(ModeChange))
    assert (change.to_mode, change.reason, change.changed_by.role) == (
        Mode.ACTIVATED, "Snöoväder", UserRole.ADMIN)
    assert "Snöoväder" in client.get("/mode").get_data(as_text=True)


def test_a_mode_switch_needs_a_reason(client, login_as, region):
    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/mode")
    response = client.post("/mode", data={"csrf_token": token, "scope": "0",
                                          "mode": "activated", "scenario": "0", "reason": ""})
    assert response.status_code == 422
    assert db.session.scalar(select(ModeChange)) is None


def test_an_actor_switched_back_follows_the_region_again(client, login_as, region):
    from directory.core.modes import mode_for, switch_mode

    user = login_as(UserRole.ADMIN)
    switch_mode(region["haninge"], Mode.ACTIVATED, reason="Lokal händelse", user=user)
    db.session.commit()
    assert mode_for(region["haninge"]).mode is Mode.ACTIVATED
    switch_mode(region["haninge"], Mode.ORDINARY, reason="Avslutad", user=user)
    switch_mode(None, Mode.ACTIVATED, reason="Regional händelse", user=user)
    db.session.commit()
    assert mode_for(region["haninge"]).mode is Mode.ACTIVATED
    assert len(db.session.scalars(select(ModeChange)).all()) == 3


def test_long_names_break_only_at_swedish_hyphenation_points(app, client, login_as):
    from directory.core.text import SOFT_HYPHEN, breakable

    name = "Samhällsbyggnadsförvaltningen <b>"
    assert breakable(name).replace(SOFT_HYPHEN, "") == name
    assert breakable(name).startswith(f"Samhälls{SOFT_HYPHEN}bygg")
    assert breakable("Haninge kommun – TiB") == "Haninge kommun – TiB"  # short words whole

    actor = make_actor("Samhällsbyggnadsförvaltningen <b>Haninge</b>")
    role = make_role(actor)
    make_contact(role, "+46701740611")
    tree = make_tree()
    add_node(tree, role)
    db.session.commit()
    login_as("viewer")
    page = client.get(f"/calltrees/{tree.id}").get_data(as_text=True)
    assert f"Samhälls{SOFT_HYPHEN}bygg" in page
    assert "<b>Haninge" not in page and "&lt;b&gt;Haninge" in page
