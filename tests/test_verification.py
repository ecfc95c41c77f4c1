"""Verified numbers: drills and editors record whether a path reached someone.

A drill step marked reached verifies the number the caller dials first for
the tree's mode; one not reached flags it. Editors mark "tested, works" or
"tested, failed" on the path's page (withdrawn and restored, recorded in the
history). Pages show it quietly beside the number, never beside a hidden
one; /review lists failed and stale numbers.
"""

from datetime import date, timedelta

from sqlalchemy import select

from directory.callouts import rules as callouts
from directory.calltrees import rules as calltrees
from directory.core.extensions import db
from directory.core.models import (
    AuditEvent,
    CallOutcome,
    CallOutKind,
    CallTree,
    CheckSource,
    Mode,
    PathCheck,
    PathMode,
    StepOutcome,
    UserRole,
    utcnow,
)
from directory.core.settings import VERIFY_AFTER_DAYS, set_setting
from directory.core.verification import PathStatus, record_call, statuses
from tests.conftest import Auth, make_actor, make_contact, make_role


def tree_to(role, mode=Mode.ORDINARY):
    tree = CallTree(name="Larmkedja snö", actor=role.actor, mode=mode, valid_from=date.today())
    db.session.add(tree)
    db.session.flush()
    return tree, calltrees.add_node(tree, role)


def test_a_drill_step_reached_verifies_the_number_used(app):
    role = make_role(make_actor())
    activated_only = make_contact(role, "+46701740609", mode=PathMode.ACTIVATED, priority=1)
    primary = make_contact(role, "+46701740610", priority=2)
    backup = make_contact(role, "+46701740611", priority=3)
    tree, node = tree_to(role)
    at = (utcnow() - timedelta(minutes=3)).replace(microsecond=0)
    drill = callouts.start_callout(tree, None, title="Övning", kind=CallOutKind.DRILL,
                                   at=at - timedelta(minutes=1))
    callouts.record_step_outcome(drill, node, StepOutcome.REACHED, primary, at, None)
    found = statuses([primary.id, backup.id, activated_only.id])
    assert found[primary.id].verified_at == at
    assert found[primary.id].verified_how is CheckSource.DRILL
    assert backup.id not in found and activated_only.id not in found


def test_a_step_with_no_answer_flags_the_number_until_a_call_reaches_it(app):
    role = make_role(make_actor())
    primary = make_contact(role, "+46701740610")
    tree, node = tree_to(role)
    record_call(primary, True, at=utcnow() - timedelta(days=2), source=CheckSource.EDITOR)
    drill = callouts.start_callout(tree, None, title="Övning", kind=CallOutKind.DRILL)
    callouts.record_step_outcome(drill, node, StepOutcome.MESSAGE_LEFT, primary, None, None)
    assert not statuses([primary.id])[primary.id].failed  # a voicemail says neither
    callouts.record_step_outcome(drill, node, StepOutcome.NO_ANSWER, primary, None, None)
    assert statuses([primary.id])[primary.id].failed
    record_call(primary, CallOutcome.REACHED, source=CheckSource.CALL_OUT)
    status = statuses([primary.id])[primary.id]
    assert not status.failed and status.verified_how is CheckSource.CALL_OUT


def test_stale_after_the_setting_days():
    now = utcnow()
    assert PathStatus().stale(now, 30)
    assert PathStatus(verified_at=now - timedelta(days=31)).stale(now, 30)
    assert not PathStatus(verified_at=now - timedelta(days=29)).stale(now, 30)


def test_editor_marks_tested_works_with_a_note_and_the_page_says_so(app, client, login_as):
    actor = make_actor()
    point = make_contact(make_role(actor), "+46701740610")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    page = client.get(f"/contacts/{point.id}/edit").get_data(as_text=True)
    assert "Never verified" in page
    token = Auth(client).csrf_token(f"/contacts/{point.id}/edit")
    response = client.post(f"/contacts/{point.id}/check",
                           data={"csrf_token": token, "works": "1", "note": "Anna svarade"})
    assert response.status_code == 302
    db.session.rollback()
    check = db.session.scalar(select(PathCheck))
    assert (check.outcome, check.source, check.note) == (
        CallOutcome.REACHED, CheckSource.EDITOR, "Anna svarade")
    actor_page = client.get(f"/actors/{actor.slug}").get_data(as_text=True)
    assert "verified" in actor_page and "minute" in actor_page
    recorded = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "contact_point", AuditEvent.entity_id == point.id)).all()
    assert any((e.after or {}).get("part") == "path_check" for e in recorded)


def test_editor_marks_failed_and_the_number_is_flagged_everywhere(app, client, login_as):
    actor = make_actor()
    point = make_contact(make_role(actor), "+46701740610", label="Jourmobil")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    token = Auth(client).csrf_token(f"/contacts/{point.id}/edit")
    client.post(f"/contacts/{point.id}/check", data={"csrf_token": token, "failed": "1"})
    assert "call failed" in client.get(f"/actors/{actor.slug}").get_data(as_text=True)
    review = client.get("/review").get_data(as_text=True)
    assert "Numbers whose latest call failed (1)" in review and "Jourmobil" in review


def test_a_mistaken_mark_is_withdrawn_and_restored(app, client, login_as):
    actor = make_actor()
    point = make_contact(make_role(actor), "+46701740610")
    check = record_call(point, False, source=CheckSource.EDITOR)
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    token = Auth(client).csrf_token(f"/contacts/{point.id}/edit")
    client.post(f"/checks/{check.id}/withdraw", data={"csrf_token": token})
    db.session.rollback()
    assert statuses([point.id]) == {}
    assert "withdrawn" in client.get(f"/contacts/{point.id}/edit").get_data(as_text=True)
    client.post(f"/checks/{check.id}/restore", data={"csrf_token": token})
    db.session.rollback()
    assert statuses([point.id])[point.id].failed
    actions = [e.action.value for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "contact_point").order_by(AuditEvent.id))]
    assert actions[-2:] == ["delete", "restore"]


def test_a_drills_record_cannot_be_withdrawn_by_an_editor(app, client, login_as):
    actor = make_actor()
    point = make_contact(make_role(actor), "+46701740610")
    check = record_call(point, True, source=CheckSource.DRILL)
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    token = Auth(client).csrf_token(f"/contacts/{point.id}/edit")
    assert client.post(f"/checks/{check.id}/withdraw",
                       data={"csrf_token": token}).status_code == 404


def test_a_note_too_long_is_a_field_message_and_nothing_is_written(app, client, login_as):
    actor = make_actor()
    point = make_contact(make_role(actor), "+46701740610")
    db.session.commit()
    login_as(UserRole.EDITOR, actors=[actor])
    token = Auth(client).csrf_token(f"/contacts/{point.id}/edit")
    response = client.post(f"/contacts/{point.id}/check",
                           data={"csrf_token": token, "works": "1", "note": "x" * 301})
    assert response.status_code == 422
    assert "300 characters" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(select(PathCheck)) is None


def test_a_hidden_number_shows_no_verification(app, client, login_as):
    actor = make_actor()
    role = make_role(actor)
    secret = make_contact(role, "+46701740610", confidential=True)
    record_call(secret, True, source=CheckSource.DRILL)
    db.session.commit()
    login_as(UserRole.VIEWER)
    page = client.get(f"/roles/{role.id}").get_data(as_text=True)
    assert "Hidden number" in page or "protected" in page
    assert "verified" not in page.lower().replace("never verified", "")
    assert "never verified" not in page


def test_review_lists_stale_numbers_after_the_setting(app, client, login_as):
    actor = make_actor()
    role = make_role(actor)
    old = make_contact(role, "+46701740610", label="Gammal")
    fresh = make_contact(role, "+46701740611", label="Färsk", priority=2)
    record_call(old, True, at=utcnow() - timedelta(days=40), source=CheckSource.EDITOR)
    record_call(fresh, True, at=utcnow() - timedelta(days=5), source=CheckSource.EDITOR)
    set_setting(VERIFY_AFTER_DAYS, 30)
    db.session.commit()
    login_as(UserRole.ADMIN)
    page = client.get("/review").get_data(as_text=True)
    stale = page.split('id="stale-paths"')[1].split("</section>")[0]
    assert "not verified in 30 days (1)" in stale
    assert "Gammal" in stale and "Färsk" not in stale


def test_the_call_tree_page_shows_verification_beside_its_numbers(app, client, login_as):
    role = make_role(make_actor())
    point = make_contact(role, "+46701740610")
    tree, _node = tree_to(role)
    record_call(point, True, source=CheckSource.DRILL)
    db.session.commit()
    login_as(UserRole.VIEWER)
    page = client.get(f"/calltrees/{tree.id}").get_data(as_text=True)
    assert 'class="verified"' in page


def test_a_coordinator_sets_the_days_and_bad_input_is_a_field_message(app, client, login_as):
    from directory.core.settings import get_setting

    login_as(UserRole.ADMIN)
    token = Auth(client).csrf_token("/admin/settings")
    response = client.post("/admin/settings", data={"csrf_token": token,
                                                    "verify_after_days": "0"})
    assert response.status_code == 200 and "Number must be between 1 and 3650" in \
        response.get_data(as_text=True)
    client.post("/admin/settings", data={"csrf_token": token, "verify_after_days": "45"})
    db.session.rollback()
    assert get_setting(VERIFY_AFTER_DAYS) == 45


def test_review_names_every_actor_with_stale_numbers_but_lists_a_bounded_number(
        app, client, login_as, monkeypatch):
    """At national scale every number may be unverified: each actor is named with
    its count, and the numbers are listed one by one only up to a bound (per
    actor, and on the page), the rest a link to the actor."""
    from directory.review import views as review

    monkeypatch.setattr(review, "STALE_PER_ACTOR", 2)
    monkeypatch.setattr(review, "STALE_ON_PAGE", 3)
    for n, name in enumerate(("Aktör A", "Aktör B", "Aktör C")):
        actor = make_actor(name)
        for k in range(3):
            make_contact(actor, f"+4670174{n}{k}10")
    db.session.commit()
    login_as("admin")
    page = client.get("/review").get_data(as_text=True)
    stale = page.split('id="stale-paths"')[1].split("</section>")[0]
    assert "(9)" in stale
    assert [stale.count(f">Aktör {x}</a>: 3") for x in "ABC"] == [1, 1, 1]
    assert stale.count("<li>") == 3  # two of A, one of B, none of C
    assert stale.count("and 1 more") == 1 and "and 2 more" in stale
