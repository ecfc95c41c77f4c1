"""Call-outs: started with a title, steps marked with outcome, path and second, timers
that fall due by the app's clock, and the log as page, CSV and PDF."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from directory.callouts import rules as callouts
from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import (
    CallOut,
    CallOutKind,
    CallOutMark,
    CallTree,
    Mode,
    StepOutcome,
    UserRole,
)
from tests.conftest import Auth, make_actor, make_contact, make_person, make_role, make_user

TZ = ZoneInfo("Europe/Stockholm")
START = datetime(2026, 12, 2, 2, 0, 0, tzinfo=UTC)


class Clock:
    """The app's clock, moved by the test instead of waiting."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock(app):
    clock = Clock(START)
    app.config["CLOCK"] = clock
    yield clock
    app.config.pop("CLOCK", None)


@pytest.fixture
def tree(app):
    """Haninge's TiB first (10 min, then the switchboard, then the chief after 5 min),
    FRG under it; an evil label to test the CSV."""
    haninge = make_actor("Haninge kommun")
    tib = make_role(haninge)
    tib_mobile = make_contact(tib, "+46701740608", label="=HYPERLINK(\"x\")")
    switchboard = make_contact(haninge, "+46701740651", label="Växel")
    chief = make_person(haninge, "Lena Håkansson")
    make_contact(chief, "+46701740620")
    frg = make_actor("FRG Haninge")
    frg_phone = make_contact(frg, "+46701740630")
    tree = CallTree(name="Larmkedja snö", mode=Mode.ORDINARY, actor=haninge,
                    valid_from=date(2026, 12, 1))
    db.session.add(tree)
    db.session.flush()
    top = add_node(tree, tib, escalate_after_minutes=10,
                   alternates=[(haninge, 5), (chief, 5)])
    child = add_node(tree, frg, parent=top)
    db.session.commit()
    return {"tree": tree, "top": top, "child": child, "haninge": haninge,
            "tib_mobile": tib_mobile, "switchboard": switchboard, "frg_phone": frg_phone}


def test_each_mark_is_a_row_of_its_own_with_outcome_path_and_second(tree, clock):
    callout = callouts.start_callout(tree["tree"], None, title="Larm: snö/halka")
    clock.advance(seconds=47, microseconds=900)
    callouts.record_step_outcome(callout, tree["top"], StepOutcome.NO_ANSWER,
                                 tree["tib_mobile"], None, None)
    clock.advance(minutes=1, seconds=3)
    callouts.record_step_outcome(callout, tree["top"], StepOutcome.MESSAGE_LEFT,
                                 tree["switchboard"], None, None)
    clock.advance(seconds=30)
    callouts.record_step_outcome(callout, tree["top"], StepOutcome.REACHED,
                                 tree["tib_mobile"], None, None)
    db.session.commit()
    marks = callouts.marks_of(callout)
    assert [m.outcome for m in marks] == [StepOutcome.NO_ANSWER, StepOutcome.MESSAGE_LEFT,
                                          StepOutcome.REACHED]
    assert marks[0].at == START + timedelta(seconds=47)  # to the second
    assert marks[1].path_text == "070-174 06 51 (Växel)"
    assert marks[1].target_label == "Haninge kommun"  # the alternate that was called
    states = callouts.step_states(callout, TZ)
    assert states[0].outcome is StepOutcome.REACHED
    assert states[1].outcome is StepOutcome.NOT_CALLED  # FRG: never called, not "unreached"


def test_a_mark_needs_a_path_of_this_step_and_an_open_call_out(tree, clock):
    callout = callouts.start_callout(tree["tree"], None, title="Larm")
    with pytest.raises(callouts.CallOutError, match="not one of this step"):
        callouts.record_step_outcome(callout, tree["top"], StepOutcome.REACHED,
                                     tree["frg_phone"], None, None)
    with pytest.raises(callouts.CallOutError, match="which path"):
        callouts.record_step_outcome(callout, tree["top"], StepOutcome.REACHED, None, None,
                                     None)
    with pytest.raises(callouts.CallOutError, match="before the call-out started"):
        callouts.record_step_outcome(callout, tree["top"], StepOutcome.NO_ANSWER,
                                     tree["tib_mobile"], START - timedelta(minutes=1), None)
    callouts.close_callout(callout, None)
    with pytest.raises(callouts.CallOutError, match="closed"):
        callouts.record_step_outcome(callout, tree["top"], StepOutcome.NOT_CALLED, None, None,
                                     None)
    assert db.session.scalar(select(func.count()).select_from(CallOutMark)) == 0


def test_a_call_out_needs_a_title(tree, clock):
    with pytest.raises(callouts.CallOutError, match="title"):
        callouts.start_callout(tree["tree"], None, title="   ")


def test_escalations_fall_due_by_the_apps_clock_and_stop_once_reached(tree, clock):
    callout = callouts.start_callout(tree["tree"], None, title="Larm")
    db.session.commit()

    def top_state():
        return callouts.step_states(callout, TZ)[0]

    clock.advance(minutes=9, seconds=59)
    state = top_state()
    assert state.due(clock()) == []
    assert state.upcoming(clock()).label == "Haninge kommun"
    assert state.upcoming(clock()).due_at == START + timedelta(minutes=10)
    clock.advance(seconds=1)
    assert [e.label for e in top_state().due(clock())] == ["Haninge kommun"]
    assert top_state().upcoming(clock()).label == "Lena Håkansson (Haninge kommun)"
    clock.advance(minutes=5)
    assert len(top_state().due(clock())) == 2
    answer = callouts.state_json(callout, callouts.step_states(callout, TZ), clock())
    assert answer["now"] == clock().isoformat()
    assert answer["steps"][0]["due"][1]["overdue_seconds"] == 0
    # The child can be called once its parent is reached: no timer before that.
    assert callouts.step_states(callout, TZ)[1].callable_since is None
    callouts.record_step_outcome(callout, tree["top"], StepOutcome.REACHED,
                                 tree["tib_mobile"], None, None)
    states = callouts.step_states(callout, TZ)
    assert states[0].due(clock()) == [] and states[0].upcoming(clock()) is None
    assert states[1].callable_since == clock()


def test_the_state_endpoint_answers_timers_by_the_apps_clock(tree, clock, client, login_as):
    login_as(UserRole.VIEWER)
    callout = callouts.start_callout(tree["tree"], None, title="Larm")
    db.session.commit()
    step = client.get(f"/callouts/{callout.id}/state.json").get_json()["steps"][0]
    assert step["due"] == [] and step["next"]["in_seconds"] == 600
    clock.advance(minutes=12)
    step = client.get(f"/callouts/{callout.id}/state.json").get_json()["steps"][0]
    assert step["due"][0]["label"] == "Haninge kommun"
    assert step["due"][0]["overdue_seconds"] == 120
    assert step["next"]["in_seconds"] == 180
    page = client.get(f"/callouts/{callout.id}").get_data(as_text=True)
    assert "Escalation due: call Haninge kommun (due for 2:00)" in page


def test_everyone_signed_in_sees_open_call_outs(tree, clock, client, login_as):
    callout = callouts.start_callout(tree["tree"], None, title="Larm: snö/halka, aktiverat läge")
    db.session.commit()
    login_as(UserRole.VIEWER)
    assert client.get("/callouts/open.json").get_json()[0]["title"] == (
        "Larm: snö/halka, aktiverat läge")
    page = client.get("/").get_data(as_text=True)
    assert 'id="callout-banner"' in page and "Larm: snö/halka, aktiverat läge" in page
    callouts.close_callout(callout, None)
    db.session.commit()
    assert client.get("/callouts/open.json").get_json() == []


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_viewer_may_read_but_not_start_mark_or_close(tree, clock, client, login_as):
    callout = callouts.start_callout(tree["tree"], None, title="Larm")
    db.session.commit()
    login_as(UserRole.VIEWER)
    token = Auth(client).csrf_token("/")
    assert client.get(f"/callouts/{callout.id}").status_code == 200
    page = client.get(f"/callouts/{callout.id}").get_data(as_text=True)
    assert "Close the call-out" not in page and 'name="outcome"' not in page
    answers = [
        client.post(f"/calltrees/{tree['tree'].id}/callouts/new",
                    data={"csrf_token": token, "title": "X", "kind": "real"}),
        client.post(f"/callouts/{callout.id}/steps/{tree['top'].id}",
                    data={"csrf_token": token, "outcome": "reached",
                          "path": tree["tib_mobile"].id}),
        client.post(f"/callouts/{callout.id}/close", data={"csrf_token": token}),
    ]
    assert [a.status_code for a in answers] == [403, 403, 403]
    db.session.expire_all()
    assert (_count(CallOut), _count(CallOutMark)) == (1, 0)
    assert db.session.get(CallOut, callout.id).closed_at is None


def test_an_editor_starts_and_marks_through_the_page(tree, clock, client, login_as):
    login_as(UserRole.EDITOR, actors=[tree["haninge"]])
    token = Auth(client).csrf_token("/")
    answer = client.post(f"/calltrees/{tree['tree'].id}/callouts/new",
                         data={"csrf_token": token, "title": "", "kind": "real"})
    assert answer.status_code == 422 and _count(CallOut) == 0  # a field-level message
    answer = client.post(f"/calltrees/{tree['tree'].id}/callouts/new",
                         data={"csrf_token": token, "title": "Larm: snö", "kind": "real"})
    callout = db.session.scalar(select(CallOut))
    assert answer.headers["Location"].endswith(f"/callouts/{callout.id}")
    assert callout.kind is CallOutKind.REAL
    clock.advance(seconds=75)
    client.post(f"/callouts/{callout.id}/steps/{tree['top'].id}",
                data={"csrf_token": token, "outcome": "message_left",
                      "path": tree["tib_mobile"].id})
    client.post(f"/callouts/{callout.id}/steps/{tree['top'].id}",  # no path: refused
                data={"csrf_token": token, "outcome": "reached"})
    marks = callouts.marks_of(callout)
    assert [(m.outcome, m.at) for m in marks] == [
        (StepOutcome.MESSAGE_LEFT, START + timedelta(seconds=75))]
    assert marks[0].marked_by is not None


def test_a_note_with_a_nul_or_direction_override_is_refused_with_a_reason(
        tree, clock, client, login_as):
    """The step's note is read from the form directly: a NUL would reach the
    database (PostgreSQL refuses it: a 500) and an override would be kept."""
    login_as(UserRole.EDITOR, actors=[tree["haninge"]])
    token = Auth(client).csrf_token("/")
    client.post(f"/calltrees/{tree['tree'].id}/callouts/new",
                data={"csrf_token": token, "title": "Larm: snö", "kind": "real"})
    callout = db.session.scalar(select(CallOut))
    for note in ("svarar\x00inte", "svarar \u202einte"):
        answer = client.post(f"/callouts/{callout.id}/steps/{tree['top'].id}",
                             data={"csrf_token": token, "outcome": "reached",
                                   "path": tree["tib_mobile"].id, "note": note})
        assert answer.status_code == 302
        assert "invisible character" in client.get(answer.headers["Location"]).get_data(
            as_text=True)
    assert callouts.marks_of(callout) == []
    client.post(f"/callouts/{callout.id}/steps/{tree['top'].id}",
                data={"csrf_token": token, "outcome": "reached",
                      "path": tree["tib_mobile"].id, "note": "svarade direkt"})
    assert [m.note for m in callouts.marks_of(callout)] == ["svarade direkt"]


def test_the_log_exports_as_csv_with_seconds_and_no_formulas(tree, clock, client, login_as):
    callout = callouts.start_callout(tree["tree"], None, title="Larm")
    clock.advance(minutes=3, seconds=7)
    callouts.record_step_outcome(callout, tree["top"], StepOutcome.REACHED,
                                 tree["tib_mobile"], None, None, note="-svarade direkt")
    db.session.commit()
    login_as(UserRole.VIEWER)
    answer = client.get(f"/callouts/{callout.id}/log.csv")
    assert answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert rows[0][:3] == ["Time", "Since start", "Step"]
    assert rows[1][0] == "2026-12-02 03:03:07"  # local time, to the second
    assert rows[1][1] == "3:07" and rows[1][5] == "Reached"
    assert rows[1][6] == "070-174 06 08 (=HYPERLINK(\"x\"))"
    assert rows[1][7] == "'-svarade direkt"  # a cell that could start a formula is defused


def test_the_log_prints_as_an_a4_pdf_that_reads(app, tree, clock, client, login_as):
    callout = callouts.start_callout(tree["tree"], None, title="Larm: snö/halka",
                                     kind=CallOutKind.DRILL)
    for seconds, outcome, path in ((41, StepOutcome.NO_ANSWER, tree["tib_mobile"]),
                                   (95, StepOutcome.MESSAGE_LEFT, tree["switchboard"]),
                                   (130, StepOutcome.REACHED, tree["tib_mobile"])):
        clock.at = START + timedelta(seconds=seconds)
        callouts.record_step_outcome(callout, tree["top"], outcome, path, None, None)
    db.session.commit()
    login_as(UserRole.VIEWER)
    answer = client.get(f"/callouts/{callout.id}/log.pdf")
    assert answer.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.data)).pages)
    for expected in ("Larm: snö/halka", "Drill", "03:00:41", "03:01:35", "03:02:10",
                     "No answer", "Message left", "Reached", "070-174 06 51",
                     "Not called: 1.1 FRG Haninge", "Page 1 of 1"):
        assert expected in text, expected
    assert text.count(app.config["SENSITIVITY_MARKING"]) == 2  # at the top and the foot
    page = PdfReader(io.BytesIO(answer.data)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_the_print_view_names_every_mark(tree, clock, client, login_as):
    callout = callouts.start_callout(tree["tree"], None, title="Larm")
    clock.advance(seconds=9)
    callouts.record_step_outcome(callout, tree["top"], StepOutcome.NO_ANSWER,
                                 tree["tib_mobile"], None, make_user("kim@example.org",
                                                                     role=UserRole.ADMIN))
    db.session.commit()
    login_as(UserRole.VIEWER)
    page = client.get(f"/callouts/{callout.id}/print").get_data(as_text=True)
    assert "2026-12-02 03:00:09" in page and "kim@example.org" in page
    assert "070-174 06 08" in page
