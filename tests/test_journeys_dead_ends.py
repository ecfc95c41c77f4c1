"""No dead end at 03:00, as a person sees it in a real browser (issue 16, items 1, 2, 7).

Over real HTTP with Debian's Chromium, under the app's CSP, with axe-core, at
1280 and 360 px: the fixtures and helpers are tests/test_journeys.py's. The
rules behind these pages are tested without a browser in tests/test_dead_ends.py;
here each is read off the page, as the duty officer would read it.
"""

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import Actor, Person
from directory.core.numbers import display_phone
from tests.conftest import make_person
from tests.test_journeys import (  # noqa: F401 (fixtures)
    activate_region,
    browser,
    live,
    numbers_on_one_line,
    open_menu,
    page,
    sign_in,
    visit,
)

ORDINARY_TREE = "Larmkedja snö/halka – ordinarie läge"
ACTIVATED_TREE = "Larmkedja snö/halka – aktiverat läge"
TIB_HANINGE = "tel:+46701740608"  # the demo's 24/7 number of TiB Haninge, ordinary mode

# Every target a call-tree page shows (a step or an alternate) whose block has no
# tel: link: a name to call without a number to dial.
UNDIALLABLE_STEPS = """() => [...document.querySelectorAll('.tree-node .reach')]
    .filter(r => r.offsetParent !== null && !r.querySelector('a[href^="tel:"]'))
    .map(r => r.querySelector('.target').textContent.trim())"""


def lenas_number() -> str:
    """Lena Håkansson's only number: her private mobile, confidential."""
    lena = db.session.scalar(select(Person).where(Person.name == "Lena Håkansson"))
    (point,) = lena.contact_points
    assert point.confidential
    return point.value


def tree_row(page: Page, name: str):  # noqa: F811
    return page.locator("table.list tbody tr").filter(has=page.get_by_role("link", name=name))


# --- Item 1: every step of a call tree can be dialled by whoever runs it -----------


def test_every_call_tree_step_a_viewer_sees_has_a_number_to_dial(page: Page):  # noqa: F811
    """FRG Haninge's only escalation is Lena, whose only number is confidential:
    the viewer sees it in the tree (need-to-know), and nowhere else."""
    sign_in(page, "viewer@demo.example")
    open_menu(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Call trees").click()
    # The click does not wait for the list: let the locator wait for it, then read it.
    links = page.locator("table.list a[href*='/calltrees/']")
    expect(links).to_have_count(2)  # the ordinary and the activated tree
    hrefs = [links.nth(i).get_attribute("href") for i in range(2)]
    lena = lenas_number()
    for href in hrefs:
        visit(page, href)
        steps = page.locator(".tree-node .reach")
        assert steps.count() > 20, steps.count()  # 18 steps and their alternates
        assert page.evaluate(UNDIALLABLE_STEPS) == []
        expect(page.locator(".tree-node .hidden-path")).to_have_count(0)
        frg = page.locator(".node-body").filter(
            has=page.locator(".reach > .target", has_text="FRG Haninge"))
        expect(frg).to_have_count(1)
        expect(frg.locator(".escalation")).to_contain_text("Lena Håkansson")
        step = frg.locator(".escalation .reach").filter(has_text="Lena Håkansson")
        number = step.locator('a[href^="tel:"]').first
        expect(number).to_be_visible()
        expect(number).to_have_attribute("href", f"tel:{lena}")
        expect(number).to_have_text(display_phone(lena))
        numbers_on_one_line(page)

    # Outside the tree her number stays hidden from this viewer.
    visit(page, "/actors/haninge-kommun")
    card = page.locator("article.card").filter(
        has=page.get_by_role("heading", name=re.compile("Lena Håkansson")))
    expect(card.locator(".hidden-note")).to_be_visible()
    expect(page.locator(f'a[href="tel:{lena}"]')).to_have_count(0)


# --- Item 2: hidden is not missing ------------------------------------------------


def background(locator) -> str:
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


def test_a_hidden_number_says_how_to_reach_them_and_only_a_real_gap_warns(page: Page):  # noqa: F811
    """Haninge's persons have only confidential mobiles: each card says so, muted,
    with the duty officer's number; a person with no number at all is warned about."""
    haninge = db.session.scalar(select(Actor).where(Actor.slug == "haninge-kommun"))
    make_person(haninge, "Gunnar Nummerlös", title="Vaktmästare")
    db.session.commit()
    sign_in(page, "viewer@demo.example")

    visit(page, "/actors/haninge-kommun")
    cards = page.locator("section[aria-labelledby=persons] article.card")
    lena = cards.filter(has=page.get_by_role("heading", name=re.compile("Lena Håkansson")))
    note = lena.locator(".hidden-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Mobile number protected – reach via TiB")
    expect(note.locator('a[href^="tel:"]')).to_have_attribute("href", TIB_HANINGE)
    expect(lena.locator(".warning")).to_have_count(0)
    assert background(note) == "rgba(0, 0, 0, 0)"  # muted text, not a yellow box
    gap = cards.filter(has=page.get_by_role("heading", name=re.compile("Gunnar Nummerlös")))
    warning = gap.locator(".warning")
    expect(warning).to_have_text("No contact path for the mode in force.")
    assert background(warning) != "rgba(0, 0, 0, 0)"
    # Every other person's number is hidden from a viewer, none is missing.
    hidden = page.locator("section[aria-labelledby=persons] .hidden-note")
    assert hidden.count() == cards.count() - 1 > 2, (hidden.count(), cards.count())
    expect(page.locator(".warning", has_text="No contact path")).to_have_count(1)
    numbers_on_one_line(page)

    visit(page, "/search?q=lena+h%C3%A5kansson")
    result = page.locator(".result").filter(has_text="Lena Håkansson").first
    expect(result.locator(".hidden-note")).to_contain_text("Mobile number protected – reach via")
    expect(result.locator(".hidden-note a[href^='tel:']")).to_have_attribute("href", TIB_HANINGE)
    expect(result.locator(".warning")).to_have_count(0)

    visit(page, "/search?q=gunnar+nummerl%C3%B6s")
    result = page.locator(".result").filter(has_text="Gunnar Nummerlös").first
    expect(result.locator(".warning")).to_have_text("No contact path for the mode in force.")
    expect(result.locator(".hidden-note")).to_have_count(0)


# --- Item 7: the wrong tree says so ---------------------------------------------------


def test_the_tree_for_the_mode_not_in_force_says_so_and_leads_to_the_one_that_applies(
        page: Page):  # noqa: F811
    sign_in(page, "viewer@demo.example")
    page.get_by_role("button", name="Svenska").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")

    visit(page, "/calltrees")  # ordinary mode: the ordinary tree applies
    expect(tree_row(page, ORDINARY_TREE).locator(".applies-now")).to_have_text("Gäller nu")
    expect(tree_row(page, ACTIVATED_TREE).locator(".applies-now")).to_have_count(0)
    tree_row(page, ORDINARY_TREE).get_by_role("link", name=ORDINARY_TREE).click()
    expect(page.locator("h1")).to_have_text(ORDINARY_TREE)
    expect(page.locator(".wrong-mode")).to_have_count(0)

    activate_region()
    visit(page, "/calltrees")
    expect(tree_row(page, ACTIVATED_TREE).locator(".applies-now")).to_have_text("Gäller nu")
    expect(tree_row(page, ORDINARY_TREE).locator(".applies-now")).to_have_count(0)
    tree_row(page, ORDINARY_TREE).get_by_role("link", name=ORDINARY_TREE).click()
    page.wait_for_url(re.compile(r"/calltrees/\d+$"))
    notice = page.locator(".wrong-mode")
    expect(notice).to_be_visible()
    expect(notice).to_have_attribute("role", "alert")
    expect(notice).to_contain_text(
        "Den här larmkedjan gäller ordinarie läge, men nu råder aktiverat läge.")
    # At the top: above the tree's heading, on a phone's first screen.
    box, heading = notice.bounding_box(), page.locator("h1").bounding_box()
    assert box["y"] + box["height"] <= heading["y"], (box, heading)
    assert box["y"] + box["height"] <= 640, box
    visit(page, page.url)  # axe and width, with the notice shown
    notice.get_by_role("link", name=f"Använd larmkedjan som gäller nu: {ACTIVATED_TREE}").click()
    expect(page.locator("h1")).to_have_text(ACTIVATED_TREE)
    expect(page.locator(".wrong-mode")).to_have_count(0)
    expect(page.locator(".mode-banner")).to_contain_text("AKTIVERAT LÄGE")
