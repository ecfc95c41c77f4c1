"""Journeys as people make them: a real browser against the app over real HTTP.

Playwright drives Debian's Chromium (installed by `make test`/`.ci/run` with
apt; never `playwright install`). Every page a journey visits is checked
with axe-core (from the npm registry) for serious or critical accessibility
violations. Each journey runs at desktop width and at 360 px.
"""

import re
import shutil
import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from directory.core.extensions import db
from directory.core.models import Actor, Override, Role
from directory.core.numbers import display_phone
from directory.operations.demo import load_demo
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / ".cache/npm/node_modules/axe-core/axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "demo-password-123"
WIDTHS = [1280, 360]


@pytest.fixture
def live(app, monkeypatch):
    """The demo region served over HTTP on 127.0.0.1, on a free port."""
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    load_demo(TODAY)
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (make test does it)")
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: make browser installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


# Runs before any page script, outside the page's CSP: every refusal the browser
# makes under the CSP is reported on the console, where the page fixture hears it.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
    console.error(`CSP violation: ${event.effectiveDirective} refused ${event.blockedURI}`
                  + ` on ${event.documentURI} (${event.sourceFile}:${event.lineNumber})`);
});
"""


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def page(request, browser, live):
    # The app's real CSP applies (no bypass_csp): axe-core is evaluated through the
    # DevTools protocol (check_accessibility), which the CSP does not govern, and
    # any refusal by the CSP fails the journey.
    context = browser.new_context(viewport={"width": request.param, "height": 900},
                                  base_url=live, accept_downloads=True)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.csp_violations = []
    page.on("console", lambda message: page.csp_violations.append(message.text)
            if "Content Security Policy" in message.text or "CSP violation" in message.text
            else None)
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"
    assert page.csp_violations == [], f"The CSP refused: {sorted(set(page.csp_violations))[:5]}"


def check_accessibility(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    page.wait_for_load_state("load")
    if not page.evaluate("typeof axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the CSP would (rightly) refuse that.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document)")
    assert result["testEngine"]["name"] == "axe-core" and result["passes"], result.get("url")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} – {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{page.url}: {bad}"


def no_horizontal_scroll(page: Page) -> None:
    page.wait_for_load_state("load")  # styles applied: before that any page is wide
    limit = page.viewport_size["width"] + 1
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > limit:
        culprits = page.evaluate(
            """(limit) => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > limit)
                .slice(0, 3).map(e => e.outerHTML.slice(0, 160))""",
            limit,
        )
        pytest.fail(f"{page.url} scrolls sideways ({width}px): {culprits}")


def visit(page: Page, path: str) -> None:
    page.goto(path)
    no_horizontal_scroll(page)
    check_accessibility(page)


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    check_accessibility(page)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("searchbox")).to_be_visible()


def open_menu(page: Page) -> None:
    """On a phone the main menu is behind its "Menu" button: open it, as a person would."""
    # Whether the button shows is the stylesheet's call (hidden on a wide screen):
    # read it once the page and its stylesheet have loaded, not before.
    page.wait_for_load_state("load")
    summary = page.locator(".site-menu > summary")
    if summary.is_visible():
        summary.click()


def test_pages_run_under_the_csp_and_a_refusal_is_caught(page: Page):
    """The journeys would notice a page that needs more than the CSP allows."""
    page.goto("/login")
    header = page.request.get("/login").headers["content-security-policy"]
    assert "script-src 'self'" in header
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.inlineRan = true";
        document.body.append(script);
    }""")
    expect(page.locator("body")).to_be_visible()
    page.wait_for_function("() => true")  # let the console message arrive
    assert page.evaluate("window.inlineRan === undefined"), "an inline script ran: no CSP"
    page.wait_for_timeout(200)
    assert any("script-src" in text for text in page.csp_violations), page.csp_violations
    page.csp_violations.clear()  # seen; the fixture asserts none is left
    check_accessibility(page)  # axe-core still runs under the CSP


def role_of(slug: str) -> Role:
    return db.session.scalar(select(Role).join(Actor).where(Actor.slug == slug))


def test_duty_officer_finds_who_to_call_and_who_called(page: Page):
    sign_in(page, "viewer@demo.example")
    check_accessibility(page)
    page.keyboard.press("/")
    page.keyboard.type("haninge tib")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=haninge"))
    first = page.locator(".result").first
    expect(first.get_by_role("heading")).to_contain_text("TiB – Haninge kommun")
    link = first.locator("a.tel").first
    expect(link).to_have_attribute("href", "tel:+46701740608")  # ordinary mode: 24/7 number
    expect(link).to_have_text("070-174 06 08")
    no_horizontal_scroll(page)
    check_accessibility(page)

    page.get_by_role("searchbox").fill("0701740655")  # an unknown caller's number
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="Who has 070-174 06 55?")).to_be_visible()
    expect(page.locator(".result").first).to_contain_text("Länsstyrelsen Stockholm")
    check_accessibility(page)

    page.get_by_role("searchbox").fill("08-123 456 78")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("Nobody in the directory has this number.")).to_be_visible()


def test_editor_changes_a_number_adds_an_override_and_confirms_review(page: Page):
    sign_in(page, "editor@demo.example")
    visit(page, "/actors/haninge-kommun")
    page.get_by_role("link", name="Edit Dygnet runt").first.click()
    check_accessibility(page)
    page.get_by_label("Number or address").fill("070-174 06 98")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("a.tel", has_text="070-174 06 98").first).to_be_visible()

    role = role_of("haninge-kommun")
    visit(page, f"/roles/{role.id}")
    page.get_by_role("link", name="Add override").click()
    check_accessibility(page)
    page.get_by_label("Who is on call").select_option(label="Lena Håkansson")
    page.get_by_label("From").fill("2026-12-24T08:00")
    page.get_by_label("Until").fill("2026-12-25T08:00")
    page.get_by_label("Reason").fill("Julafton")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Julafton")).to_be_visible()
    db.session.expire_all()
    assert db.session.scalar(select(Override).where(Override.reason == "Julafton"))

    visit(page, "/actors/haninge-kommun")
    page.get_by_role("button", name="Reviewed, still correct").click()
    expect(page.get_by_text("Marked as reviewed.")).to_be_visible()
    expect(page.get_by_text("Review overdue")).to_have_count(0)

    page.get_by_role("link", name="History").first.click()
    check_accessibility(page)
    expect(page.get_by_text("Reviewed").first).to_be_visible()
    point_history = [p for p in role.contact_points if p.label == "Dygnet runt"][0]
    visit(page, f"/history/contact_point/{point_history.id}")
    expect(page.get_by_text("+46701740608 → +46701740698")).to_be_visible()


def test_coordinator_activates_the_region_and_everything_follows(page: Page):
    sign_in(page, "admin@demo.example")
    visit(page, "/mode")
    page.get_by_label("Activated mode").check()
    page.get_by_label("Scenario").select_option(label="Trafikstörningar p.g.a. snö/halka")
    page.get_by_label("Why").fill("SMHI varnar för snöoväder")
    page.get_by_role("button", name="Switch mode").click()
    expect(page.get_by_text("actors will be in activated mode")).to_be_visible()
    page.get_by_label("Print the binder for this mode?").uncheck()
    page.get_by_role("button", name="Yes, switch the whole region").click()
    banner = page.locator(".mode-banner")
    expect(banner).to_contain_text("ACTIVATED MODE")
    expect(banner).to_contain_text("Trafikstörningar p.g.a. snö/halka")
    expect(page.get_by_text("SMHI varnar för snöoväder").first).to_be_visible()

    visit(page, "/search?q=lansstyrelsen+tib")
    staff = page.locator(".result").first.locator("a.tel").first
    expect(staff).to_have_text(display_phone("+46701740667"))  # the staff number now

    open_menu(page)
    page.get_by_role("link", name="Call trees").click()
    page.get_by_role("link", name="Larmkedja snö/halka – aktiverat läge").click()
    page.wait_for_url(re.compile(r"/calltrees/\d+$"))
    no_horizontal_scroll(page)
    check_accessibility(page)
    expect(page.locator(".tree-node").first).to_contain_text("TiB – Länsstyrelsen Stockholm")
    expect(page.locator(".mode-banner")).to_contain_text("ACTIVATED MODE")

    page.get_by_role("link", name="Start a drill").click()
    check_accessibility(page)
    page.get_by_label("Title").fill("Övning: snö/halka")
    expect(page.get_by_label("Drill")).to_be_checked()
    page.get_by_role("button", name="Start the call-out").click()
    check_accessibility(page)
    first = page.locator(".callout-step").first
    expect(first).to_contain_text("TiB – Länsstyrelsen Stockholm")
    indents = page.locator(".callout-step").evaluate_all(
        "nodes => nodes.map(n => parseFloat(getComputedStyle(n).paddingLeft))")
    assert indents[0] == 0 and max(indents) > 0, indents  # deeper steps stand further in
    first.get_by_role("button", name=re.compile("^Reached")).click()
    page.get_by_role("button", name="Close the call-out").click()
    expect(page.get_by_text("Reached 1 of")).to_be_visible()

    open_menu(page)
    page.get_by_role("link", name="Binder").click()
    check_accessibility(page)
    # The whole binder is laid out in the request (twice, for the pages' digests):
    # on a loaded CI machine that takes longer than a click's usual 10 s.
    with page.expect_response(lambda r: r.url.endswith(".pdf"), timeout=60_000) as answer:
        page.get_by_role("button", name="Print a new revision").click(timeout=60_000)
    assert answer.value.status == 200
    assert answer.value.header_value("content-type") == "application/pdf"
    # Chromium shows the PDF in its viewer; fetch the same URL as the user's session.
    pdf = page.request.get(answer.value.url)
    assert pdf.ok and pdf.body().startswith(b"%PDF")

    page.goto("/calltrees")
    page.get_by_role("link", name="Larmkedja snö/halka – aktiverat läge").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="vCards").click()
    cards = Path(download.value.path()).read_text(encoding="utf-8")
    assert cards.startswith("BEGIN:VCARD") and "TEL" in cards
    assert cards.count("BEGIN:VCARD") == cards.count("END:VCARD") > 1


# Every element that holds a phone number: a tel: link, a number shown as text, a
# hidden-number placeholder. Its text is measured with a Range, which has one box
# per line the text occupies (an inline-flex link has one box however it wraps).
NUMBER_LINES = """() => [...document.querySelectorAll('a[href^="tel:"], .phone, .hidden-path')]
    .filter(e => e.offsetParent !== null)
    .map(e => {
        const range = document.createRange();
        range.selectNodeContents(e);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                                                        .map(r => Math.round(r.top)));
        return {text: e.textContent.trim(), lines: tops.size};
    })"""


def numbers_on_one_line(page: Page) -> int:
    """No phone number on the page is split across lines; returns how many were seen."""
    page.wait_for_load_state("load")
    numbers = page.evaluate(NUMBER_LINES)
    split = [n for n in numbers if n["lines"] > 1]
    assert split == [], f"{page.url}: numbers split across lines: {split[:5]}"
    return len(numbers)


# Every word of a heading, a table header or a call-tree step's name, letter by
# letter: where two letters of one word sit on different lines, the word was cut,
# which is allowed only at a soft hyphen (where the browser shows a hyphen) or
# after a hyphen or slash written in the text.
WORD_BREAKS = """() => {
    const cut = [];
    for (const el of document.querySelectorAll('h1, h2, h3, th, .reach .target')) {
        if (el.offsetParent === null) continue;
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let node;
        while ((node = walker.nextNode())) {
            const text = node.data;
            let top = null;
            for (let i = 0; i < text.length; i++) {
                if (/\\s/.test(text[i])) { top = null; continue; }
                if (text[i] === '\\u00ad') continue;
                const range = document.createRange();
                range.setStart(node, i); range.setEnd(node, i + 1);
                const boxes = [...range.getClientRects()].filter(r => r.width > 0);
                if (!boxes.length) continue;
                const here = Math.round(boxes[boxes.length - 1].top);
                if (top !== null && Math.abs(here - top) > 2
                        && !['\\u00ad', '-', '/', '–'].includes(text[i - 1])) {
                    const words = text.slice(0, i).split(/\\s/);
                    cut.push(words[words.length - 1] + '|' + text.slice(i).split(/\\s/)[0]);
                }
                top = here;
            }
        }
    }
    return cut;
}"""


def words_whole(page: Page) -> None:
    """No word of a heading or a step's name is cut across lines but at a hyphen."""
    page.wait_for_load_state("load")
    cut = page.evaluate(WORD_BREAKS)
    assert cut == [], f"{page.url}: words cut across lines: {cut[:5]}"


def first_number_on_first_screen(page: Page) -> None:
    """The first dialable number lies wholly inside a phone's first screen (360×640)."""
    page.wait_for_load_state("load")
    width = page.viewport_size["width"]
    box = page.locator('a[href^="tel:"]').first.bounding_box()
    assert box is not None, f"{page.url}: no dialable number"
    assert box["x"] >= 0 and box["y"] >= 0, (page.url, box)
    assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= 640, (
        f"{page.url}: first number at {box}, below or beside the first screen")


def activate_region() -> None:
    from directory.core.models import Mode, Scenario, User
    from directory.core.modes import switch_mode

    admin = db.session.scalar(select(User).where(User.email == "admin@demo.example"))
    switch_mode(None, Mode.ACTIVATED, reason="SMHI varnar för snöoväder i hela länet",
                user=admin, scenario=db.session.scalar(select(Scenario)))
    db.session.commit()


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_first_number_is_on_a_phones_first_screen_in_both_modes(page: Page, language):
    """Search result, role page and actor page: the number without scrolling, whole."""
    sign_in(page, "viewer@demo.example")
    if language == "sv":
        page.get_by_role("button", name="Svenska").click()
        expect(page.locator("html")).to_have_attribute("lang", "sv")
    role = role_of("haninge-kommun")
    for mode in ("ordinary", "activated"):
        if mode == "activated":
            activate_region()
        for path in ("/search?q=tib+haninge", f"/roles/{role.id}", "/actors/haninge-kommun"):
            visit(page, path)
            if mode == "activated":
                expect(page.locator(".mode-banner.mode-activated")).to_be_visible()
            first_number_on_first_screen(page)
            assert numbers_on_one_line(page) > 0
    # On a phone the menu is one "Menu" button that opens it; on a desktop it is open.
    menu = page.locator(".site-menu")
    calltrees_link = page.locator(".site-menu nav a", has_text=re.compile("Call trees|Larmkedjor"))
    if page.viewport_size["width"] < 600:
        expect(calltrees_link).to_be_hidden()
        menu.locator("summary").click()
        expect(calltrees_link).to_be_visible()
        check_accessibility(page)
        calltrees_link.click()
        page.wait_for_url(re.compile(r"/calltrees$"))
    else:
        expect(menu.locator("summary")).to_be_hidden()
        expect(calltrees_link).to_be_visible()


def test_no_number_is_split_in_deep_call_trees_or_editor_lists(page: Page):
    sign_in(page, "editor@demo.example")
    page.get_by_role("button", name="Svenska").click()
    visit(page, "/actors/haninge-kommun")  # an editor's list: numbers beside their tools
    expect(page.locator(".path-tools").first).to_be_visible()
    assert numbers_on_one_line(page) > 3
    visit(page, "/calltrees")
    links = page.locator("table.list a[href*='/calltrees/']")
    deepest = 0
    for href in [links.nth(i).get_attribute("href") for i in range(links.count())]:
        visit(page, href)
        numbers_on_one_line(page)
        words_whole(page)
        deepest = max(deepest, page.evaluate(
            """() => Math.max(0, ...[...document.querySelectorAll('.tree-node a[href^="tel:"]')]
                .map(a => { let depth = 0, e = a;
                            while ((e = e.parentElement)) if (e.matches('ol.tree')) depth++;
                            return depth; }))"""))
    assert deepest >= 3, f"no call tree of depth 3 or more was checked ({deepest})"
