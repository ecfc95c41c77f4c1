"""A role's own escalation ("no answer within N min → …"): its rules, who may change
it, and where it is shown (role card and page, the board, print, the API's data);
and the role card's "who takes over next, and when"."""

import io
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from directory.core import escalations
from directory.core.extensions import db
from directory.core.models import (
    ContactKind,
    Role,
    RoleEscalationStep,
    Rotation,
    RotationKind,
    RotationMember,
    UserRole,
    utcnow,
)
from directory.core.schedules import outlook
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role

TZ = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def region(app):
    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge)
    make_contact(tib, "+46701740608")
    vb = make_role(haninge, "Vakthavande befäl", "VB")
    make_contact(vb, "+46701740612")
    make_contact(haninge, "+46701740651", label="Växel", kind=ContactKind.SWITCHBOARD)
    chief = make_person(haninge, "Lena Håkansson")
    make_contact(chief, "+46701740620", confidential=True)
    frg = make_actor("FRG Haninge")  # no paths at all
    nobody = make_person(frg, "Nils Nilsson")  # no paths either
    db.session.commit()
    return {"haninge": haninge, "tib": tib, "vb": vb, "chief": chief, "frg": frg,
            "nobody": nobody}


def steps_in_db() -> list[tuple]:
    return db.session.execute(
        select(RoleEscalationStep.role_id, RoleEscalationStep.position,
               RoleEscalationStep.after_minutes, RoleEscalationStep.target_role_id,
               RoleEscalationStep.target_person_id, RoleEscalationStep.target_actor_id)
        .order_by(RoleEscalationStep.role_id, RoleEscalationStep.position)).all()


def test_steps_are_kept_in_order_and_read_as_a_chain(region, app):
    escalations.set_steps(region["tib"], [(region["vb"], 10), (region["haninge"], 5),
                                          (region["chief"], 5)])
    db.session.commit()
    with app.test_request_context():
        chain = escalations.chain(region["tib"], utcnow(), TZ)
    assert [(s.label, s.after_minutes, s.total_minutes, s.kind) for s in chain] == [
        ("VB – Haninge kommun", 10, 10, "role"),
        ("Haninge kommun, switchboard", 5, 15, "switchboard"),
        ("Lena Håkansson (Haninge kommun)", 5, 20, "person"),
    ]
    assert [s.phones[0].value for s in chain] == ["+46701740612", "+46701740651",
                                                  "+46701740620"]


def test_a_cycle_through_other_roles_is_refused_and_nothing_is_written(region):
    escalations.set_steps(region["tib"], [(region["vb"], 10)])
    db.session.commit()
    before = steps_in_db()
    with pytest.raises(escalations.EscalationError, match="circle") as refused:
        escalations.set_steps(region["vb"], [(region["haninge"], 5), (region["tib"], 10)])
    assert "VB – Haninge kommun → TiB – Haninge kommun → VB – Haninge kommun" in str(
        refused.value)
    db.session.rollback()
    assert steps_in_db() == before


def test_a_role_cannot_escalate_to_itself(region):
    with pytest.raises(escalations.EscalationError, match="itself"):
        escalations.set_steps(region["tib"], [(region["tib"], 5)])


def test_find_cycle_walks_longer_circles_and_passes_trees():
    assert escalations.find_cycle(1, {1: [2], 2: [3], 3: [1]}) == [1, 2, 3, 1]
    assert escalations.find_cycle(1, {1: [2, 3], 2: [4], 3: [4], 4: []}) is None
    assert escalations.find_cycle(1, {1: [2], 2: [3], 3: [2]}) is None  # not through 1


def test_dead_ends_are_warned_on_save_and_listed_for_review(region, client, login_as):
    warnings = escalations.set_steps(region["tib"], [(region["frg"], 5),
                                                     (region["nobody"], 5),
                                                     (region["vb"], 5)])
    db.session.commit()
    assert warnings == [
        "FRG Haninge, switchboard has no phone number for the mode in force: a dead end.",
        "Nils Nilsson (FRG Haninge) has no phone number for the mode in force: a dead end.",
    ]
    problems = dict(escalations.roles_with_escalation_problems())
    assert list(problems) == [region["tib"]] and len(problems[region["tib"]]) == 2
    login_as(UserRole.ADMIN)
    page = client.get("/review").get_data(as_text=True)
    assert "Role escalations that reach nobody (1)" in page
    assert "Nils Nilsson (FRG Haninge) has no phone number for the mode in force." in page


def test_a_cycle_made_behind_the_rules_back_is_listed_for_review(region):
    db.session.add_all([
        RoleEscalationStep(role=region["tib"], position=0, after_minutes=5,
                           target_role=region["vb"]),
        RoleEscalationStep(role=region["vb"], position=0, after_minutes=5,
                           target_role=region["tib"]),
    ])
    db.session.commit()
    problems = dict(escalations.roles_with_escalation_problems())
    assert problems[region["tib"]] == ["The escalation goes round in a circle."]


def test_the_api_can_read_a_roles_escalation_as_plain_data(region):
    escalations.set_steps(region["tib"], [(region["vb"], 10), (region["frg"], 5)])
    db.session.commit()
    assert escalations.escalation_data(region["tib"]) == [
        {"position": 1, "after_minutes": 10, "dead_end": False,
         "target": {"type": "role", "id": region["vb"].id, "name": "VB – Haninge kommun"}},
        {"position": 2, "after_minutes": 5, "dead_end": True,
         "target": {"type": "switchboard", "id": region["frg"].id,
                    "name": "FRG Haninge, switchboard"}},
    ]


def _form(region, token, version, steps) -> dict:
    data = {"csrf_token": token, "version": str(version)}
    for index, (target, minutes) in enumerate(steps):
        data[f"steps-{index}-target"] = target
        data[f"steps-{index}-minutes"] = str(minutes)
    return data


@pytest.mark.parametrize("persona", ["viewer", "editor_of_other_actor"])
def test_only_the_roles_editors_may_change_it_and_a_refusal_changes_nothing(
        region, client, login_as, persona):
    escalations.set_steps(region["tib"], [(region["vb"], 10)])
    db.session.commit()
    before = steps_in_db()
    version = region["tib"].version
    other = make_actor("Nynäshamns kommun")
    db.session.commit()
    if persona == "viewer":
        login_as(UserRole.VIEWER)
    else:
        login_as(UserRole.EDITOR, actors=[other])
    token = Auth(client).csrf_token("/")
    assert client.get(f"/roles/{region['tib'].id}/escalation").status_code == 403
    answer = client.post(f"/roles/{region['tib'].id}/escalation", data=_form(
        region, token, version, [(f"actor-{region['haninge'].id}", 1)]))
    assert answer.status_code == 403
    db.session.expire_all()
    assert steps_in_db() == before
    assert db.session.get(Role, region["tib"].id).version == version
    page = client.get(f"/roles/{region['tib'].id}").get_data(as_text=True)
    assert "Edit escalation" not in page


def test_the_editor_saves_steps_and_sees_field_messages_for_bad_ones(region, client,
                                                                     login_as):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    token = Auth(client).csrf_token("/")
    url = f"/roles/{region['tib'].id}/escalation"
    assert client.get(url).status_code == 200
    version = region["tib"].version
    answer = client.post(url, data=_form(region, token, version, [
        (f"role-{region['vb'].id}", "abc")]))
    assert answer.status_code == 422 and steps_in_db() == []
    answer = client.post(url, data=_form(region, token, version, [
        (f"role-{region['vb'].id}", 10), (f"actor-{region['haninge'].id}", 5)]))
    assert answer.status_code == 302
    assert [(s[2], s[3], s[5]) for s in steps_in_db()] == [
        (10, region["vb"].id, None), (5, None, region["haninge"].id)]
    # The same old version again: someone else saved meanwhile; nothing is overwritten.
    answer = client.post(url, data=_form(region, token, version, [
        (f"person-{region['chief'].id}", 1)]))
    assert answer.status_code == 409
    assert len(steps_in_db()) == 2
    # A cycle is a message on the form, not a 500 and not a partial write.
    vb_url = f"/roles/{region['vb'].id}/escalation"
    answer = client.post(vb_url, data=_form(region, token, region["vb"].version, [
        (f"role-{region['tib'].id}", 3)]))
    assert answer.status_code == 422
    assert "go round in a circle" in answer.get_data(as_text=True)
    assert len(steps_in_db()) == 2


def test_role_page_card_board_and_print_show_the_escalation(region, client, login_as):
    escalations.set_steps(region["tib"], [(region["vb"], 10), (region["chief"], 5)])
    db.session.commit()
    login_as(UserRole.VIEWER)
    role_page = client.get(f"/roles/{region['tib'].id}").get_data(as_text=True)
    assert "If nobody answers" in role_page
    assert "No answer within 10 min:" in role_page and "070-174 06 12" in role_page
    assert "Still no answer after 5 more min:" in role_page
    # The chief's only number is confidential: hidden from a viewer, said so.
    assert "070-174 06 20" not in role_page and "Hidden number" in role_page
    actor_page = client.get(f"/actors/{region['haninge'].slug}").get_data(as_text=True)
    assert "10 min → VB – Haninge kommun; 5 min → Lena Håkansson (Haninge kommun)" in (
        actor_page)
    board = client.get("/oncall").get_data(as_text=True)
    assert "10 min → VB – Haninge kommun" in board
    printed = client.get(f"/actors/{region['haninge'].slug}/print").get_data(as_text=True)
    assert "No answer within 10 min → VB – Haninge kommun 070-174 06 12" in printed
    assert "No answer within 5 min → Lena Håkansson (Haninge kommun) hidden number" in printed
    binder = client.get(f"/binder.pdf?actor={region['haninge'].slug}")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(binder.data)).pages)
    assert "No answer within 10 min → VB – Haninge kommun 070-174 06 12" in " ".join(
        text.split())


def test_the_role_card_says_who_takes_over_next_and_when(region, client, login_as):
    first = make_person(region["haninge"], "Per Åkesson")
    second = make_person(region["haninge"], "Åsa Öberg")
    db.session.add(Rotation(role=region["tib"], kind=RotationKind.WEEKLY, length_days=7,
                            handover_time=time(8, 0), starts_on=date(2020, 1, 6),
                            members=[RotationMember(person=first, position=0),
                                     RotationMember(person=second, position=1)]))
    db.session.commit()
    upcoming = outlook([region["tib"]], utcnow(), TZ).next[region["tib"].id]
    login_as(UserRole.VIEWER)
    page = client.get(f"/actors/{region['haninge'].slug}").get_data(as_text=True)
    card = page[page.index(f"/roles/{region['tib'].id}\""):]
    card = card[:card.index("</article>")]
    when = upcoming.starts_at.astimezone(TZ)
    assert f"Takes over next: <strong>{upcoming.person.name}</strong>" in card
    assert f"from {when:%a} {when.day} {when:%b} 08:00" in card
