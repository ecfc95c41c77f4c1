"""Paper: print views, PDFs of call trees and the binder, revisions and their changes.

PDFs are read back with pypdf, page by page, the way a person reads paper:
the header and footer on every page, the numbers in PACE order, Swedish
letters intact, and the changes page telling which sections to replace.
"""

import json
import re
from datetime import date, time
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy import text as sa_text

from directory.calltrees.rules import add_node
from directory.core.extensions import db
from directory.core.models import (
    ActorLevel,
    CallTree,
    CollaborationPattern,
    ContactKind,
    ContactPoint,
    Mode,
    PathMode,
    PatternParticipant,
    Person,
    Phase,
    PrintRevision,
    Role,
    Rotation,
    RotationKind,
    RotationMember,
    Scenario,
    ScenarioMeasure,
    UserRole,
    utcnow,
)
from directory.printing import paper, pdf, wording
from directory.printing.binder import binder_meta, snapshot_entries
from directory.printing.views import Builder
from tests.conftest import (
    Auth,
    make_actor,
    make_contact,
    make_person,
    make_role,
    recorded_statements,
)

MARKING = "Skyddas – får ej spridas"
PAGE_OF = re.compile(r"Page (\d+) of (\d+)")


# --- A small region, and reading PDFs ------------------------------------------------


@pytest.fixture
def region(app):
    """The county board and Haninge, a regional call tree, a pattern and a scenario."""
    scenario = Scenario(slug="sno", name="Trafikstörningar p.g.a. snö/halka",
                        facts="Kraftigt snöfall väntas.", goal="Framkomlighet för utryckning.")
    db.session.add(scenario)
    lan = make_actor("Länsstyrelsen Stockholm", last_reviewed_at=utcnow())
    tib = make_role(lan)
    make_contact(tib, "+46701740605", label="Dygnet runt", priority=1)
    make_contact(tib, "+46701740606", kind=ContactKind.SWITCHBOARD, label="Växel – be om TiB",
                 priority=2)
    make_contact(tib, "RSTH LST-1", kind=ContactKind.RAKEL_GROUP, label="Rakel talgrupp",
                 priority=3)
    make_contact(tib, "Exempelgatan 10, Stockholm", kind=ContactKind.ADDRESS,
                 label="Samlingsplats", priority=4)
    make_contact(tib, "+46701740607", label="Stab", mode=PathMode.ACTIVATED, priority=1)
    per, helena = make_person(lan, "Per Åkesson"), make_person(lan, "Helena Wästberg")
    db.session.add(Rotation(role=tib, name="Veckorotation TiB", kind=RotationKind.WEEKLY,
                            length_days=7, handover_time=time(8, 0),
                            starts_on=date(2026, 12, 21),
                            members=[RotationMember(person=per, position=0),
                                     RotationMember(person=helena, position=1)]))
    haninge = make_actor("Haninge kommun", last_reviewed_at=utcnow())
    han_tib = make_role(haninge)
    make_contact(han_tib, "+46701740608", label="Dygnet runt")
    make_contact(haninge, "+46701740651", kind=ContactKind.SWITCHBOARD, label="Växel")
    asa = make_person(haninge, "Åsa Öberg", title="Beredskapssamordnare")
    make_contact(asa, "+46701740675", label="Privat mobil", confidential=True)
    frg = make_actor("FRG Haninge", parent=haninge, level=ActorLevel.LOCAL,
                     last_reviewed_at=utcnow())
    make_contact(make_role(frg, "Kontaktperson", ""), "+46701740648")
    tree = CallTree(name="Larmkedja snö", mode=Mode.ORDINARY, scenario=scenario, revision=3,
                    valid_from=date(2026, 12, 1), next_review_on=date(2027, 6, 1))
    db.session.add(tree)
    db.session.flush()
    top = add_node(tree, tib, instructions="Säg: detta är inte en övning.\nNotera klockslag.",
                   escalate_after_minutes=10, alternates=[(lan, 5)])
    add_node(tree, han_tib, parent=top, escalate_after_minutes=5,
             alternates=[(asa, 5), (haninge, 10)])
    pattern = CollaborationPattern(
        name="Regional samverkanskonferens", convener_actor=lan, convener_role=tib,
        mode=PathMode.ACTIVATED, scenario=scenario, starts_on=date(2026, 12, 1),
        recurrence="FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0", purpose="Gemensam lägesbild.",
        participants=[PatternParticipant(actor=haninge)])
    db.session.add(pattern)
    db.session.flush()
    db.session.add(ContactPoint(pattern=pattern, kind=ContactKind.BRIDGE, value="+46701740674",
                                pin="246810#", label="Telefonbrygga"))
    db.session.add(ScenarioMeasure(scenario=scenario, phase=Phase.PREPARATORY, position=1,
                                   text="Inventera plogresurser", responsible_actor=haninge))
    db.session.commit()
    return {"tree": tree, "haninge": haninge, "lan": lan, "tib": tib, "han_tib": han_tib,
            "asa": asa, "frg": frg}


def pages(response, marking_atop: bool = False) -> list[str]:
    """The text of each page of a PDF answer (less the marking atop the page, which
    `test_paper_works_without_the_network` reads)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/pdf"
    texts = [page.extract_text() for page in PdfReader(BytesIO(response.data)).pages]
    return texts if marking_atop else [t.removeprefix(MARKING + "\n") for t in texts]


def page_numbers(texts: list[str]) -> list[tuple[int, int]]:
    return [tuple(int(n) for n in PAGE_OF.search(text).groups()) for text in texts]


def body(text: str) -> str:
    """A page's text on one line (words wrapped at line ends join again)."""
    return " ".join(text.split())


def record(client, url="/binder/revisions", **data):
    token = Auth(client).csrf_token("/binder")
    return client.post(url, data={"csrf_token": token, "mode": "", **data})


# --- A call tree on paper -----------------------------------------------------------


def test_every_page_of_a_tree_carries_the_header_and_the_footer(client, login_as, region):
    tree = region["tree"]
    for n in range(14):  # enough nodes for more than one page
        add_node(tree, region["han_tib"], instructions=f"Ring vidare, steg {n}.")
    db.session.commit()
    viewer = login_as(UserRole.VIEWER)
    texts = pages(client.get(f"/calltrees/{tree.id}.pdf"))
    assert len(texts) >= 2
    assert page_numbers(texts) == [(n, len(texts)) for n in range(1, len(texts) + 1)]
    for text in texts:
        line = body(text)
        for expected in ("Larmkedja snö", "Regional", "Ordinary mode",
                         "Scenario: Trafikstörningar p.g.a. snö/halka", "call tree revision 3",
                         "Valid from 2026-12-01", "Next review 2027-06-01", MARKING,
                         f"by {viewer.email}"):
            assert expected in line, (expected, line[:300])
        assert re.search(r"Printed \d{4}-\d\d-\d\d \d\d:\d\d", line)


def test_a_node_shows_its_numbers_in_pace_order_and_whom_to_call_next(client, login_as,
                                                                       region):
    login_as(UserRole.VIEWER)
    text = body("".join(pages(client.get(f"/calltrees/{region['tree'].id}.pdf"))))
    assert "1 TiB – Länsstyrelsen Stockholm" in text
    primary, alternate = text.index("070-174 06 05"), text.index("070-174 06 06")
    talk_group, meeting = text.index("RSTH LST-1"), text.index("Exempelgatan 10")
    assert primary < alternate < talk_group < meeting  # P, A, C, E
    assert "070-174 06 07" not in text  # the staff number is for activated mode
    assert "tel:" not in text  # a link on the number, not printed text
    # The path's own label, then the name of its kind (the label alone says nothing of the kind).
    assert "C RSTH LST-1 Rakel talgrupp · Rakel talk group · never verified E" in text
    assert "Instructions: Säg: detta är inte en övning. Notera klockslag." in text
    assert "No answer within 10 min? Call:" in text
    assert "1.1 TiB – Haninge kommun" in text
    assert "Called at" in text and "answered" in text and "no answer" in text


def test_a_tree_lists_the_rotation_or_who_is_on_call_on_a_chosen_day(client, login_as, region):
    login_as(UserRole.VIEWER)
    url = f"/calltrees/{region['tree'].id}.pdf"
    roster = body("".join(pages(client.get(url))))
    assert "Veckorotation TiB (every 7 days, handover 08:00): Per Åkesson, Helena Wästberg" \
        in roster
    assert "On call" not in roster
    on_call = body("".join(pages(client.get(url, query_string={"at": "2026-12-29T09:00"}))))
    assert "On call 2026-12-29 09:00: Helena Wästberg" in on_call  # her turn, the second week


def test_swedish_letters_survive_and_the_font_is_embedded(client, login_as, region):
    login_as(UserRole.ADMIN)
    response = client.get(f"/calltrees/{region['tree'].id}.pdf")
    text = "".join(pages(response))
    for word in ("Åsa Öberg", "Länsstyrelsen", "Wästberg", "Trafikstörningar", "får"):
        assert word in text
    fonts = PdfReader(BytesIO(response.data)).pages[0]["/Resources"]["/Font"]
    embedded = []
    for font in fonts.values():
        font = font.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        assert "/FontFile2" in descendant["/FontDescriptor"].get_object()
        embedded.append(str(font["/BaseFont"]))
    assert sorted(name.split("+")[1] for name in embedded) == ["DejaVuSansBold",
                                                               "DejaVuSansBook"]


def test_the_fonts_ship_with_their_licence():
    fonts = paper.FONT_DIR
    assert (fonts / "DejaVuSans.ttf").stat().st_size > 100_000
    assert (fonts / "DejaVuSans-Bold.ttf").stat().st_size > 100_000
    assert "Bitstream" in (fonts / "LICENSE-DejaVu.txt").read_text()


@pytest.mark.parametrize("role, shown", [("viewer", False), ("admin", True)])
def test_confidential_numbers_are_printed_only_for_those_who_may_see_them(
        client, login_as, region, role, shown):
    """Except in a call tree: Åsa's private mobile is an alternate there (DESIGN:
    call trees are need-to-know lists), so everyone who prints the tree can dial it."""
    login_as(UserRole(role))
    tree_text = "".join(pages(client.get(f"/calltrees/{region['tree'].id}.pdf")))
    assert "070-174 06 75" in tree_text
    binder = "".join(pages(client.get("/binder.pdf")))
    # The tree's step (printed twice in the binder) for all; Åsa's row on
    # Haninge's page only when allowed.
    assert binder.count("070-174 06 75") == (3 if shown else 2)
    sheet = client.get("/actors/haninge-kommun/print").get_data(as_text=True)
    assert ("070-174 06 75" in sheet) is shown


HOSTILE_WORD = "Ö" * 30 + "x" * 160  # longer than any line; names hold 200
HOSTILE = f"{HOSTILE_WORD}\n\nrad två\tmed tabb{paper.TOTAL_PAGES}\x07 <script>alert(1)</script>"


def test_wrapped_lines_never_run_past_their_width(app):
    sheet = paper.Paper({"title": "t"})
    for text, width in ((HOSTILE, 50.0), ("tib@lansstyrelsen.demo.example", 20.0),
                        ("kort", 80.0), ("", 30.0)):
        for size, bold in ((9, False), (15, True)):
            lines = sheet.wrap(text, width, size, bold)
            sheet.use(size, bold)
            assert all(sheet.width(line) <= width + 1e-6 for line in lines)
            assert "".join(lines).replace(" ", "") == "".join(
                paper.clean_text(text).split()).replace(" ", "")
    assert sheet.wrap("tib@lansstyrelsen.demo.example", 30, 9)[0].endswith(("@", "."))


def test_no_page_count_alias_survives_cleaning_however_it_is_nested(app):
    """User text never carries fpdf2's page-count alias: an alias hidden inside
    another would be left whole by removing it once."""
    alias = paper.TOTAL_PAGES
    nested = alias[:9] + alias + alias[9:]
    deeper = alias[:5] + nested + alias[5:]
    sheet = paper.Paper({"title": "t"})
    for text in (nested, deeper, f"Larm {nested} snö"):
        assert alias not in paper.clean_text(text)
        assert alias not in sheet.fit(text, 80, 9)
        assert all(alias not in line for line in sheet.wrap(text, 80, 9))


def test_hostile_text_stays_on_the_page(client, login_as, region):
    region["haninge"].name = "Haninge " + HOSTILE_WORD
    node = region["tree"].nodes[1]
    node.instructions = HOSTILE
    db.session.commit()
    login_as(UserRole.ADMIN)
    response = client.get(f"/calltrees/{region['tree'].id}.pdf")
    texts = pages(response)
    assert page_numbers(texts) == [(n, len(texts)) for n in range(1, len(texts) + 1)]
    joined = "".join("".join(texts).split())
    assert HOSTILE_WORD in joined  # every letter printed, cut over several lines
    assert "rad två med tabb <script>alert(1)</script>" in body("".join(texts))
    width = float(PdfReader(BytesIO(response.data)).pages[0].mediabox.width)
    starts = []
    for page in PdfReader(BytesIO(response.data)).pages:
        page.extract_text(visitor_text=lambda text, cm, tm, *_: starts.append(tm[4] * cm[0]
                                                                             + cm[4]))
    assert starts and all(0 <= x < width - 20 for x in starts)
    sheet = client.get(f"/calltrees/{region['tree'].id}/print").get_data(as_text=True)
    assert "<script>alert" not in sheet and "&lt;script&gt;alert(1)&lt;/script&gt;" in sheet


def test_an_unreadable_date_or_mode_is_refused(client, login_as, region):
    login_as(UserRole.VIEWER)
    assert client.get(f"/calltrees/{region['tree'].id}.pdf?at=imorgon").status_code == 400
    assert client.get("/binder.pdf?mode=panik").status_code == 400
    assert client.get("/binder.pdf?actor=finns-inte").status_code == 404
    assert client.get("/calltrees/9999.pdf").status_code == 404


# --- Print views ----------------------------------------------------------------------


def test_the_tree_print_view_is_paper_without_navigation(client, login_as, region):
    login_as(UserRole.VIEWER)
    page = client.get(f"/calltrees/{region['tree'].id}/print").get_data(as_text=True)
    assert "<nav" not in page and "site-header" not in page
    assert '<link rel="stylesheet" href="/print/print.css">' in page
    assert 'class="node"' in page and 'class="call-log"' in page
    assert '<ol class="children">' in page  # the child node is drawn under its parent
    assert '<a href="tel:+46701740605">070-174 06 05</a>' in page
    assert MARKING in page and "call tree revision 3" in page
    assert "Next review 2027-06-01" in page


def test_the_print_stylesheet_is_a4_black_on_white_and_keeps_nodes_whole(client, login_as):
    login_as(UserRole.VIEWER)
    response = client.get("/print/print.css")
    css = response.get_data(as_text=True)
    assert response.mimetype == "text/css"
    assert "size: A4" in css and "break-inside: avoid" in css
    assert 'content: "Page " counter(page) " of " counter(pages)' in css
    assert "background: #fff" in css and "color: #000" in css


def test_the_actor_sheet_shows_roles_persons_and_the_mode(client, login_as, region):
    login_as(UserRole.VIEWER)
    page = client.get("/actors/haninge-kommun/print").get_data(as_text=True)
    assert "<nav" not in page
    for expected in ("Haninge kommun", "Tjänsteman i beredskap", "070-174 06 08",
                     "070-174 06 51", "Åsa Öberg", "Beredskapssamordnare", "ordinary mode"):
        assert expected in page
    activated = client.get("/actors/lansstyrelsen-stockholm/print?mode=activated")
    assert activated.get_data(as_text=True).index("070-174 06 07") < \
        activated.get_data(as_text=True).index("070-174 06 05")


def test_the_directory_lists_actors_by_hierarchy(client, login_as, region):
    login_as(UserRole.VIEWER)
    page = client.get("/print/directory").get_data(as_text=True)
    haninge, frg = page.index("<h3>Haninge kommun"), page.index("<h3>FRG Haninge")
    assert haninge < frg < page.index("<h3>Länsstyrelsen Stockholm")  # under its parent
    assert 'class="actor-entry depth-1"' in page
    assert "070-174 06 48" in page and "Åsa Öberg" not in page  # roles, not persons


# --- The binder --------------------------------------------------------------------


def test_the_binder_has_cover_contents_outline_sections_and_index(client, login_as, region):
    login_as(UserRole.ADMIN)
    response = client.get("/binder.pdf")
    texts = [body(t) for t in pages(response)]
    assert "Binder" in texts[0] and "Region – all actors" in texts[0]
    assert "preview, not a recorded revision" in texts[0]
    assert "No earlier revision of this binder was printed" in texts[1]
    assert "Contents" in texts[1]
    outline = PdfReader(BytesIO(response.data)).outline

    def titles(items):
        for item in items:
            if isinstance(item, list):
                yield from titles(item)
            else:
                yield item.title

    assert {"Regional call trees", "Larmkedja snö", "Actors", "Haninge kommun", "FRG Haninge",
            "Länsstyrelsen Stockholm", "Collaboration patterns", "Scenario directions",
            "Index of numbers"} <= set(titles(outline))
    text = " ".join(texts)
    assert "Regional samverkanskonferens" in text and "PIN 246810#" in text
    assert "daily at 09:00, 15:00" in text
    assert "Inventera plogresurser (Haninge kommun)" in text
    assert all(MARKING in t for t in texts)


def test_the_contents_page_numbers_lead_to_their_sections(client, login_as, region):
    login_as(UserRole.ADMIN)
    texts = pages(client.get("/binder.pdf"))
    contents = texts[1].split("Contents", 1)[1]
    for title in ("Larmkedja snö", "Haninge kommun", "FRG Haninge", "Länsstyrelsen Stockholm",
                  "Collaboration patterns", "Index of numbers"):
        number = int(re.search(rf"^{re.escape(title)} (\d+)$", contents, re.M).group(1))
        assert texts[number - 1].startswith(title), (title, number)  # the header names it


def test_the_index_tells_whose_number_it_is(client, login_as, region):
    login_as(UserRole.ADMIN)
    texts = pages(client.get("/binder.pdf"))
    index = body(texts[-1])
    assert index.startswith("Index of numbers")
    assert re.search(r"070-174 06 05 TiB – Länsstyrelsen Stockholm · Dygnet runt \d", index)
    assert "070-174 06 74 Regional samverkanskonferens · Telefonbrygga" in index
    assert "RSTH LST-1 TiB – Länsstyrelsen Stockholm" in index


def test_an_actors_binder_holds_that_actor(client, login_as, region):
    login_as(UserRole.VIEWER)
    texts = [body(t) for t in pages(client.get("/binder.pdf?actor=haninge-kommun"))]
    text = " ".join(texts)
    assert texts[0].startswith("Binder Haninge kommun")
    assert "Regional samverkanskonferens" in text  # Haninge takes part in it
    assert "Länsstyrelsen Stockholm Länsstyrelsen" not in text
    assert "Larmkedja snö" not in text  # a regional tree is in the regional binder


def test_a_preview_records_nothing(client, login_as, region):
    login_as(UserRole.ADMIN)
    client.get("/binder.pdf")
    client.get("/binder.pdf?actor=haninge-kommun")
    assert db.session.scalar(select(func.count()).select_from(PrintRevision)) == 0


def test_printing_a_revision_records_its_content_and_shows_it(client, login_as, region):
    admin = login_as(UserRole.ADMIN)
    response = record(client)
    assert response.status_code == 303
    revision = db.session.scalar(select(PrintRevision))
    assert response.headers["Location"] == f"/binder/revisions/{revision.id}.pdf"
    assert (revision.scope, revision.number, revision.printed_by_id) == ("binder", 1, admin.id)
    # Stored once (the entries are worked out from the stored document), and
    # compactly: Swedish letters as they are, no spaces between items.
    assert "entries" not in revision.snapshot
    stored = db.session.scalar(sa_text("SELECT CAST(snapshot AS TEXT) FROM print_revision"))
    assert "Haninge kommun" in stored and "Åsa Öberg" in stored
    assert stored == json.dumps(revision.snapshot, ensure_ascii=False, separators=(",", ":"))
    entries = snapshot_entries(revision.snapshot)
    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740608"))
    assert entries[f"contact_point:{point.id}"]["values"]["number"] == "070-174 06 08"
    assert f"actor:{region['haninge'].id}" in entries[f"contact_point:{point.id}"]["sections"]
    assert entries[f"call_tree_node:{region['tree'].nodes[0].id}"]["values"]["instructions"] \
        .startswith("Säg:")
    texts = pages(client.get(response.headers["Location"]))
    assert all("binder revision 1" in body(t) for t in texts)


def test_the_next_revision_says_what_changed_and_which_sections_to_replace(
        client, login_as, region):
    login_as(UserRole.ADMIN)
    record(client)
    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740608"))
    point.value = "+46701740609"
    region["asa"].title = "Krisledningschef"
    make_role(region["lan"], "Kommunikatör i beredskap", "KiB")
    db.session.delete(db.session.scalar(
        select(ContactPoint).where(ContactPoint.value == "RSTH LST-1")))
    region["frg"].deleted_at = utcnow()
    db.session.commit()
    response = client.get(record(client).headers["Location"])
    texts = [body(t) for t in pages(response)]
    front = texts[1]
    assert "Changes since revision 1" in front and "Revision 1 was printed" in front
    replace = front.split("Sections to replace", 1)[1].split("What changed", 1)[0]
    found = dict(re.findall(r"(Larmkedja snö|Haninge kommun|Länsstyrelsen Stockholm) "
                            r"(\d+(?:–\d+)?)", replace))
    assert set(found) == {"Larmkedja snö", "Haninge kommun", "Länsstyrelsen Stockholm"}
    assert "Remove: FRG Haninge (no longer in the binder)" in replace
    for title, pages_text in found.items():  # the pages named are that section's
        first = int(pages_text.split("–")[0])
        assert texts[first - 1].startswith(title)
    assert "Always: the cover, these changes and the contents" in replace
    assert "Always: the index of numbers" in replace
    assert "TiB – Haninge kommun › Dygnet runt – number: 070-174 06 08 → 070-174 06 09" in front
    assert "(also in: Haninge kommun)" in front
    assert "Changed: Haninge kommun › Åsa Öberg – title: Beredskapssamordnare → " \
           "Krisledningschef" in front
    assert "Added: KiB – Länsstyrelsen Stockholm" in front
    assert "Removed: TiB – Länsstyrelsen Stockholm › Rakel talgrupp" in front


def test_a_revision_recorded_with_its_entries_beside_it_is_compared_by_them(
        client, login_as, region):
    """Revisions recorded before the entries were worked out from the document
    stored them beside it; the next revision compares with those."""
    login_as(UserRole.ADMIN)
    record(client)
    first = db.session.scalar(select(PrintRevision))
    entries = json.loads(json.dumps(snapshot_entries(first.snapshot)))  # a copy to change
    point = db.session.scalar(select(ContactPoint).where(ContactPoint.value == "+46701740608"))
    entries[f"contact_point:{point.id}"]["values"]["number"] = "070-174 06 00"
    first.snapshot = {**first.snapshot, "entries": entries}
    db.session.commit()
    front = body(pages(client.get(record(client).headers["Location"]))[1])
    assert "TiB – Haninge kommun › Dygnet runt – number: 070-174 06 00 → 070-174 06 08" in front


def test_a_recorded_revision_prints_the_same_pages_later(client, login_as, region):
    login_as(UserRole.ADMIN)
    url = record(client).headers["Location"]
    before = pages(client.get(url))
    region["haninge"].name = "Haninge kommun (nytt namn)"
    db.session.commit()
    assert pages(client.get(url)) == before
    revision = db.session.scalar(select(PrintRevision))
    assert revision.snapshot["pages"]["index"][1] == len(before)


def test_viewers_get_a_recorded_revision_with_confidential_numbers_masked(
        client, app, login_as, region):
    login_as(UserRole.ADMIN)
    record(client)
    private = db.session.scalar(select(ContactPoint).where(ContactPoint.confidential))
    private.value = "+46701740676"
    db.session.commit()
    url = record(client).headers["Location"]
    admin_pages = pages(client.get(url))
    assert "number: 070-174 06 75 → 070-174 06 76" in body(admin_pages[1])
    holder = app.test_client()
    Auth(holder).login(_make_viewer())
    viewer_pages = pages(holder.get(url))
    text = "".join(viewer_pages)
    assert "070-174 06 75" not in text
    # Shown as the call tree's alternate (need-to-know; the tree is printed
    # twice in the binder); masked on Åsa's row.
    assert text.count("070-174 06 76") == 2
    assert "(confidential – not shown)" in text  # in its place on Åsa Öberg's row
    assert "Privat mobil – confidential, not shown" in body(viewer_pages[1])
    assert len(viewer_pages) == len(admin_pages)  # the same pages for every holder
    preview = body(pages(holder.get("/binder.pdf"))[1])
    assert "Privat mobil" not in preview  # never on the viewer's paper: neither removed


def _make_viewer():
    from tests.conftest import make_user

    user = make_user("holder@example.org", role=UserRole.VIEWER)
    db.session.commit()
    return user.email


def test_an_actors_editors_print_its_binder_as_a_series_of_its_own(client, login_as, region):
    login_as(UserRole.EDITOR, actors=[region["haninge"]])
    token = Auth(client).csrf_token("/binder?actor=haninge-kommun")
    for expected in (1, 2):
        response = client.post("/actors/haninge-kommun/binder/revisions",
                               data={"csrf_token": token, "mode": "activated"})
        assert response.status_code == 303
        revision = db.session.scalars(select(PrintRevision).order_by(PrintRevision.id)).all()[-1]
        assert (revision.scope, revision.number) == ("binder:haninge-kommun", expected)
    assert record(client).status_code == 403  # the regional binder is the coordinators'
    texts = pages(client.get(response.headers["Location"]))
    assert "Activated mode" in texts[0] and "Changes since revision 1" in texts[1]


def test_the_binder_page_offers_printing_only_to_those_who_may(client, login_as, region):
    login_as(UserRole.VIEWER)
    page = client.get("/binder").get_data(as_text=True)
    assert 'action="/binder/previews"' in page and 'action="/binder/revisions"' not in page
    assert client.get("/binder?actor=haninge-kommun").status_code == 200


def test_the_binder_page_lists_revisions_for_coordinators(client, login_as, region):
    login_as(UserRole.ADMIN)
    assert 'action="/binder/revisions"' in client.get("/binder").get_data(as_text=True)
    record(client)
    page = client.get("/binder").get_data(as_text=True)
    assert "Revision 1 (PDF)" in page and "Records revision 2" in page


def test_the_binder_is_built_in_a_fixed_number_of_queries(app, region):
    from tests.conftest import make_user

    admin = make_user("coordinator@example.org", role=UserRole.ADMIN)
    db.session.commit()

    def statements() -> int:
        db.session.expire_all()
        with recorded_statements() as sent, app.test_request_context("/"):
            Builder(admin).binder()
        return len(sent)

    statements()  # once untimed: what a process does once (it varied with the tests before)
    few = statements()
    for n in range(6):
        actor = make_actor(f"Kommun {n}")
        role = make_role(actor)
        make_contact(role, f"+467017406{20 + n}")
        make_contact(make_person(actor, f"Person {n}"), f"+467017406{30 + n}")
    db.session.commit()
    assert statements() == few


def test_a_number_confidential_in_the_last_revision_stays_hidden_after_it_is_unmarked(
        client, app, login_as, region):
    login_as(UserRole.ADMIN)
    record(client)
    private = db.session.scalar(select(ContactPoint).where(ContactPoint.confidential))
    private.value, private.confidential = "+46701740676", False
    db.session.commit()
    url = record(client).headers["Location"]
    holder = app.test_client()
    Auth(holder).login(_make_viewer())
    for answer in (holder.get(url), holder.get("/binder.pdf")):
        text = body("".join(pages(answer)))
        assert "070-174 06 75" not in text  # the old, private number
        assert "070-174 06 76" in text  # the new one is ordinary now


VOLATILE = re.compile(r"binder revision \d+|Valid from \S+|Printed \d{4}-\d\d-\d\d \d\d:\d\d by "
                      r"\S+|Page \d+ of \d+")


def section_texts(client, revision: PrintRevision) -> dict[str, str]:
    """What each section's pages show, less the revision, date and page number."""
    texts = pages(client.get(f"/binder/revisions/{revision.id}.pdf"))
    found = {}
    for key, title in revision.snapshot["sections"].items():
        first, last = revision.snapshot["pages"][key]
        found[title] = VOLATILE.sub("", body(" ".join(texts[first - 1:last])))
    return found


def test_after_a_change_of_mode_every_section_whose_pages_differ_is_to_be_replaced(
        client, login_as, region):
    """Printed in ordinary mode, then activated for the snow: not one entry changed,
    but the headers of most pages did (mode, scenario). Only the pages tell."""
    from directory.core.modes import switch_mode

    admin = login_as(UserRole.ADMIN)
    record(client, mode="ordinary")
    switch_mode(None, Mode.ACTIVATED, reason="Snöoväder", user=db.session.merge(admin),
                scenario=db.session.scalar(select(Scenario)))
    db.session.commit()
    response = client.get(record(client).headers["Location"])
    first, second = db.session.scalars(select(PrintRevision).order_by(PrintRevision.number))
    assert second.snapshot["document"]["mode"] == "activated"
    before, after = section_texts(client, first), section_texts(client, second)
    differ = {title for title in after if before.get(title) != after[title]}
    assert {"Haninge kommun", "FRG Haninge", "Länsstyrelsen Stockholm"} <= differ
    assert "Larmkedja snö" not in differ  # a tree's header is its own mode and scenario
    texts = [body(t) for t in pages(response)]
    body_starts = min(first for first, _last in second.snapshot["pages"].values())
    front = " ".join(texts[1:body_starts - 1])
    assert "Sections to replace" in front
    replace = front.split("Sections to replace", 1)[1].split("Contents", 1)[0]
    listed = {title for title in after if re.search(re.escape(title) + r" \d+(–\d+)?", replace)}
    assert listed == differ


def test_an_actors_pages_hold_both_modes_side_by_side(client, login_as, region):
    """Printed in ordinary mode, the county board's pages still give the staff number
    as P for activated mode: the page does not depend on the day it was printed."""
    login_as(UserRole.ADMIN)
    texts = [body(t) for t in pages(client.get("/binder.pdf?mode=ordinary"))]
    (lan,) = [t for t in texts if t.startswith("Länsstyrelsen Stockholm")]
    assert "Both modes" in lan.split("Länsstyrelsen Stockholm", 2)[1]  # the header
    role = lan.split("Tjänsteman i beredskap", 1)[1]
    ordinary, activated = role.split("Activated mode", 1)
    assert "P 070-174 06 05" in ordinary and "070-174 06 07" not in ordinary
    assert activated.lstrip().startswith("P 070-174 06 07")  # the staff number first


def sizes_of(data: bytes, wanted: str, skip: range = range(0)) -> set[float]:
    """The font sizes `wanted` is printed in, on every page (but those to skip)."""
    found = set()
    for number, page in enumerate(PdfReader(BytesIO(data)).pages, start=1):
        if number in skip:
            continue
        def visit(text, _cm, tm, _font, size):
            if wanted in text:
                found.add(round(size * tm[0], 1))
        page.extract_text(visitor_text=visit)
    return found


def test_paper_works_without_the_network(client, login_as, region):
    """Large numbers, a PACE legend, no printed tel: text (a link instead), the marking
    at the top and the bottom, and a cover with copy number, holder and effective pages."""
    login_as(UserRole.ADMIN)
    tree = client.get(f"/calltrees/{region['tree'].id}.pdf")
    assert min(sizes_of(tree.data, "070-174 06 05")) >= 12
    record(client)
    binder = client.get(record(client).headers["Location"])
    first, last = db.session.scalars(select(PrintRevision).order_by(
        PrintRevision.number.desc())).first().snapshot["pages"]["index"]
    # On the binder's pages; the index of numbers is a compact table to look one up.
    assert min(sizes_of(binder.data, "070-174 06 08", skip=range(first, last + 1))) >= 12
    for response in (tree, binder):
        reader = PdfReader(BytesIO(response.data))
        texts = [body(t) for t in pages(response, marking_atop=True)]
        for t in texts:
            assert t.index(MARKING) < 60 and t.count(MARKING) >= 2, t  # atop and below
        assert not any("tel:" in t for t in texts)
        links = {a.get_object()["/A"]["/URI"] for page in reader.pages
                 for a in page.get("/Annots", []) if "/A" in a.get_object()}
        assert "tel:+46701740605" in links
    text = " ".join(texts)
    assert "P primary · A alternate · C contingency · E emergency (E2, E3" in text
    cover = texts[0]
    assert "Copy no. ________ Holder ____" in cover
    effective = text.split("Effective pages", 1)[1].split("Index of numbers", 1)[0]
    assert re.search(r"Larmkedja snö \d+(–\d+)? revision 1", effective)  # unchanged since 1
    assert re.search(r"Cover, changes and contents 1–\d+ revision 2", effective)


def test_the_fifth_and_sixth_paths_are_further_emergency_paths(app):
    assert [wording.pace_letter(n) for n in range(6)] == ["P", "A", "C", "E", "E2", "E3"]


def test_a_recorded_revision_masks_a_confidential_number_in_a_roles_escalation(
        client, app, login_as, region):
    """A role escalating to someone whose only number is confidential: the coordinator's
    recorded binder prints it, a viewer's copy of the same revision does not, and shows
    no verification beside the masked number either."""
    from directory.core import escalations
    from directory.core.models import CheckSource
    from directory.core.verification import record_call

    asa = db.session.get(Person, region["asa"].id)
    escalations.set_steps(db.session.get(Role, region["han_tib"].id), [(asa, 15)])
    record_call(asa.contact_points[0], True, source=CheckSource.EDITOR)
    db.session.commit()
    login_as(UserRole.ADMIN)
    url = record(client).headers["Location"]
    admin_text = "".join(pages(client.get(url)))
    assert "No answer within 15 min → Åsa Öberg (Haninge kommun) 070-174 06 75" in \
        admin_text.replace("\n", " ")
    holder = app.test_client()
    Auth(holder).login(_make_viewer())
    viewer_text = "".join(pages(holder.get(url))).replace("\n", " ")
    # Only where the call tree places her (need-to-know; the tree is printed twice).
    assert viewer_text.count("070-174 06 75") == 2 < admin_text.count("070-174 06 75")
    assert "No answer within 15 min → Åsa Öberg (Haninge kommun) (confidential – not shown)" \
        in viewer_text
    # On her own (masked) row no verification either; the coordinator's row has it.
    assert re.search(r"070-174 06 75 Privat mobil · Mobile · confidential · verified \d{4}-",
                     admin_text)
    masked_row = viewer_text.split("(confidential – not shown) Privat mobil", 1)[1][:40]
    assert masked_row.startswith(" · Mobile · confidential") and "verified" not in masked_row


def test_a_binder_is_laid_out_once_unless_its_front_pages_grow(client, login_as, region,
                                                                 monkeypatch):
    """Which sections to replace is known once the pages are laid out, and the front
    pages listing them come first: the front is reserved for a first guess and the
    binder laid out again only when the real list needs more (or fewer) pages."""
    from directory.printing.binder import compare, document_entries

    layouts = []
    render = pdf.Layout.render
    monkeypatch.setattr(pdf.Layout, "render",
                        lambda self, *args: layouts.append(self) or render(self, *args))
    admin = login_as(UserRole.ADMIN)
    record(client, mode="ordinary")
    record(client, mode="ordinary")  # nothing changed: the guess holds
    assert len(layouts) == 2
    first, second = db.session.scalars(select(PrintRevision).order_by(PrintRevision.number))
    # The digests of a whole binder's sections are those of its sections laid out alone.
    doc = second.snapshot["document"]
    meta = binder_meta(doc, "x", utcnow(), "x")
    assert pdf.section_digests(doc, meta) == second.snapshot["digests"]

    # A guess of nothing to replace, settled as every section to replace with a
    # long list of changed entries: that needs more front pages, so the binder is
    # laid out again with them.
    entries = document_entries(doc)
    guess = compare(first, doc, entries, admin, first.snapshot["digests"])
    settled = compare(first, doc, entries, admin, {})  # no digest matches: every section
    assert not guess["replace"] and len(settled["replace"]) == len(doc["sections"])
    title = settled["replace"][0][1]
    settled["details"] = [(title, [{"what": "changed", "label": f"Reserv {n}", "also": [],
                                    "fields": [f"number: 070-174 06 {n:02d} → –"]}
                                   for n in range(60)])]
    layouts.clear()
    content, pages_of_sections, digests, _inputs = pdf.render_binder(
        doc, meta, lambda _inputs: guess, lambda _digests: settled)
    assert len(layouts) == 2 and digests == second.snapshot["digests"]
    texts = [body(page.extract_text()) for page in PdfReader(BytesIO(content)).pages]
    front = " ".join(texts[1:min(first for first, _last in pages_of_sections.values()) - 1])
    for _key, title in settled["replace"]:
        assert title in front.split("Sections to replace", 1)[1]


def test_a_binder_whose_sections_all_changed_is_laid_out_once(client, login_as, region,
                                                              monkeypatch):
    """Sections whose pages changed without a changed entry (after a handover in
    every role, or a change of mode) make the list of sections to replace longer
    than a guess from the entries alone. What each section is laid out from is
    kept with its revision, so the guess knows them ahead and the binder is laid
    out once; a revision recorded before that is laid out again, as before."""
    for n in range(70):
        make_actor(f"Kommun {n:02d}")
    db.session.commit()
    layouts = []
    render = pdf.Layout.render
    monkeypatch.setattr(pdf.Layout, "render",
                        lambda self, *args: layouts.append(self) or render(self, *args))
    login_as(UserRole.ADMIN)

    def last_revision():
        return db.session.scalars(
            select(PrintRevision).order_by(PrintRevision.number.desc())).first()

    def as_if_every_section_showed_something_else(revision, *, inputs_kept):
        snapshot = dict(revision.snapshot)
        snapshot["digests"] = {key: "then" for key in snapshot["digests"]}
        if inputs_kept:
            snapshot["inputs"] = {key: "then" for key in snapshot["inputs"]}
        else:
            del snapshot["inputs"]
        revision.snapshot = snapshot
        db.session.commit()

    record(client, mode="ordinary")
    first = last_revision()
    assert set(first.snapshot["inputs"]) == set(first.snapshot["digests"])
    as_if_every_section_showed_something_else(first, inputs_kept=True)
    layouts.clear()
    record(client, mode="ordinary")
    assert len(layouts) == 1
    second = last_revision()
    texts = [body(t) for t in pages(client.get(f"/binder/revisions/{second.id}.pdf"))]
    to_replace = " ".join(texts).split("Sections to replace", 1)[1].split("Contents", 1)[0]
    assert all(f"Kommun {n:02d}" in to_replace for n in range(70))

    as_if_every_section_showed_something_else(second, inputs_kept=False)
    layouts.clear()
    record(client, mode="ordinary")
    assert len(layouts) == 2  # the guess from the entries alone was short


def test_a_binder_is_laid_out_without_the_cycle_collector_and_gives_it_back(
        client, login_as, region, monkeypatch):
    """The collector is off while a binder is built and laid out (a third of a
    national binder's time was its walks), and on again afterwards, also when
    the layout fails; a nested use leaves it to the outermost."""
    import gc

    from directory.printing.binder import without_cycle_collection

    during = []
    render = pdf.Layout.render
    monkeypatch.setattr(pdf.Layout, "render",
                        lambda self, *args: during.append(gc.isenabled()) or render(self, *args))
    login_as(UserRole.ADMIN)
    assert client.get("/binder.pdf").status_code == 200
    assert during == [False] and gc.isenabled()
    with pytest.raises(RuntimeError), without_cycle_collection():
        with without_cycle_collection():
            pass
        assert not gc.isenabled()  # the inner one left it off
        raise RuntimeError("the layout failed")
    assert gc.isenabled()


def test_after_a_binder_one_young_collection_finds_its_cycles(
        app, client, login_as, region, monkeypatch):
    """What a binder made while the collector was off is still in the youngest
    generation: one collection of that generation finds its cycles, without
    walking the worker's whole heap (a full collection after each small PDF
    cost about 0.1 s)."""
    import gc

    from directory.printing.binder import without_cycle_collection

    events = []  # "laid out", then each collection as (generation, collected)

    def seen(phase, info):
        if phase == "stop":
            events.append((info["generation"], info["collected"]))

    render = pdf.Layout.render
    monkeypatch.setattr(pdf.Layout, "render",
                        lambda self, *args: events.append("laid out") or render(self, *args))
    login_as(UserRole.ADMIN)
    gc.callbacks.append(seen)
    try:
        with without_cycle_collection():
            events.append("laid out")
            for _ in range(1000):
                ring = {}
                ring["self"] = ring
            del ring
        assert client.get("/binder.pdf").status_code == 200
    finally:
        gc.callbacks.remove(seen)
    # The first collection after each layout (none runs during one) is its own.
    after = [events[n + 1] for n, event in enumerate(events[:-1]) if event == "laid out"]
    generation, collected = after[0]
    assert generation == 0 and collected >= 1000  # the rings, and what was young besides
    generation, collected = after[1]
    assert generation == 0 and collected > 0


def test_a_binder_built_away_from_a_request_reads_the_calls_in_one_query(app, region):
    """The print worker builds binders with no request: what each number's last
    call says is read in one query there too (it was one query per number: an
    hour's worth of a minute at national scale), and a call recorded meanwhile
    is seen."""
    from directory.core.models import CheckSource, PathCheck
    from directory.core.verification import record_call
    from tests.conftest import make_user

    admin = make_user("printer@example.org", role=UserRole.ADMIN)
    haninge = region["haninge"]

    def build():
        with recorded_statements() as statements:
            doc = Builder(admin).binder()
        return doc, sum("path_check" in s for s in statements)

    _doc, before = build()
    for n in range(20):  # twenty more numbers
        make_contact(make_person(haninge, f"Person {n}"), value=f"+467017406{20 + n}")
    asa = db.session.get(Person, region["asa"].id)
    record_call(asa.contact_points[0], True, source=CheckSource.EDITOR)
    db.session.commit()
    doc, after = build()
    assert before == after == 1
    shown = [p for p in pdf.document_points(doc) if p[0]["key"] ==
             f"contact_point:{asa.contact_points[0].id}"]
    assert shown and all(point["verified"] for point, _owner, _section in shown)
    assert db.session.scalar(select(func.count()).select_from(PathCheck)) == 1


def test_two_binders_at_once_give_the_cycle_collector_back_when_the_last_ends():
    """The collector is the process's: while two binders are laid out at once in
    two threads it stays off until the second ends, whichever ends first, and
    it is on again afterwards."""
    import gc
    import threading

    from directory.printing.binder import without_cycle_collection

    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with without_cycle_collection():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with without_cycle_collection():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == {"after the first ended": False}
    assert gc.isenabled()
