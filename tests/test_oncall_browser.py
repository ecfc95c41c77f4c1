"""The on-call board in a real browser: at 360 px and 1280 px, under the CSP, with axe.

The board refreshes its rows in place; a wall screen scrolled down to its
part of the region must stay there when the rows are replaced.
"""

from playwright.sync_api import Page, expect
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import Actor, ContactPoint, Mode, PathMode, Role, User
from directory.core.modes import switch_mode
from tests.test_journeys import (  # noqa: F401 (fixtures)
    browser,
    check_accessibility,
    live,
    no_horizontal_scroll,
    open_menu,
    page,
    sign_in,
    visit,
)


def activate(slug: str) -> None:
    admin = db.session.scalar(select(User).where(User.email == "admin@demo.example"))
    actor = db.session.scalar(select(Actor).where(Actor.slug == slug))
    switch_mode(actor, Mode.ACTIVATED, reason="Snöoväder", user=admin)
    db.session.commit()


def test_board_reads_at_any_width_and_puts_the_activated_actor_first(page: Page):  # noqa: F811
    activate("trafikverket")
    sign_in(page, "viewer@demo.example")
    open_menu(page)  # on a phone the menu is behind its button
    page.get_by_role("navigation", name="Main").get_by_role("link", name="On call").click()
    expect(page.get_by_role("heading", name="On-call board")).to_be_visible()
    no_horizontal_scroll(page)
    check_accessibility(page)
    first = page.locator("tr.board-row").first
    expect(first).to_contain_text("Trafikverket")
    expect(first).to_contain_text("Activated mode")
    staff = db.session.scalar(
        select(ContactPoint.value).join(Role).join(Actor)
        .where(Actor.slug == "trafikverket", ContactPoint.mode == PathMode.ACTIVATED))
    # In activated mode the staff's number comes first, not the 24/7 one.
    expect(first.locator("a.tel").first).to_have_attribute("href", f"tel:{staff}")

    widest = page.evaluate("""() => Math.max(...[...document.querySelectorAll('#board-rows *')]
        .map((e) => e.getBoundingClientRect().right))""")
    assert widest <= page.viewport_size["width"], "a number runs off the card"

    page.get_by_label("Kind of actor").select_option("police")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr.board-row")).to_have_count(2)  # Polisen and its local area
    no_horizontal_scroll(page)
    check_accessibility(page)


def test_board_refreshes_its_rows_without_losing_the_scroll_position(page: Page):  # noqa: F811
    sign_in(page, "viewer@demo.example")
    visit(page, "/oncall")
    stamp = page.locator("#board-rows [data-updated]")
    before = stamp.get_attribute("data-updated")
    page.evaluate("window.scrollTo(0, 900)")
    page.wait_for_function("window.scrollY >= 800")
    scrolled = page.evaluate("window.scrollY")
    page.wait_for_timeout(1100)  # the next stamp differs by at least a second
    refreshed = page.evaluate("""() => new Promise((done) => {
        document.addEventListener("board:refreshed", () => done(true), { once: true });
        document.dispatchEvent(new Event("board:refresh"));
        setTimeout(() => done(false), 10000);  // no refresh: fail, do not hang
    })""")
    assert refreshed, "the board did not refresh its rows (is oncall.js on the page?)"
    assert stamp.get_attribute("data-updated") != before  # new rows came
    assert page.evaluate("window.scrollY") == scrolled
    expect(page.locator("tr.board-row").first).to_be_visible()
