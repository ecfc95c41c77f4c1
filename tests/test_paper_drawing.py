"""Paper's own drawing: text written straight into the page, as fpdf2 would place it.

`Paper.paint` writes runs of text into the content stream itself, with
`Tm` per line inside one `q BT … ET Q`, and tel: links with a lean
annotation (`UriLink`), because fpdf2's `text`, `set_font` and its generic
annotation writer per line were most of a national binder's time. These
tests hold it to what fpdf2 does: the same place, font, size and colour as
fpdf2's `cell`, the same bytes for a link, every link on its own number, and
fpdf2's idea of the page's font left true for what it draws after.
"""

from io import BytesIO

import pytest
from flask_babel import force_locale
from fpdf.actions import URIAction
from fpdf.annotations import AnnotationDict
from pypdf import PdfReader

from directory.core.extensions import db
from directory.core.models import ContactKind, PathMode, UserRole
from directory.printing import paper, pdf, wording
from directory.printing.views import Builder
from tests.conftest import make_actor, make_contact, make_person, make_role, make_user

# x, y, w, text, size, bold, align, link, grey: each kind of line a layout draws.
LINES = [
    (12.0, 2.0, 70.0, "Länsstyrelsen Stockholm · TiB", 9.0, False, "L", None, False),
    (12.0, 8.0, 70.0, "08-123 456 78", paper.NUMBER_SIZE, True, "R", "tel:+4681234567", False),
    (12.0, 15.0, 70.0, "mitt på raden", 7.5, False, "C", None, True),
    (90.0, 2.0, 40.0, "(parentes) \\ snedstreck", 11.0, True, "L", None, False),
    (90.0, 9.0, 40.0, "Ödsmål – ÅÄÖ åäö", 8.5, False, "R", None, True),
]
TOP = 40.0


def drawn(data: bytes, page: int = 0) -> list[tuple]:
    """(text, x, y, size, fill colour) of every piece of text on a page, in points."""
    found, colours = [], [("0.000",)]  # black until set

    def operand(operator, operands, _cm, _tm):
        if operator == b"q":
            colours.append(colours[-1])
        elif operator == b"Q":
            colours.pop()
        elif operator in (b"g", b"rg"):
            colours[-1] = tuple(f"{float(v):.3f}" for v in operands)

    def text(value, cm, tm, _font, size):
        if value.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            found.append((value.strip(), round(x, 1), round(y, 1), round(size, 2), colours[-1]))

    PdfReader(BytesIO(data)).pages[page].extract_text(visitor_text=text,
                                                        visitor_operand_before=operand)
    return sorted(found)


def links(data: bytes, page: int | None = None) -> list[tuple[str, list[float]]]:
    reader = PdfReader(BytesIO(data))
    chosen = reader.pages if page is None else [reader.pages[page]]
    return [(a.get_object()["/A"]["/URI"], [float(v) for v in a.get_object()["/Rect"]])
            for p in chosen for a in p.get("/Annots", []) if "/A" in a.get_object()]


def test_painted_text_sits_where_fpdf2s_cell_puts_it_in_its_font_and_colour(app):
    """The baseline, the x of each alignment, the font size and the grey of notes
    are those of fpdf2's `cell`, which the layout was made with."""
    with app.test_request_context():
        ours = paper.Paper({"title": "Prov"})
        ours.add_page()
        ours.paint([("text", *line) for line in LINES], TOP)
        theirs = paper.Paper({"title": "Prov"})
        theirs.add_page()
        for x, y, w, text, size, bold, align, link, grey in LINES:
            theirs.use(size, bold)
            theirs.set_text_color(70 if grey else 0)
            theirs.set_xy(x, TOP + y)
            theirs.cell(w, paper.line_height(size), text, align=align, link=link or "")
        theirs.set_text_color(0)
        ours_pdf, theirs_pdf = bytes(ours.output()), bytes(theirs.output())
    expected = drawn(theirs_pdf)
    assert drawn(ours_pdf) == expected
    assert {t[4] for t in expected if t[0].startswith(("mitt", "Ödsmål"))} == {("0.275",)}
    first = next(t for t in expected if t[0] == "Länsstyrelsen Stockholm · TiB")
    assert first[1:] == (34.0, first[2], 9.0, ("0.000",))  # 12 mm from the edge, in black
    [(uri, rect)] = links(ours_pdf)
    [(their_uri, _their_rect)] = links(theirs_pdf)
    assert uri == their_uri == "tel:+4681234567"
    number = next(t for t in expected if t[0] == "08-123 456 78")
    # fpdf2's cell links the whole cell; ours links the number itself, on its line.
    assert rect[0] == pytest.approx(number[1], abs=0.1)
    assert rect[1] < number[2] < rect[3] and rect[3] - rect[1] < 2 * paper.NUMBER_SIZE


def test_fpdf2_draws_in_its_own_font_after_painted_text(app):
    """Painted text sets its font inside `q … Q`, so what fpdf2 draws next (the
    footer's "Page X of Y") is still in the font fpdf2 believes is set."""
    with app.test_request_context():
        sheet = paper.Paper({"title": "Prov"})
        sheet.add_page()
        sheet.use(7.5)
        sheet.set_xy(20, 60)
        sheet.cell(50, 4, "före")
        sheet.paint([("text", 20.0, 0.0, 80.0, "stor fet text", 15.0, True, "L", None, True)],
                    80)
        sheet.set_xy(20, 100)
        sheet.cell(50, 4, "efter")
        data = bytes(sheet.output())
    sizes = {text: (size, colour) for text, _x, _y, size, colour in drawn(data)}
    assert sizes["före"] == sizes["efter"] == (7.5, ("0.000",))
    assert sizes["stor fet text"] == (15.0, ("0.275",))


@pytest.mark.parametrize("uri", ["tel:+46701740605", "tel:112", "tel:+4681234567;ext=12",
                                 "https://example.org/a(b)\\c", "tel:åäö"])
def test_a_link_is_written_in_the_bytes_fpdf2_writes(uri):
    place = {"x": 28.35, "y": 813.54, "width": 56.69, "height": 14.17}
    ours = paper.UriLink("Link", action=URIAction(uri), **place)
    theirs = AnnotationDict("Link", action=URIAction(uri), **place)
    assert ours.serialize() == theirs.serialize()


@pytest.fixture
def binder(app):
    """A binder of two actors with persons, roles and notes beside their numbers,
    as the admin sees it, and the page range of each section."""
    with app.test_request_context():
        for n, name in enumerate(("Haninge kommun", "Nynäshamns kommun")):
            actor = make_actor(name)
            role = make_role(actor)
            make_contact(role, value=f"+467017406{n}5", label="Tjänstetelefon")
            make_contact(role, value=f"+467017406{n}6", mode=PathMode.ACTIVATED)
            for p in range(12):
                person = make_person(actor, f"Person {p} {name}", title="Handläggare")
                make_contact(person, value=f"+467017406{20 + n * 12 + p:02d}")
                make_contact(person, value=f"person{p}@{n}.example.org", kind=ContactKind.EMAIL)
        admin = make_user("admin@example.org", UserRole.ADMIN)
        db.session.commit()
        doc = Builder(admin).binder()
        meta = {"title": "Pärm", "scope": "Hela regionen", "revision": "prov",
                "valid_from": "2026-12-07", "printed_at": "2026-12-07T08:00:00+00:00",
                "printed_by": "Samordnare", "marking": "Skyddas", "today": "2026-12-07"}
        content, pages = pdf.render_pdf(doc, meta)
    return doc, content, pages


def test_every_number_link_lies_on_its_own_number(binder):
    _doc, content, _pages = binder
    reader = PdfReader(BytesIO(content))
    checked = 0
    for index in range(len(reader.pages)):
        texts = drawn(content, index)
        for uri, (x0, y0, _x1, y1) in links(content, index):
            digits = uri.removeprefix("tel:+46")
            under = [t for t in texts if x0 - 0.1 <= t[1] <= x0 + 0.1 and y0 <= t[2] <= y1]
            assert len(under) == 1, (uri, under)
            shown = "".join(c for c in under[0][0] if c.isdigit())
            assert shown.lstrip("0") == digits, (uri, under[0])
            checked += 1
    assert checked >= 2 * (2 + 12)  # every role's and person's number, in the sections


def test_each_page_carries_its_own_sections_header(binder):
    """The header is laid out once per section and drawn on each of its pages."""
    doc, content, pages = binder
    reader = PdfReader(BytesIO(content))
    for section in doc["sections"]:
        if section["kind"] != "actor":
            continue
        first, last = pages[section["key"]]
        for page in range(first, last + 1):
            text = reader.pages[page - 1].extract_text()
            assert section["actor"]["name"] in text.split("\n")[1], (page, text[:200])
            assert "Hela regionen" in text.split("\n")[1]


def test_the_note_beside_a_number_is_in_the_readers_language(app):
    point = {"label": "", "kind": "mobile", "pin": "", "hours": "", "days": 127,
             "mode": "activated", "confidential": True, "failed": False, "verified": None}
    with app.test_request_context():
        with force_locale("en"):
            english = wording.point_note(point)
        with force_locale("sv"):
            swedish = wording.point_note(point)
        with force_locale("en"):
            again = wording.point_note(dict(point, failed=True))
    assert english == "Mobile · activated mode only · confidential · never verified"
    assert swedish != english and "aktiverat" in swedish.lower()
    assert again.endswith("latest call failed")
