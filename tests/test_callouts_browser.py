"""Call-outs in real browsers: two people marking at once keep every mark, everyone
signed in sees the call-out under way, and an escalation timer falls due by the
app's clock (moved by the test, not waited for). Under the CSP, with axe."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from directory.callouts import rules as callouts
from directory.core.extensions import db
from directory.core.models import CallOut, CallOutMark, CallTree, Mode, User
from tests.test_journeys import (  # noqa: F401 (fixtures)
    REPORT_CSP_VIOLATIONS,
    browser,
    check_accessibility,
    live,
    no_horizontal_scroll,
    open_menu,
    page,
    sign_in,
    visit,
)

START = datetime(2026, 12, 2, 2, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock(app):
    clock = Clock(START)
    app.config["CLOCK"] = clock
    yield clock
    app.config.pop("CLOCK", None)


def activated_tree() -> CallTree:
    return db.session.scalar(select(CallTree).where(CallTree.mode == Mode.ACTIVATED))


@pytest.fixture
def two_people(browser, live):  # noqa: F811
    """Two people in their own browsers: one at a desk (1280 px), one on a phone (360 px)."""
    pages = []
    for width in (1280, 360):
        context = browser.new_context(viewport={"width": width, "height": 900}, base_url=live)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        person = context.new_page()
        person.set_default_timeout(10_000)
        person.errors = []
        person.on("pageerror", lambda error, p=person: p.errors.append(str(error)))
        person.on("console", lambda m, p=person: p.errors.append(m.text)
                  if "CSP violation" in m.text or "Content Security Policy" in m.text
                  else None)
        pages.append(person)
    yield pages
    for person in pages:
        assert person.errors == [], person.errors
        person.context.close()


# Posts every step's marking form at once (fetch, not one after the other): the
# requests of both browsers reach the threaded server together.
MARK_EVERY_STEP = """(outcome) => {
    const forms = [...document.querySelectorAll("form.mark-form")];
    window.marking = Promise.all(forms.map((form) => {
        const data = new FormData(form);
        data.append("outcome", outcome);
        return fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                                    redirect: "manual" });
    })).then((answers) => answers.map((a) => a.type + a.status));
    return forms.length;
}"""


def test_two_people_mark_the_same_call_out_at_once_and_every_mark_is_kept(two_people):
    desk, phone = two_people
    for person in (desk, phone):
        sign_in(person, "admin@demo.example")
    phone.goto("/")  # open before the call-out starts
    expect(phone.locator("#callout-banner")).to_be_hidden()
    tree = activated_tree()
    desk.goto(f"/calltrees/{tree.id}")
    desk.get_by_role("link", name="Start a call-out").click()
    check_accessibility(desk)
    desk.get_by_label("Title").fill("Larm: snö/halka, aktiverat läge")
    desk.get_by_role("button", name="Start the call-out").click()
    desk.wait_for_url(re.compile(r"/callouts/\d+$"))
    check_accessibility(desk)

    # Everyone signed in sees it under way, live: the phone's page was open before.
    phone.evaluate("""() => new Promise((done) => {
        document.addEventListener("callouts:banner", done, { once: true });
        document.dispatchEvent(new Event("callouts:refresh"));
    })""")
    banner = phone.locator("#callout-banner")
    expect(banner).to_contain_text("Larm: snö/halka, aktiverat läge")
    banner.get_by_role("link", name="Larm: snö/halka, aktiverat läge").click()
    phone.wait_for_url(desk.url)
    no_horizontal_scroll(phone)
    check_accessibility(phone)

    steps = desk.evaluate(MARK_EVERY_STEP, "no_answer")
    assert phone.evaluate(MARK_EVERY_STEP, "reached") == steps and steps >= 5
    for person in (desk, phone):  # evaluated through DevTools: the CSP allows no eval
        assert set(person.evaluate("() => window.marking")) == {"opaqueredirect0"}

    callout = db.session.scalar(select(CallOut))
    db.session.expire_all()
    marks = db.session.scalar(select(func.count()).select_from(CallOutMark)
                              .where(CallOutMark.callout_id == callout.id))
    assert marks == 2 * steps
    desk.reload()
    expect(desk.locator(".callout-log .log-row")).to_have_count(2 * steps)
    expect(desk.locator(".callout-log")).to_contain_text("No answer")
    expect(desk.locator(".callout-log")).to_contain_text("Reached")
    no_horizontal_scroll(desk)
    check_accessibility(desk)


def test_an_escalation_timer_falls_due_when_the_clock_says_so(page: Page, clock):  # noqa: F811
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.example"))
    tree = activated_tree()
    callout = callouts.start_callout(tree, admin, title="Larm: snö/halka")
    db.session.commit()
    top = callouts.step_states(callout, callouts.now().tzinfo)[0]
    minutes = top.node.escalate_after_minutes
    first_alternate = top.escalations[0].label

    sign_in(page, "viewer@demo.example")
    visit(page, f"/callouts/{callout.id}")
    step = page.locator(".callout-step").first
    expect(step.locator(".timer.next")).to_contain_text(f"Escalate to {first_alternate} in")
    expect(step.locator(".timer.due")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Reached"))).to_have_count(0)  # viewer

    clock.at = START + timedelta(minutes=minutes, seconds=30)
    page.evaluate("""() => new Promise((done) => {
        document.addEventListener("callouts:refreshed", done, { once: true });
        document.dispatchEvent(new Event("callouts:refresh"));
    })""")
    due = step.locator(".timer.due")
    expect(due).to_have_count(1)
    expect(due).to_contain_text(f"Escalation due: call {first_alternate} (due for 0:3")
    no_horizontal_scroll(page)
    check_accessibility(page)
