"""Issue 16's other edges, as the person meets them in a real browser (items 3, 6,
9, 11, 13, 14).

Over real HTTP with Debian's Chromium, under the app's CSP, with axe-core, at
1280 and 360 px: the fixtures and helpers are tests/test_journeys.py's. The
rules behind them are tested without a browser elsewhere (tests/test_dead_ends.py,
tests/test_editing_numbers.py, tests/test_remember_device.py); here each is read
off the page.
"""

import re

from playwright.sync_api import Page, expect

from directory.core.extensions import db
from directory.core.models import Person
from directory.core.numbers import display_phone
from tests.test_journeys import (  # noqa: F401 (fixtures)
    browser,
    check_accessibility,
    live,
    open_menu,
    page,
    role_of,
    sign_in,
    visit,
)


def confidential_mobile_of_whoever_is_on_call(role) -> tuple[str, str]:
    """The private mobile (confidential) of the person on call for `role` now."""
    from zoneinfo import ZoneInfo

    from directory.core.models import utcnow
    from directory.core.schedules import resolve_on_call

    duty = resolve_on_call(role, utcnow(), ZoneInfo("Europe/Stockholm"))
    person = db.session.get(Person, duty.person.id)
    (point,) = [p for p in person.contact_points if p.confidential]
    return person.name, point.value


def test_a_duty_officer_with_a_colleagues_number_on_the_display_learns_who_calls(
        page: Page):  # noqa: F811
    """Item 3: TiB Haninge calls from his own confidential mobile: a viewer learns
    the actor and the role, the number is listed nowhere; 112 is named."""
    tib = role_of("haninge-kommun")
    name, mobile = confidential_mobile_of_whoever_is_on_call(tib)
    sign_in(page, "viewer@demo.example")
    page.get_by_role("searchbox").fill(display_phone(mobile))
    page.get_by_role("button", name="Search").click()
    lookup = page.locator("section.lookup")
    expect(lookup).to_contain_text("Haninge kommun")
    expect(lookup.get_by_role("link", name="TiB")).to_be_visible()
    expect(page.get_by_text("Nobody in the directory has this number.")).to_have_count(0)
    assert name not in lookup.inner_text()  # the person only when the setting allows
    check_accessibility(page)

    visit(page, "/actors/haninge-kommun")  # listed nowhere else
    assert display_phone(mobile) not in page.locator("main").inner_text()

    page.goto("/")
    page.get_by_role("searchbox").fill("112")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("section.lookup")).to_contain_text("112 – emergency number (SOS Alarm)")


def test_the_role_page_names_its_actor_and_who_takes_over_next(page: Page):  # noqa: F811
    """Items 6 and 9: with several tabs open, the heading says whose TiB it is;
    the page says who takes over next, and when."""
    sign_in(page, "viewer@demo.example")
    visit(page, f"/roles/{role_of('haninge-kommun').id}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("TiB")
    expect(heading).to_contain_text("Haninge kommun")
    expect(page.locator(".next-on-call")).to_contain_text(
        re.compile(r"Takes over next: .+ from \w+"))


def test_a_viewer_sees_no_action_it_cannot_use_and_a_refusal_speaks_swedish(
        page: Page):  # noqa: F811
    """Item 11: no "New call tree" or "Edit" for a viewer; the refusal page is in
    the reader's language."""
    sign_in(page, "viewer@demo.example")
    visit(page, "/calltrees")
    expect(page.get_by_role("link", name=re.compile("New call tree"))).to_have_count(0)
    visit(page, "/actors/haninge-kommun")
    expect(page.locator("main").get_by_role("link", name=re.compile("^Edit"))).to_have_count(0)

    page.get_by_role("button", name="Svenska").click()
    answer = page.goto("/actors/haninge-kommun/edit")
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_contain_text("Inte tillåtet")
    check_accessibility(page)


def test_an_editor_sees_the_number_as_everywhere_and_a_sick_call_is_one_tap(
        page: Page):  # noqa: F811
    """Item 13: the edit form shows 070-174 06 08, not +46701740608; a sick call
    offers "From now", "8 h", "24 h", "Until the next handover" and preselects
    whoever is on call as the one replaced."""
    tib = role_of("haninge-kommun")
    on_call, _mobile = confidential_mobile_of_whoever_is_on_call(tib)
    sign_in(page, "editor@demo.example")
    visit(page, "/actors/haninge-kommun")
    page.get_by_role("link", name="Edit Dygnet runt").first.click()
    expect(page.get_by_label("Number or address")).to_have_value("070-174 06 08")

    visit(page, f"/roles/{tib.id}")
    page.get_by_role("link", name="Add override").click()
    for label in ("From now", "8 h", "24 h", "Until the next handover"):
        expect(page.get_by_role("link", name=label, exact=True)).to_be_visible()
    replaced = page.get_by_label("Replaces (optional)")
    expect(replaced.locator("option:checked")).to_have_text(on_call)
    page.get_by_role("link", name="8 h", exact=True).click()
    start, end = page.get_by_label("From").input_value(), page.get_by_label("Until").input_value()
    assert start and end and start < end, (start, end)
    check_accessibility(page)


def test_sign_in_offers_to_remember_this_device(page: Page):  # noqa: F811
    """Item 14: at 03:00 a remembered phone need not sign in again."""
    page.goto("/login")
    remember = page.get_by_label("Remember this device")
    expect(remember).to_be_visible()
    expect(remember).not_to_be_checked()  # a shared computer is never remembered by default
    expect(page.get_by_text(re.compile(r"Stay signed in on this device for \d+ days"))
           ).to_be_visible()
    check_accessibility(page)
