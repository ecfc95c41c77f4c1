"""Browser journey: a drill marks numbers verified, and the actor page shows it.

Over real HTTP with Debian's Chromium, as in tests/test_journeys.py (whose
fixtures it uses), at 1280 and 360 px, every page checked with axe-core.
"""

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from directory.calltrees.rules import live_children
from directory.core.extensions import db
from directory.core.models import CallTree, Mode
from directory.core.numbers import display_phone
from directory.core.verification import dialled_path
from tests.test_journeys import browser, live, page, sign_in, visit  # noqa: F401 (fixtures)


def test_a_drill_marks_the_numbers_verified_and_the_actor_page_shows_it(page: Page):  # noqa: F811
    tree = db.session.scalar(select(CallTree).where(CallTree.mode == Mode.ORDINARY,
                                                    CallTree.deleted_at.is_(None)))
    first = live_children(tree, None)[0]
    target = first.target
    actor = target if not hasattr(target, "actor") else target.actor
    number = display_phone(dialled_path(target, tree.mode).value)

    sign_in(page, "admin@demo.example")
    visit(page, f"/actors/{actor.slug}")
    row = page.locator("li.contact", has=page.locator("a.tel", has_text=number)).first
    expect(row.locator(".verified")).to_have_text("never verified")

    visit(page, f"/calltrees/{tree.id}")
    page.get_by_role("link", name="Start a drill").click()
    page.get_by_label("Title").fill("Övning: snö/halka")
    page.get_by_role("button", name="Start the call-out").click()
    step = page.locator(".callout-step").first
    step.get_by_role("button", name=re.compile("^Reached")).click()
    expect(page.locator(".callout-step").first.locator(".step-marks")).to_contain_text("Reached")

    visit(page, f"/actors/{actor.slug}")
    row = page.locator("li.contact", has=page.locator("a.tel", has_text=number)).first
    expect(row.locator(".verified")).to_have_text(re.compile(r"^verified .*ago$"))
