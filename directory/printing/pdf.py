"""The paper: A4 PDF layout of printed documents with fpdf2, and their wording.

`render_pdf(document, meta, changes)` lays out a document built by
`printing` (plain data: dicts, lists and strings) and answers the PDF and
the page range of each section. Every page carries the header (title,
scope, mode, scenario, revision, valid from, next review) and the footer
(printed at and by, the sensitivity marking, page X of Y).

fpdf2 is pure Python and its `multi_cell` is slow, so text is wrapped here
with string widths and drawn line by line with `cell`. Everything on a page
is first laid out as a `Box` (drawing operations relative to its top, and
its height), then placed: a box that does not fit on the page starts the
next one, so a call-tree node never splits from its numbers. The binder's
front pages (changes since the last revision, contents) are laid out before
the body, counted, reserved, and drawn last, when the page numbers they
name are known.

The fonts are DejaVu Sans, bundled in `directory/fonts` with their licence,
and embedded (as a subset) in every PDF.
"""

import hashlib
import json
import re
import threading
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fontTools import ttLib
from fpdf import FPDF
from fpdf.actions import URIAction
from fpdf.annotations import AnnotationDict
from fpdf.enums import PDFResourceType
from fpdf.syntax import PDFString

from directory.core.text import fold

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVu"

# Geometry in millimetres, A4 portrait.
PAGE_W = 210
LEFT, RIGHT = 15.0, 195.0
WIDTH = RIGHT - LEFT
HEADER_TOP = 8.0
TOP = 26.0  # the body starts below the header
BOTTOM = 280.0  # and ends above the footer
FOOTER_TOP = 283.0
INDENT = 6.0  # per level of a call tree
MAX_LEVEL = 8  # deeper nodes are drawn at this indentation (their step number tells)
LOG_W = 28.0  # the box to log the call time
GAP = 2.0  # between call-tree nodes
NUMBER_SIZE = 12.0  # a phone number on paper: read at arm's length, by torchlight

# Where a word too long for its line is best cut (e-mail and web addresses).
BREAK_AFTER = "@./-_,"

# What a page's header shows of its head (not its revision or dates of printing).
HEAD_SHOWN = ("title", "scope", "mode", "scenario", "next_review")

# The total page count is written where this stands; user text never contains it.
TOTAL_PAGES = "{kv-total-pages}"


def line_height(size: float) -> float:
    """A comfortable line for a font size in points, in millimetres."""
    return size * 0.3528 * 1.3


# --- Wording shared by the PDF and the HTML print views ------------------------

KIND_NAMES = {
    "mobile": _l("Mobile"), "landline": _l("Landline"), "switchboard": _l("Switchboard"),
    "sms": _l("SMS"), "satellite": _l("Satellite phone"), "bridge": _l("Conference bridge"),
    "email": _l("E-mail"), "rakel_group": _l("Rakel talk group"), "rakel_issi": _l("Rakel ISSI"),
    "web": _l("Web"), "address": _l("Address"), "other": _l("Other"),
}  # fmt: skip

GROUPS = {"trees": _l("Regional call trees"), "actors": _l("Actors")}

WARNINGS = {
    "no_path": _l("No contact path for this tree's mode."),
    "alternate_no_path": _l("An alternate has no contact path for this tree's mode."),
    "nobody_on_call": _l("Nobody is on call."),
    "review_overdue": _l("The entries' review is overdue."),
}


def kind_name(kind: str) -> str:
    return _kind_name(str(get_locale()), kind)


@lru_cache(maxsize=256)
def _kind_name(_locale: str, kind: str) -> str:
    """Per language: a binder names the kind of 100 000 numbers."""
    return str(KIND_NAMES.get(kind, kind))


def mode_name(mode: str | None) -> str:
    if mode == "both":
        return _("Both modes")
    return _("Activated mode") if mode == "activated" else _("Ordinary mode")


def weekdays_text(mask: int) -> str:
    """`31` -> "Mon–Fri" in the user's language; "" for every day."""
    if not mask or mask == 127:
        return ""
    names = (get_locale() or Locale("en")).days["format"]["abbreviated"]  # Monday first
    days = [day for day in range(7) if mask & (1 << day)]
    runs, start, previous = [], days[0], days[0]
    for day in days[1:]:
        if day != previous + 1:
            runs.append((start, previous))
            start = day
        previous = day
    runs.append((start, previous))
    return ", ".join(names[a] if a == b else f"{names[a]}–{names[b]}" for a, b in runs)


def point_note(point: dict) -> str:
    """What is said beside a number: label, kind, PIN, hours, mode, confidential.

    Never the `tel:` form: on paper it is noise beside the number (the PDF
    keeps it as the number's link). Worded once per language and set of
    facts: a binder has 100 000 numbers and far fewer different notes.
    """
    return _point_note(str(get_locale()), point["label"], point["kind"], point.get("pin"),
                       point.get("hours"), point.get("days", 127), point["mode"],
                       point.get("confidential"), "verified" in point, point.get("failed"),
                       point.get("verified"))


@lru_cache(maxsize=8192)
def _point_note(_locale, label, kind, pin, hours, days, mode, confidential, has_verified,
                failed, verified) -> str:
    point = {"label": label, "kind": kind, "pin": pin, "hours": hours, "days": days,
             "mode": mode, "confidential": confidential, "failed": failed}
    if has_verified:
        point["verified"] = verified
    kind = kind_name(point["kind"])
    parts = [point["label"] or kind]
    if point["label"] and fold(point["label"]) != fold(kind):
        parts.append(kind)
    if point.get("pin"):
        parts.append(f"PIN {point['pin']}")
    hours = " ".join(filter(None, (point.get("hours"), weekdays_text(point.get("days", 127)))))
    if hours:
        parts.append(hours)
    if point["mode"] == "ordinary":
        parts.append(_("ordinary mode only"))
    elif point["mode"] == "activated":
        parts.append(_("activated mode only"))
    if point.get("confidential"):
        parts.append(_("confidential"))
    if "verified" in point:  # absent in revisions printed before verification existed
        if point.get("failed"):
            parts.append(_("latest call failed"))
        elif point["verified"]:
            parts.append(_("verified %(when)s",
                           when=format_date(date.fromisoformat(point["verified"]), "short")))
        else:
            parts.append(_("never verified"))
    return " · ".join(parts)


def pace_letter(index: int) -> str:
    """P, A, C, E for the first four paths; E2, E3 … for further emergency paths."""
    return "PACE"[index] if index < 4 else f"E{index - 2}"


def pace_legend() -> str:
    return _("P primary · A alternate · C contingency · E emergency (E2, E3 …: further "
             "emergency paths). Call in this order.")


def mode_order(points: list[dict], mode: str) -> list[dict]:
    """The paths that apply in `mode`, in its PACE order (as `core.modes.paths_for_mode`:
    at the same step a path made for the mode comes before one for both)."""
    def key(point):
        return (point["priority"], point["mode"] == "both",
                int(str(point["key"]).rpartition(":")[2] or 0))
    return sorted((p for p in points if applies_in(p, mode)), key=key)


def applies_in(point: dict, mode: str) -> bool:
    return point["mode"] in ("both", mode)


def local_moment(value: str | None) -> str:
    """An ISO moment (UTC) as local `2026-11-27 14:03`."""
    if not value:
        return "–"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def day_text(value: str | None) -> str:
    return value or "–"


def review_text(value: str | None, today: date) -> str:
    """A next-review date, marked when it has passed (no date: never reviewed)."""
    if not value:
        return _("now (never reviewed)")
    if date.fromisoformat(value) <= today:
        return _("%(date)s (overdue)", date=value)
    return value


def rotation_text(rotation: dict) -> str:
    """"Weekly TiB (every 7 days, handover 08:00): Åsa Öberg, Per Åkesson"."""
    every = _("every %(days)d days, handover %(time)s", days=rotation["days"],
              time=rotation["handover"]) if rotation["days"] != 1 else _(
        "daily, handover %(time)s", time=rotation["handover"])
    name = rotation["name"] or _("Rotation")
    members = ", ".join(rotation["members"]) or _("no members")
    return f"{name} ({every}): {members}"


def on_call_text(reach: dict, at: str | None) -> str | None:
    """Who is on call at the chosen moment, when one was chosen."""
    if at is None or "on_call" not in reach:
        return None
    person = reach["on_call"]
    if person is None:
        return _("Nobody is on call %(when)s.", when=local_moment(at))
    return _("On call %(when)s: %(name)s", when=local_moment(at), name=person)


def escalation_step_text(step: dict) -> str:
    """"No answer within 10 min → VB – Haninge kommun 070-174 06 12" (a role's own escalation)."""
    number = step["number"] or (_("hidden number") if step["hidden"] else _("no number"))
    return _("No answer within %(min)d min → %(target)s %(number)s", min=step["minutes"],
             target=step["label"], number=number)


def escalation_text(minutes: int | None) -> str:
    if minutes is None:
        return _("No answer? Call:")
    return _("No answer within %(min)d min? Call:", min=minutes)


# --- Boxes: laid out first, placed and drawn after -------------------------------


@dataclass
class Box:
    """Drawing operations relative to the box's top, and the box's height."""

    ops: list = field(default_factory=list)
    height: float = 0.0

    def text(self, x, y, w, text, size, bold=False, align="L", link=None, grey=False):
        self.ops.append(("text", x, y, w, text, size, bold, align, link, grey))

    def rect(self, x, y, w, h, fill=False):
        self.ops.append(("rect", x, y, w, h, fill))

    def line(self, x1, y1, x2, y2):
        self.ops.append(("line", x1, y1, x2, y2))


def paginate(boxes: list[Box], first_top: float = TOP) -> list[list[tuple[Box, float]]]:
    """Boxes on pages, each at its y; a box that does not fit starts a page."""
    pages: list[list[tuple[Box, float]]] = [[]]
    y = first_top
    for box in boxes:
        if y + box.height > BOTTOM and pages[-1]:
            pages.append([])
            y = TOP
        pages[-1].append((box, y))
        y += box.height
    return pages


FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FONT_KEYS = {False: f"{FAMILY.lower()}", True: f"{FAMILY.lower()}B"}  # bold -> fpdf2's key
GREY_TEXT = 70 / 255  # the grey of notes, as a DeviceGray level
_parsed_fonts: dict[str, tuple] = {}  # font key -> (parsed font, the file's bytes)
_fonts_lock = threading.Lock()


def _font_for(pdf: FPDF, key: str, style: str, file_name: str):
    """A font for one document, parsed once per process.

    Parsing DejaVu Sans (character widths, glyph ids) takes fpdf2 about 45 ms
    a style, as long as laying out a 50-node call tree. fpdf2 copies a parsed
    font cheaply (`TTFFont.__deepcopy__`, made for its recorder) but shares the
    fontTools object, which `output()` subsets in place; so each copy gets a
    fontTools object of its own, opened lazily from the bytes in memory.
    """
    with _fonts_lock:
        if key not in _parsed_fonts:
            scratch = FPDF()
            scratch.add_font(FAMILY, style, FONT_DIR / file_name)
            _parsed_fonts[key] = (scratch.fonts[key], (FONT_DIR / file_name).read_bytes())
        parsed, data = _parsed_fonts[key]
        font = deepcopy(parsed)
    font.i = len(pdf.fonts) + 1
    font.ttfont = ttLib.TTFont(BytesIO(data), recalcTimestamp=False, lazy=True)
    return font


def _clean(text) -> str:
    """User text made safe to lay out: no control characters, no page-count alias."""
    text = "" if text is None else str(text)
    while TOTAL_PAGES in text:  # "{kv-total{kv-total-pages}-pages}" leaves one behind
        text = text.replace(TOTAL_PAGES, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ").replace("\v", " ").replace("\f", " ")
    return _CONTROL.sub("", text)


_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f]")  # what `_clean` drops (after the spaces)


class UriLink(AnnotationDict):
    """A link to a URI (a number's `tel:`) as fpdf2's `link` makes it, written
    in the same bytes without fpdf2's generic walk over the annotation's
    attributes: a national binder has 100 000 of them, and that walk was a
    sixth of its time."""

    __slots__ = ()

    def serialize(self, _security_handler=None, _obj_id=None) -> str:
        uri = PDFString(self.a.uri, encrypt=True).serialize(_security_handler, _obj_id)
        return (f"<</A <</S /URI /URI {uri}>>\n/Border {self.border}\n/F {self.f}\n"
                f"/Rect {self.rect}\n/Subtype /Link\n/Type /Annot>>")


class Paper(FPDF):
    """An A4 document with the header and footer paper needs.

    The geometry and type sizes of the header and footer are class attributes,
    so another sheet (the landscape communications list) changes them, not
    the drawing.
    """

    ORIENTATION = "P"
    PAGE_W, LEFT, RIGHT = PAGE_W, LEFT, RIGHT
    MARKING_TOP = 3.8  # the sensitivity marking, atop every page as well as below
    HEADER_TOP = HEADER_TOP
    RULE_Y = 22.5  # the line under the header
    FOOTER_TOP = FOOTER_TOP
    TITLE_SIZE = 9.0
    DETAILS_SIZE = 7.5
    DETAILS_LINES = 2
    MARKING_SIZE = 8.0
    PRINTED_SIZE = 7.5

    def __init__(self, meta: dict):
        super().__init__(orientation=self.ORIENTATION, unit="mm", format="A4")
        for style, file_name in FONT_FILES.items():
            key = f"{FAMILY.lower()}{style}"
            self.fonts[key] = _font_for(self, key, style, file_name)
        self.set_auto_page_break(False)
        self.c_margin = 0  # text starts where it is placed; wrapping counts on that
        self.set_margins(self.LEFT, TOP, self.PAGE_W - self.RIGHT)
        self.alias_nb_pages(TOTAL_PAGES)
        self.set_creator("Kontaktvägar")
        self.set_title(_clean(meta.get("title", "")))
        self.set_lang(str(get_locale() or "sv"))
        self.meta = meta
        self.head: dict = {}
        self.page_digests: dict = {}  # page -> what it shows
        self._using: tuple | None = None  # the font `use` set last
        self._measuring: tuple | None = None  # the font `measure` set last
        self._width_memo: dict[tuple, dict[str, float]] = {}  # font -> text -> width
        self._fonts = (self.fonts[FONT_KEYS[False]], self.fonts[FONT_KEYS[True]])  # by bold
        self._page_fonts: set[tuple[int, int]] = set()  # (page, font) told to the catalog
        self._encoded = {font.i: {} for font in self._fonts}  # font number -> text -> its Tj
        self._drops: dict[float, tuple[float, float]] = {}  # size -> line height, baseline
        self._header: tuple | None = None  # (the head, its text), laid out once per head
        self._footer: list | None = None
        self.use(9)
        self.set_draw_color(0)
        self.set_text_color(0)

    # Text ----------------------------------------------------------------------

    def use(self, size: float, bold: bool = False) -> None:
        """Set fpdf2's font (for its own `cell`), and measure in it."""
        if self._using != (size, bold):
            self.set_font(FAMILY, "B" if bold else "", size)
            self._using = (size, bold)
        self.measure(size, bold)

    def measure(self, size: float, bold: bool = False) -> None:
        """Measure text (`width`, `wrap`) in this font, without telling fpdf2:
        laying out only measures, and `paint` names its fonts itself."""
        if self._measuring == (size, bold):
            return
        self._measuring = (size, bold)
        self._widths = self.fonts[FONT_KEYS[bold]].cw
        self._scale = size * 0.001 / self.k
        self._known_widths = self._width_memo.setdefault((size, bold), {})

    def width(self, text: str) -> float:
        """The width of text in the font being measured, in mm (fpdf2's own way,
        without the per-call copies of the graphics state that make it slow).
        A binder measures the same words thousands of times: each once."""
        known = self._known_widths.get(text)
        if known is None:
            known = sum(map(self._widths.__getitem__, map(ord, text))) * self._scale
            self._known_widths[text] = known
        return known

    def wrap(self, text, width: float, size: float, bold: bool = False) -> list[str]:
        """Lines of at most `width` mm; words longer than a line are cut."""
        self.measure(size, bold)
        measure = self.width
        text = _clean(text)
        if "\n" not in text:  # one paragraph that fits: most of them
            line = " ".join(text.split())
            if measure(line) <= width:
                return [line]
        space = measure(" ")
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line, line_w = "", 0.0
            for word in paragraph.split():
                word_w = measure(word)
                if line and line_w + space + word_w <= width:
                    line, line_w = f"{line} {word}", line_w + space + word_w
                    continue
                if line:
                    lines.append(line)
                while word_w > width:  # a word wider than the line: cut it
                    cut = self._fitting(word, width)
                    soft = max(word.rfind(c, 0, cut) for c in BREAK_AFTER)
                    if soft >= cut // 2:  # after an @, a dot or a hyphen, if not too early
                        cut = soft + 1
                    lines.append(word[:cut])
                    word = word[cut:]
                    word_w = measure(word)
                line, line_w = word, word_w
            lines.append(line)
        while len(lines) > 1 and not lines[-1]:
            lines.pop()
        return lines

    def _fitting(self, word: str, width: float) -> int:
        """How many leading characters of `word` fit in `width` (at least one)."""
        low, high = 1, len(word)
        while low < high:
            middle = (low + high + 1) // 2
            if self.width(word[:middle]) <= width:
                low = middle
            else:
                high = middle - 1
        return low

    def fit(self, text, width: float, size: float, bold: bool = False) -> str:
        """One line: the text, cut with an ellipsis when too wide."""
        text = " ".join(_clean(text).split())
        self.measure(size, bold)
        if self.width(text) <= width:  # most do: no need to wrap
            return text
        lines = self.wrap(text, width, size, bold)
        if len(lines) == 1:
            return lines[0]
        first = lines[0]
        while first and self.width(first + "…") > width:
            first = first[:-1]
        return first + "…"

    def para(self, box: Box, x, y, w, text, size, bold=False, grey=False, link=None) -> float:
        """Wrapped text into a box from y; answers the y below it."""
        h = line_height(size)
        for line in self.wrap(text, w, size, bold):
            box.text(x, y, w, line, size, bold, link=link, grey=grey)
            y += h
        return y

    # Drawing -------------------------------------------------------------------

    def shows(self, *what) -> None:
        """Add to the digest of what the current page shows (its content, not when
        or by whom it was printed, its revision or its page number)."""
        digest = self.page_digests.setdefault(self.page, hashlib.sha256())
        digest.update(repr(what).encode())

    def draw(self, box: Box, top: float) -> None:
        """Draw a box at `top`, and add what it shows to the page's digest (the
        same bytes as `shows` for each operation, in one update)."""
        shown = []
        for op in box.ops:
            if op[0] in ("text", "rect"):
                shown.append(repr((op[0], round(op[1], 2), round(top + op[2], 2), *op[3:])))
            else:
                shown.append(repr((op[0], round(op[1], 2), round(top + op[2], 2),
                                   round(op[3], 2), round(top + op[4], 2))))
        self.page_digests.setdefault(self.page, hashlib.sha256()).update("".join(shown).encode())
        self.paint(box.ops, top)

    def paint(self, ops: list, top: float) -> None:
        """Draw operations at `top`, in their order. Runs of text go straight
        into the page's content stream, one text object each (see `_texts`)."""
        run = []
        for op in ops:
            if op[0] == "text":
                if op[4]:
                    run.append(op)
                continue
            if run:
                self._texts(run, top)
                run = []
            if op[0] == "rect":
                _kind, x, y, w, h, fill = op
                if fill:
                    self.set_fill_color(225)
                self.rect(x, top + y, w, h, style="DF" if fill else "D")
            else:
                _kind, x1, y1, x2, y2 = op
                self.line(x1, max(TOP - 1, top + y1), x2, max(TOP - 1, top + y2))
        if run:
            self._texts(run, top)

    def _texts(self, ops: list, top: float) -> None:
        """Lines of text as one text object, written as fpdf2's `text` would write
        each (its font subset, escaping and resources), at the baseline where
        `cell` would put it.

        A binder at national scale draws 800 000 lines; fpdf2's `text` and
        `set_font` per line were a third of its time. The object sets its own
        font and colour inside `q … Q`, so fpdf2's idea of the page's graphics
        state stays true.
        """
        k, page_h = self.k, self.h
        parts = ["q BT"]
        font_now, grey_now = None, None
        fonts, drops = self._fonts, self._drops
        for _kind, x, y, w, text, size, bold, align, link, grey in ops:
            font = fonts[bold]
            if align != "L" or link:
                self.measure(size, bold)
            if font_now != (font.i, size):
                parts.append(f"/F{font.i} {size:.2f} Tf")
                if (self.page, font.i) not in self._page_fonts:
                    self._resource_catalog.add(PDFResourceType.FONT, font.i, self.page)
                    self._page_fonts.add((self.page, font.i))
                font_now = (font.i, size)
            if grey != grey_now:
                parts.append(f"{GREY_TEXT:.3f} g" if grey else "0 g")
                grey_now = grey
            if align != "L":
                room = w - self.width(text)
                x += room if align == "R" else room / 2
            placed = drops.get(size)
            if placed is None:  # the line's height, and its baseline below its top
                height = line_height(size)
                placed = drops[size] = (height, 0.5 * height + 0.3 * size / k)
            height = placed[0]
            baseline = top + y + placed[1]
            encoded = self._encoded[font.i]
            shown = encoded.get(text)
            if shown is None:
                shown = encoded[text] = font.encode_text(text)
            parts.append(f"1 0 0 1 {x * k:.2f} {(page_h - baseline) * k:.2f} Tm {shown}")
            if not link:
                pass
            elif isinstance(link, str) and not link.startswith("#"):
                self.pages[self.page].add_annotation(UriLink(
                    "Link", x=x * k, y=(page_h - top - y) * k, width=self.width(text) * k,
                    height=height * k, action=URIAction(link)))
            else:
                self.link(x, top + y, self.width(text), height, link)
        parts.append("ET Q")
        self._out(" ".join(parts))

    def place(self, box: Box, keep_with: float = 0.0) -> None:
        """Draw a box where the page goes on, or atop the next page if it does not fit.

        `keep_with` is the height of what must follow on the same page (a
        heading keeps its first entry). A box taller than a page is split
        between its lines.
        """
        if self.y + box.height + keep_with > BOTTOM and self.y > TOP + 0.01:
            self.add_page()
            self.set_y(TOP)
        top = self.y
        if box.height <= BOTTOM - TOP:
            self.draw(box, top)
            self.set_y(top + box.height)
            return
        shift = top  # the offset of the box's top on the current page
        for op in sorted(box.ops, key=lambda op: op[2]):
            if op[0] != "text":
                continue  # frames and connectors of a box split over pages are dropped
            h = line_height(op[5])
            if shift + op[2] + h > BOTTOM:
                self.add_page()
                shift = TOP - op[2]
            self.draw(Box([op], h), shift)
        self.set_y(shift + box.height)

    def new_page(self, head: dict) -> None:
        """Start a page with this header (a section starts here)."""
        self.head = head
        self.add_page()
        self.set_y(TOP)

    # Header and footer ------------------------------------------------------

    def mode_band(self, mode: str) -> None:
        """A large band down the left edge naming the mode: a tree for the wrong mode
        is seen at arm's length. Activated is black with white letters, ordinary an
        outline, so the two differ in black and white too."""
        text = mode_name(mode).upper()
        x, w, top, height = 2.0, 10.0, TOP, FOOTER_TOP - TOP - 3
        self.set_line_width(0.8)
        if mode == "activated":
            self.set_fill_color(0)
            self.rect(x, top, w, height, style="DF")
            self.set_text_color(255)
        else:
            self.rect(x, top, w, height, style="D")
            self.set_text_color(0)
        self.set_line_width(0.2)
        self.use(16, True)
        label = f"{text}   ·   {text}"
        with self.rotation(90, x + w / 2, top + height / 2):
            self.set_xy(x + w / 2 - height / 2, top + height / 2 - 3.5)
            self.cell(height, 7, label, align="C")
        self.set_text_color(0)
        self.set_fill_color(255)

    def details_text(self, head: dict) -> str:
        """The header's second line: mode, scenario, revision, valid from, next review."""
        return " · ".join([
            mode_name(head.get("mode")),
            _("Scenario: %(name)s", name=head.get("scenario") or "–"),
            head.get("revision", ""),
            _("Valid from %(date)s", date=day_text(head.get("valid_from"))),
            _("Next review %(date)s", date=head.get("next_review") or "–"),
        ])

    def printed_text(self) -> str:
        return _("Printed %(when)s by %(who)s", when=local_moment(self.meta.get("printed_at")),
                 who=self.meta.get("printed_by") or "–")

    def cell_text(self, x, y, w, h, text, size, bold=False, align="L") -> tuple:
        """A text operation for `paint` that sits where fpdf2's `cell(w, h)` at
        (x, y) would put it (centred in the cell's height)."""
        return ("text", x, y + 0.5 * (h - line_height(size)), w, text, size, bold, align,
                None, False)

    def marking_text(self, y: float) -> tuple:
        width = self.RIGHT - self.LEFT
        return self.cell_text(self.LEFT, y, width, line_height(self.MARKING_SIZE) * 0.85,
                              self.fit(self.meta.get("marking", ""), width, self.MARKING_SIZE,
                                       True), self.MARKING_SIZE, True, "C")

    def header_texts(self, head: dict) -> list[tuple]:
        """The header's text (marking, title, scope, details) as paint operations."""
        left, right = self.LEFT, self.RIGHT
        width, size = right - left, self.TITLE_SIZE
        ops = [self.marking_text(self.MARKING_TOP)]
        scope = _clean(head.get("scope", ""))
        self.measure(size, True)
        scope_w = min(self.width(scope) + 1, width * 0.45)
        ops.append(self.cell_text(left, self.HEADER_TOP, width - scope_w - 3, size / 2,
                                  self.fit(head.get("title", ""), width - scope_w - 3, size,
                                           True), size, True))
        ops.append(self.cell_text(right - scope_w, self.HEADER_TOP, scope_w, size / 2,
                                  self.fit(scope, scope_w, size, True), size, True, "R"))
        y = self.HEADER_TOP + size / 2 + 0.5
        step = self.DETAILS_SIZE * 0.45
        for line in self.wrap(self.details_text(head), width, self.DETAILS_SIZE)[
                :self.DETAILS_LINES]:
            ops.append(self.cell_text(left, y, width, step, line, self.DETAILS_SIZE))
            y += step
        return ops

    def header(self) -> None:
        head = self.head or self.meta
        self.shows("head", self.meta.get("mode_band"), self.meta.get("marking"),
                   *(str(head.get(k) or "") for k in HEAD_SHOWN))
        self.set_text_color(0)
        if self.meta.get("mode_band"):
            self.mode_band(self.meta["mode_band"])
        # The same on every page of a section: laid out once per head.
        if self._header is None or self._header[0] is not head:
            self._header = (head, self.header_texts(head))
        self.paint(self._header[1], 0)
        self.set_line_width(0.3)
        self.line(self.LEFT, self.RULE_Y, self.RIGHT, self.RULE_Y)
        self.set_line_width(0.2)
        self._using = None  # add_page restores its own font after the header

    def footer(self) -> None:
        left, right, top = self.LEFT, self.RIGHT, self.FOOTER_TOP
        width, size = right - left, self.PRINTED_SIZE
        self.set_text_color(0)
        self.set_line_width(0.3)
        self.line(left, top, right, top)
        self.set_line_width(0.2)
        y = top + 1.5 + line_height(self.MARKING_SIZE)
        if self._footer is None:  # the same on every page
            self._footer = [self.marking_text(top + 1), self.cell_text(
                left, y, width - 40, size / 2,
                self.fit(self.printed_text(), width - 40, size), size)]
        self.paint(self._footer, 0)
        self.use(size)
        self.set_xy(right - 36, y)
        # fpdf2's own cell: it fills in the total once the layout is done.
        self.cell(36, size / 2, _("Page %(page)s of %(pages)s", page=self.page_no(),
                                  pages=TOTAL_PAGES))
        self._using = None


# --- Laying out the parts of a document ---------------------------------------------


class Layout:
    """Lays out one document on a `Paper`, section by section."""

    def __init__(self, document: dict, meta: dict, changes: dict | None):
        self.doc = document
        self.meta = meta
        self.changes = changes
        self.pdf = Paper(meta)
        self.today = date.fromisoformat(meta["today"])
        self.pages: dict[str, list[int]] = {}  # section key -> [first, last] page
        self.pending_group: str | None = None

    # Paths ------------------------------------------------------------------

    def path_rows(self, box: Box, points: list[dict], x: float, y: float, w: float,
                  size: float = 9.0, letters: bool = True) -> float:
        """Numbers in PACE order: letter, the number (a tel: link), and what it is.

        Phone numbers are large (`NUMBER_SIZE`) and never split over lines.
        """
        pdf = self.pdf
        letter_w = 7.0 if letters else 0.0
        value_w = min(38.0, max(24.0, w * 0.32))
        phones = [p["display"] for p in points if p.get("tel") is not None]
        if phones:  # the widest number fits on its line
            pdf.measure(NUMBER_SIZE, True)
            value_w = max(value_w, max(pdf.width(n) for n in phones) + 1.5)
        if any(point.get("tel") is None for point in points):
            # Addresses and e-mail get more room than numbers, so they rarely wrap.
            value_w = max(value_w, (w - letter_w) * 0.42)
        note_size = size - 1.5
        for index, point in enumerate(points):
            is_phone = point.get("tel") is not None
            value_size = NUMBER_SIZE if is_phone else size
            values = pdf.wrap(point["display"], value_w, value_size, bold=is_phone)
            notes = pdf.wrap(point_note(point), w - letter_w - value_w - 2, note_size)
            if letters:
                box.text(x, y + (0.8 if is_phone else 0), letter_w, pace_letter(index),
                         size, True)
            row_y = y
            for line in values:
                box.text(x + letter_w, row_y, value_w, line, value_size, is_phone,
                         link=point.get("tel"))
                row_y += line_height(value_size)
            note_y = y + 0.3
            for line in notes:
                box.text(x + letter_w + value_w + 2, note_y, w - letter_w - value_w - 2, line,
                         note_size, grey=True)
                note_y += line_height(note_size)
            y = max(row_y, note_y)
        return y

    def heading(self, text: str, size: float = 11.0, x: float = LEFT, w: float = WIDTH) -> Box:
        box = Box()
        y = self.pdf.para(box, x, 1.5, w, text, size, bold=True)
        box.height = y + 1.0
        return box

    # Call trees ----------------------------------------------------------------

    def reach_lines(self, box: Box, reach: dict, x, y, w, size=9.0) -> float:
        """Who is on call (for the chosen moment) or the rotation members."""
        pdf = self.pdf
        text = on_call_text(reach, self.doc.get("at"))
        if text:
            y = pdf.para(box, x, y, w, text, size, bold=True)
        for rotation in reach.get("rotations", []):
            y = pdf.para(box, x, y, w, rotation_text(rotation), size - 1, grey=True)
        return y

    def node_box(self, node: dict, depth: int, last: bool, rails: tuple) -> Box:
        pdf = self.pdf
        box = Box()
        level = min(depth, MAX_LEVEL)
        x0 = LEFT + level * INDENT
        text_x, text_w = x0 + 2, RIGHT - x0 - LOG_W - 5
        reach = node["reach"]
        y = pdf.para(box, text_x, 1.5, text_w, f"{node['step']}  {reach['label']}", 10.5, True)
        y = self.reach_lines(box, reach, text_x, y, text_w)
        y = self.path_rows(box, reach["paths"], text_x, y + 0.5, text_w)
        for warning in node["warnings"]:
            y = pdf.para(box, text_x, y, text_w, "⚠ " + str(WARNINGS.get(warning, warning)), 8.5,
                         True)
        if node["instructions"]:
            y = pdf.para(box, text_x, y + 0.8, text_w,
                         _("Instructions: %(text)s", text=node["instructions"]), 9)
        if node["alternates"]:
            y = pdf.para(box, text_x, y + 0.8, text_w, escalation_text(reach["minutes"]), 8.5,
                         True)
            for number, alternate in enumerate(node["alternates"], start=1):
                label = f"{number}. {alternate['label']}"
                if number < len(node["alternates"]):
                    label += " – " + _("then after %(min)d min:", min=alternate["minutes"])
                y = pdf.para(box, text_x + 3, y, text_w - 3, label, 8.5, True)
                y = self.reach_lines(box, alternate, text_x + 3, y, text_w - 3, 8.5)
                y = self.path_rows(box, alternate["paths"], text_x + 3, y, text_w - 3, 8.5)
        height = max(y + 1.5, 19.0)
        box.rect(x0, 0, RIGHT - x0, height)
        self.log_box(box, RIGHT - LOG_W - 1.5, 1.5)
        if depth > 0:  # connectors to the parent, and rails of ancestors going on
            for ancestor in range(1, min(depth, MAX_LEVEL + 1)):
                if ancestor < len(rails) and rails[ancestor]:
                    rail_x = LEFT + (ancestor - 1) * INDENT + INDENT / 2
                    box.line(rail_x, -GAP, rail_x, height)
            axis = LEFT + (level - 1) * INDENT + INDENT / 2
            box.line(axis, -GAP, axis, 4.5 if last else height)
            box.line(axis, 4.5, x0, 4.5)
        box.height = height + GAP
        return box

    def log_box(self, box: Box, x: float, y: float) -> None:
        """A box to write down when the call was made, and whether it was answered."""
        box.rect(x, y, LOG_W, 15.5)
        box.text(x + 1, y + 0.6, LOG_W - 2, _("Called at"), 6.5, grey=True)
        box.text(x + 1, y + 4.2, LOG_W - 2, "____ : ____", 8)
        for row, label in enumerate((_("answered"), _("no answer"))):
            box.rect(x + 1.2, y + 8.6 + row * 3.3, 2.4, 2.4)
            box.text(x + 4.4, y + 8.2 + row * 3.3, LOG_W - 5, label, 6.5)

    def tree(self, tree: dict, level: int) -> None:
        """A call tree from the top of a page, each node kept with its numbers."""
        pdf = self.pdf
        pdf.new_page(self.tree_head(tree))
        self.start(tree["key"], tree["name"], level)
        intro = Box()
        y = pdf.para(intro, LEFT, 1, WIDTH, tree["name"], 15, True)
        owner = tree["owner"] or _("Regional")
        facts = [owner, mode_name(tree["mode"])]
        if tree["scenario"]:
            facts.append(tree["scenario"])
        facts.append(_("revision %(n)s", n=tree["revision"]))
        y = pdf.para(intro, LEFT, y + 0.5, WIDTH, " · ".join(facts), 9)
        at = self.doc.get("at")
        explain = (_("On call as of %(when)s; rotations are listed below each role.",
                     when=local_moment(at)) if at else
                   _("Rotation members are listed below each role: call the role's numbers, "
                     "or ask who is on call now."))
        y = pdf.para(intro, LEFT, y + 0.5, WIDTH, explain, 8, grey=True)
        y = pdf.para(intro, LEFT, y + 0.3, WIDTH, pace_legend(), 8, grey=True)
        if tree["notes"]:
            y = pdf.para(intro, LEFT, y + 0.5, WIDTH, tree["notes"], 8.5)
        intro.height = y + 3
        pdf.place(intro)
        if not tree["nodes"]:
            pdf.place(self.heading(_("This call tree has no nodes yet."), 10))
        for node, depth, last, rails in flatten(tree["nodes"]):
            pdf.place(self.node_box(node, depth, last, rails))
        self.end(tree["key"])

    # Actors ------------------------------------------------------------------

    def actor(self, section: dict) -> None:
        """An actor's pages, both modes side by side: they hold whichever mode is in force."""
        pdf, actor = self.pdf, section["actor"]
        pdf.new_page(self.actor_head(section))
        self.start(section["key"], actor["name"], section["level"])
        intro = Box()
        y = pdf.para(intro, LEFT, 1, WIDTH, actor["name"], 16, True)
        facts = [actor["short_name"]] if actor["short_name"] != actor["name"] else []
        if actor["parent"]:
            facts.append(_("Part of %(name)s", name=actor["parent"]))
        facts.append(_("Next review %(date)s",
                       date=review_text(actor["review_due"], self.today)))
        y = pdf.para(intro, LEFT, y + 0.5, WIDTH, " · ".join(filter(None, facts)), 9)
        if actor["is_demo"]:
            y = pdf.para(intro, LEFT, y + 0.5, WIDTH, _("Demo data – not for real use"), 9, True)
        y = pdf.para(intro, LEFT, y + 0.5, WIDTH, _(
            "Both modes side by side: use the column of the mode in force."), 8, grey=True)
        y = pdf.para(intro, LEFT, y + 0.3, WIDTH, pace_legend(), 8, grey=True)
        intro.height = y + 2
        pdf.place(intro)
        if actor["paths"]:  # most reach an actor through its roles; some have a switchboard
            box = Box()
            y = pdf.para(box, LEFT, 2, WIDTH, _("Contact paths"), 11, True)
            box.height = self.mode_columns(box, actor["paths"], LEFT, y + 0.5, WIDTH) + 1
            pdf.place(box)
        if actor["roles"]:
            first = self.role_box(actor["roles"][0])
            pdf.place(self.heading(_("On-call roles")), keep_with=first.height)
            pdf.place(first)
            for role in actor["roles"][1:]:
                pdf.place(self.role_box(role))
        if actor["persons"]:
            boxes = [self.person_box(person) for person in actor["persons"]]
            pdf.place(self.heading(_("Persons")), keep_with=boxes[0].height)
            for box in boxes:
                pdf.place(box)
        if actor["notes"]:
            notes = Box()
            y = pdf.para(notes, LEFT, 2, WIDTH, _("Notes"), 10, True)
            notes.height = pdf.para(notes, LEFT, y, WIDTH, actor["notes"], 8.5) + 1
            pdf.place(notes)
        for tree in section["trees"]:
            self.tree(tree, section["level"] + 1)
        self.end(section["key"])

    def mode_columns(self, box: Box, points: list[dict], x: float, y: float, w: float) -> float:
        """Ordinary mode left, activated mode right, each in its own PACE order."""
        pdf, gap = self.pdf, 4.0
        column_w = (w - gap) / 2
        bottom = y
        for column, mode in enumerate(("ordinary", "activated")):
            cx = x + column * (column_w + gap)
            cy = pdf.para(box, cx, y, column_w, mode_name(mode), 9, True)
            paths = mode_order(points, mode)
            if paths:
                cy = self.path_rows(box, paths, cx, cy + 0.3, column_w, 8.5)
            else:
                cy = pdf.para(box, cx, cy + 0.3, column_w, _("No contact path."), 8.5, grey=True)
            bottom = max(bottom, cy)
        box.line(x + column_w + gap / 2, y, x + column_w + gap / 2, bottom)
        return bottom

    def role_box(self, role: dict) -> Box:
        pdf, box = self.pdf, Box()
        title = role["name"] + (f" ({role['short_name']})" if role["short_name"] else "")
        y = pdf.para(box, LEFT + 2, 1.5, WIDTH - 4, title, 10.5, True)
        if role["description"]:
            y = pdf.para(box, LEFT + 2, y, WIDTH - 4, role["description"], 8, grey=True)
        y = self.reach_lines(box, role, LEFT + 2, y, WIDTH - 4)
        for step in role.get("escalation", []):
            y = pdf.para(box, LEFT + 2, y, WIDTH - 4, escalation_step_text(step), 8.5)
        y = self.mode_columns(box, role["paths"], LEFT + 2, y + 0.5, WIDTH - 4)
        box.rect(LEFT, 0.5, WIDTH, y + 1)
        box.height = y + 3
        return box

    def person_box(self, person: dict) -> Box:
        """One line per person: name and title beside the numbers (each says its mode)."""
        pdf, box = self.pdf, Box()
        name_w = 52.0
        y = pdf.para(box, LEFT, 0.8, name_w, person["name"], 9, True)
        if person["title"]:
            y = pdf.para(box, LEFT, y, name_w, person["title"], 7.5, grey=True)
        paths = sorted(person["paths"], key=lambda p: (p["mode"] != "both", p["priority"]))
        right = self.path_rows(box, paths, LEFT + name_w + 2, 0.8, WIDTH - name_w - 2, 8.5,
                               letters=False)
        if not paths:
            right = pdf.para(box, LEFT + name_w + 2, 0.8, WIDTH - name_w - 2,
                             _("No contact path."), 8, grey=True)
        height = max(y, right) + 0.8
        box.line(LEFT, height, RIGHT, height)
        box.height = height
        return box

    # Patterns and scenarios -------------------------------------------------------

    def patterns(self, section: dict) -> None:
        pdf = self.pdf
        pdf.new_page(self.section_head(section))
        self.start(section["key"], _("Collaboration patterns"), 0)
        pdf.place(self.heading(_("Collaboration patterns"), 15))
        for pattern in section["patterns"]:
            box = Box()
            y = pdf.para(box, LEFT + 2, 1.5, WIDTH - 4, pattern["name"], 11, True)
            facts = [_("Convened by %(who)s", who=pattern["convener"]), mode_name(pattern["mode"])
                     if pattern["mode"] != "both" else _("Both modes")]
            if pattern["scenario"]:
                facts.append(pattern["scenario"])
            y = pdf.para(box, LEFT + 2, y, WIDTH - 4, " · ".join(facts), 9)
            lines = [
                (_("When"), pattern["cadence"]),
                (_("Meeting place"), pattern["meeting_place"]),
                (_("Purpose"), pattern["purpose"]),
                (_("Mandate"), pattern["mandate"]),
                (_("Participants"), ", ".join(pattern["participants"])),
            ]
            y = self.path_rows(box, pattern["channels"], LEFT + 2, y + 0.5, WIDTH - 4)
            for label, text in lines:
                if text:
                    y = pdf.para(box, LEFT + 2, y + 0.3, WIDTH - 4, f"{label}: {text}", 8.5)
            box.rect(LEFT, 0.5, WIDTH, y + 1)
            box.height = y + 3
            pdf.place(box)
        self.end(section["key"])

    def scenarios(self, section: dict) -> None:
        pdf = self.pdf
        pdf.new_page(self.section_head(section))
        self.start(section["key"], _("Scenario directions"), 0)
        pdf.place(self.heading(_("Scenario directions"), 15))
        for scenario in section["scenarios"]:
            pdf.place(self.heading(scenario["name"], 12.5))
            for label, text in ((_("Facts"), scenario["facts"]),
                                (_("Assumptions"), scenario["assumptions"]),
                                (_("Goal"), scenario["goal"])):
                if text:
                    box = Box()
                    y = pdf.para(box, LEFT, 0.5, WIDTH, label, 9.5, True)
                    box.height = pdf.para(box, LEFT, y, WIDTH, text, 9) + 1
                    pdf.place(box)
            for phase, label in (("preparatory", _("Preparatory phase")),
                                 ("handling", _("Handling phase"))):
                measures = scenario["measures"].get(phase, [])
                if not measures:
                    continue
                pdf.place(self.heading(label, 10))
                for number, measure in enumerate(measures, start=1):
                    box = Box()
                    text = f"{number}. {measure['text']}"
                    if measure["responsible"]:
                        text += f" ({measure['responsible']})"
                    box.height = pdf.para(box, LEFT + 3, 0.3, WIDTH - 3, text, 9) + 0.5
                    pdf.place(box)
        self.end(section["key"])

    # The index: every number to its owner ------------------------------------------

    def index(self) -> None:
        """Every number in the document, in number order, with its owner and page."""
        pdf = self.pdf
        rows: dict[tuple[str, str], dict] = {}
        for point, owner, section in document_points(self.doc):
            if point["kind"] in ("email", "web", "address", "other") or point.get("masked"):
                continue  # not numbers; or confidential, masked for this reader
            key = (point["display"], owner)
            row = rows.setdefault(key, {"point": point, "owner": owner, "sections": []})
            if section not in row["sections"]:
                row["sections"].append(section)
        if not rows:
            return
        pdf.new_page(self.binder_head(_("Index of numbers")))
        self.start("index", _("Index of numbers"), 0)
        pdf.place(self.heading(_("Index of numbers"), 15))
        column_w = (WIDTH - 6) / 2
        number_w, page_w = 27.0, 12.0
        owner_w = column_w - number_w - page_w - 2
        boxes = []
        previous = None
        for row in sorted(rows.values(), key=lambda r: (number_key(r["point"]), r["owner"])):
            point = row["point"]
            box = Box()
            if point["display"] != previous:
                box.text(0, 0.4, number_w, pdf.fit(point["display"], number_w, 8.5, True), 8.5,
                         True)
            previous = point["display"]
            y = pdf.para(box, number_w + 1, 0.6, owner_w,
                         f"{row['owner']} · {point['label'] or kind_name(point['kind'])}", 7.5)
            pages = ", ".join(str(self.pages[s][0]) for s in row["sections"] if s in self.pages)
            box.text(column_w - page_w, 0.6, page_w, pdf.fit(pages, page_w, 7.5), 7.5,
                     align="R")
            box.height = y + 0.6
            boxes.append(box)
        column, y = 0, pdf.get_y()
        top = y
        run: list = []  # a column's rows, drawn at once

        def draw_run():
            if run:
                pdf.draw(Box(run), 0)
                run.clear()

        for box in boxes:
            if y + box.height > BOTTOM:
                draw_run()
                if column == 0:
                    column, y = 1, top
                else:
                    pdf.add_page()
                    column, y, top = 0, TOP, TOP
            x = LEFT + column * (column_w + 6)
            run.extend(_shift(op, x, y) for op in box.ops)
            y += box.height
        draw_run()
        self.end("index")

    # Front pages: cover, changes since the last revision, contents ------------------

    def cover(self) -> None:
        pdf, meta = self.pdf, self.meta
        pdf.new_page(self.binder_head(meta["title"]))
        box = Box()
        y = pdf.para(box, LEFT, 40, WIDTH, meta["title"], 26, True)
        y = pdf.para(box, LEFT, y + 2, WIDTH, meta["scope"], 15)
        y += 8
        rows = [
            (_("Revision"), meta["revision"]),
            (_("Mode"), mode_name(self.doc["mode"])),
            (_("Scenario"), self.doc.get("scenario") or "–"),
            (_("Valid from"), meta["valid_from"]),
            (_("Next review"), meta.get("next_review") or "–"),
            (_("Printed"), _("%(when)s by %(who)s", when=local_moment(meta["printed_at"]),
                             who=meta.get("printed_by") or "–")),
        ]
        if self.doc.get("at"):
            rows.append((_("On call as of"), local_moment(self.doc["at"])))
        # Filled in by hand: each printed copy is one, held by someone named.
        rows += [(_("Copy no."), "________"), (_("Holder"), "_" * 34)]
        for label, value in rows:
            box.text(LEFT, y, 45, label, 11, True)
            y = pdf.para(box, LEFT + 47, y, WIDTH - 47, value, 11)
            y += 1.5
        y = pdf.para(box, LEFT, y + 10, WIDTH, meta.get("marking", ""), 14, True)
        if self.doc.get("demo"):
            y = pdf.para(box, LEFT, y + 4, WIDTH, _("Contains demo data – not for real use."),
                         12, True)
        y = pdf.para(box, LEFT, y + 10, WIDTH, _(
            "When power or the network fails, this binder is the directory. Keep it where the "
            "duty officer can reach it. When a new revision arrives, replace the sections it "
            "lists under “Changes” and the pages in front of the contents."), 9.5)
        box.height = y
        pdf.draw(box, 0)

    def front_boxes(self) -> list[Box]:
        """The changes since the last revision and the contents, laid out ahead."""
        boxes = []
        changes = self.changes or {}
        page_w = 24.0
        previous = changes.get("previous")
        if previous:
            title = _("Changes since revision %(n)s", n=previous["number"])
            boxes.append(self.heading(title, 15))
            boxes.append(self.text_box(_("Revision %(n)s was printed %(when)s by %(who)s.",
                                         n=previous["number"],
                                         when=local_moment(previous["printed_at"]),
                                         who=previous["printed_by"] or "–"), 9))
        else:
            boxes.append(self.heading(_("Changes"), 15))
            boxes.append(self.text_box(_("No earlier revision of this binder was printed: "
                                         "this one is complete in itself."), 9))
        if previous:
            replace = changes["replace"]
            removed_sections = changes["removed_sections"]
            if not replace and not removed_sections:
                boxes.append(self.text_box(_("Nothing in the sections changed. Replace only "
                                             "the front pages."), 9.5, True))
            else:
                boxes.append(self.heading(_("Sections to replace"), 11))
                for key, title in replace:
                    boxes.append(self.ref_box(title, lambda key=key: self.range_text(key),
                                              page_w, indent=3))
                for title in removed_sections:
                    boxes.append(self.text_box(_("Remove: %(title)s (no longer in the binder)",
                                                 title=title), 9, indent=3))
            boxes.append(self.ref_box(
                _("Always: the cover, these changes and the contents"),
                lambda: self.front_range(), page_w, indent=3))
            if any(True for _point in document_points(self.doc)):  # its page references move
                boxes.append(self.ref_box(_("Always: the index of numbers"),
                                          lambda: self.range_text("index"), page_w, indent=3))
            boxes.append(self.text_box(lambda: self.moved_text(), 8.5, grey=True))
            boxes.extend(self.change_boxes(changes))
        boxes.append(self.heading(_("Contents"), 15))
        for level, title, key in self.doc_contents():
            boxes.append(self.ref_box(title, lambda key=key: self.first_page(key), page_w,
                                      indent=level * 5, bold=level == 0))
        boxes.extend(self.effective_boxes())
        return boxes

    def effective_boxes(self) -> list[Box]:
        """Which revision each page of a kept-up binder comes from: check it is complete."""
        effective = self.meta.get("effective")
        if not effective:
            return []
        this = self.meta.get("number")
        boxes = [self.heading(_("Effective pages"), 12),
                 self.text_box(_("A binder kept up with every revision holds these pages; "
                                 "the revision is printed in each page's header."), 8.5,
                               grey=True)]
        rows = [(_("Cover, changes and contents"), lambda: self.front_range(), this)]
        titles = {key: title for _level, title, key in self.doc_contents()}
        rows += [(titles.get(key, key), lambda key=key: self.range_text(key), number)
                 for key, number in effective.items()]
        if any(True for _p in document_points(self.doc)):
            rows.append((_("Index of numbers"), lambda: self.range_text("index"), this))
        for title, pages, number in rows:
            box = Box()
            y = self.pdf.para(box, LEFT + 3, 0.4, WIDTH - 62, title, 9)
            box.ops.append(("later", pages, RIGHT - 56, 0.4, 24, 9, False, False, "R"))
            box.text(RIGHT - 28, 0.4, 28, _("revision %(n)s", n=number) if number else "–", 9,
                     align="R")
            box.height = y + 0.6
            boxes.append(box)
        return boxes

    def change_boxes(self, changes: dict) -> list[Box]:
        boxes = []
        labels = {"changed": _("Changed"), "added": _("Added"), "removed": _("Removed")}
        if changes["details"]:
            boxes.append(self.heading(_("What changed"), 11))
        for section_title, items in changes["details"]:
            boxes.append(self.text_box(section_title, 9.5, bold=True))
            for item in items:
                text = f"{labels[item['what']]}: {item['label']}"
                if item.get("fields"):
                    text += " – " + "; ".join(item["fields"])
                if item.get("also"):
                    text += " " + _("(also in: %(sections)s)", sections=", ".join(item["also"]))
                boxes.append(self.text_box(text, 8.5, indent=3))
        if changes.get("more"):
            boxes.append(self.text_box(_("… and %(n)d more changes in the sections above.",
                                         n=changes["more"]), 8.5, grey=True))
        return boxes

    def text_box(self, text, size, bold=False, indent=0.0, grey=False) -> Box:
        """A paragraph; `text` may be a callable answered when drawn (one line then)."""
        box = Box()
        if callable(text):
            box.ops.append(("later", text, LEFT + indent, 0.5, WIDTH - indent, size, bold, grey))
            box.height = line_height(size) + 1
            return box
        box.height = self.pdf.para(box, LEFT + indent, 0.5, WIDTH - indent, text, size, bold,
                                   grey) + 0.5
        return box

    def ref_box(self, title, pages, page_w, indent=0.0, bold=False) -> Box:
        """A title and, at the right, page numbers known only when drawn."""
        box = Box()
        y = self.pdf.para(box, LEFT + indent, 0.4, WIDTH - indent - page_w - 2, title, 9, bold)
        box.ops.append(("later", pages, RIGHT - page_w, 0.4, page_w, 9, bold, False, "R"))
        box.height = y + 0.6
        return box

    def draw_later(self, box: Box, top: float) -> None:
        ops = []
        for op in box.ops:
            if op[0] == "later":
                _kind, text, x, y, w, size, bold, grey, *align = op
                value = self.pdf.fit(text(), w, size, bold)
                ops.append(("text", x, y, w, value, size, bold, align[0] if align else "L", None,
                            grey))
            else:
                ops.append(op)
        self.pdf.draw(Box(ops, box.height), top)

    # Page references -----------------------------------------------------------

    def first_page(self, key: str) -> str:
        return str(self.pages[key][0]) if key in self.pages else "–"

    def range_text(self, key: str) -> str:
        if key not in self.pages:
            return "–"
        first, last = self.pages[key]
        return str(first) if first == last else f"{first}–{last}"

    def front_range(self) -> str:
        return f"1–{self.front_last}"

    def moved_text(self) -> str:
        old = (self.changes or {}).get("previous_pages") or {}
        moved = [self.pages[k][0] for k in self.pages if k in old and old[k][0] != self.pages[k][0]]
        if not moved:
            return _("Page numbers of the other sections are unchanged.")
        return _("Page numbers from page %(page)d on differ from the last revision; "
                 "sections are marked in each page header.", page=min(moved))

    def start(self, key: str, title: str, level: int) -> None:
        """A section starts on this page: the outline and the page map learn it."""
        if self.pending_group:  # the first section of a group: the group's bookmark too
            self.pdf.start_section(self.pending_group, level=0, strict=False)
            self.pending_group = None
        self.pdf.start_section(_clean(title), level=min(level, 5), strict=False)
        self.pages[key] = [self.pdf.page_no(), self.pdf.page_no()]

    def end(self, key: str) -> None:
        """A section ends on this page (every section starts on a page of its own)."""
        self.pages[key][1] = self.pdf.page_no()

    def doc_contents(self) -> list[tuple[int, str, str]]:
        """The contents as (level, title, section key), in document order."""
        entries, group = [], None
        for section in self.doc["sections"]:
            if section.get("group") != group and section.get("group") in GROUPS:
                entries.append((0, str(GROUPS[section["group"]]), section["key"]))
            group = section.get("group")
            if section["kind"] == "tree":
                entries.append((section["level"], section["tree"]["name"], section["key"]))
            elif section["kind"] == "actor":
                entries.append((section["level"], section["actor"]["name"], section["key"]))
                entries += [(section["level"] + 1, t["name"], t["key"]) for t in section["trees"]]
            elif section["kind"] == "patterns":
                entries.append((0, _("Collaboration patterns"), section["key"]))
            elif section["kind"] == "scenarios":
                entries.append((0, _("Scenario directions"), section["key"]))
        if any(True for _p in document_points(self.doc)):
            entries.append((0, _("Index of numbers"), "index"))
        return entries

    # Headers per section ---------------------------------------------------------

    def binder_head(self, title: str) -> dict:
        meta = self.meta
        return {"title": title, "scope": meta["scope"], "mode": self.doc["mode"],
                "scenario": self.doc.get("scenario"), "revision": meta["revision"],
                "valid_from": meta["valid_from"], "next_review": meta.get("next_review")}

    def tree_head(self, tree: dict) -> dict:
        revision = _("call tree revision %(n)s", n=tree["revision"])
        if self.doc["kind"] == "binder":
            revision = f"{self.meta['revision']}, {revision}"
        return {"title": tree["name"], "scope": tree["owner"] or self.meta["scope"],
                "mode": tree["mode"], "scenario": tree["scenario"], "revision": revision,
                "valid_from": tree["valid_from"],
                "next_review": review_text(tree["next_review"], self.today)
                if tree["next_review"] else None}

    def actor_head(self, section: dict) -> dict:
        actor = section["actor"]
        head = self.binder_head(actor["name"])
        head["mode"] = "both"  # both modes side by side: the page holds in either
        head["next_review"] = review_text(actor["review_due"], self.today)
        return head

    # The whole document ----------------------------------------------------------

    def section_head(self, section: dict) -> dict:
        """The header atop a section's first page."""
        if section["kind"] == "tree":
            return self.tree_head(section["tree"])
        if section["kind"] == "actor":
            return self.actor_head(section)
        return self.binder_head(_("Collaboration patterns") if section["kind"] == "patterns"
                                else _("Scenario directions"))

    def inputs(self) -> dict[str, str]:
        """Each section's digest of what its pages are laid out from: its data,
        what the headers of its pages show (as `Paper.header` adds them to the
        page digests), the moment the document is for and its language. Two
        sections with the same inputs show the same pages; the page digests
        (`digests`) still decide, these only guess ahead."""
        found = {}
        for section in self.doc["sections"]:
            heads = [self.section_head(section)]
            heads += [self.tree_head(tree) for tree in section.get("trees", ())]
            shown = [[str(head.get(k) or "") for k in HEAD_SHOWN] for head in heads]
            data = json.dumps([section, shown, self.meta.get("mode_band"),
                               self.meta.get("marking"), self.doc.get("at"),
                               str(get_locale() or "")], sort_keys=True, default=str)
            found[section["key"]] = hashlib.sha256(data.encode()).hexdigest()
        return found

    def digests(self) -> dict[str, str]:
        """Each section's digest of what its pages show, page by page."""
        found = {}
        for key, (first, last) in self.pages.items():
            digest = hashlib.sha256()
            for page in range(first, last + 1):
                digest.update(self.pdf.page_digests.get(page, hashlib.sha256()).digest())
            found[key] = digest.hexdigest()
        return found

    def render_body(self) -> dict[str, str]:
        """Lay out the sections alone (no cover, front pages or index): their digests."""
        group = None
        for section in self.doc["sections"]:
            if section.get("group") != group and section.get("group") in GROUPS:
                self.pending_group = str(GROUPS[section["group"]])
            group = section.get("group")
            self.section(section)
        return self.digests()

    def section(self, section: dict) -> None:
        if section["kind"] == "tree":
            self.tree(section["tree"], section["level"])
        elif section["kind"] == "actor":
            self.actor(section)
        elif section["kind"] == "patterns":
            self.patterns(section)
        elif section["kind"] == "scenarios":
            self.scenarios(section)

    def render(self, settle=None) -> tuple[bytes, dict[str, list[int]]]:
        """Lay the document out. `settle(digests) -> changes`: see `render_binder`."""
        pdf, binder = self.pdf, self.doc["kind"] == "binder"
        if binder:
            self.cover()
            front = paginate(self.front_boxes())
            front_first = pdf.page_no() + 1
            for number in range(len(front)):  # reserved now, drawn once pages are known
                pdf.new_page(self.binder_head(_("Changes and contents")))
                if number == 0:
                    pdf.start_section(_("Changes and contents"), level=0)
            self.front_last = pdf.page_no()
        group = None
        for section in self.doc["sections"]:
            if section.get("group") != group and section.get("group") in GROUPS:
                self.pending_group = str(GROUPS[section["group"]])
            group = section.get("group")
            self.section(section)
        self.section_digests = self.digests()  # the sections alone, as render_body gives
        if settle is not None:
            self.changes = settle(self.section_digests)
            settled = paginate(self.front_boxes())
            if len(settled) != len(front):
                raise FrontPagesMoved(self.changes)
            front = settled
        if binder:
            self.index()
            self.draw_front(front, front_first)
        return bytes(pdf.output()), self.pages

    def draw_front(self, pages: list[list[tuple[Box, float]]], first: int) -> None:
        """Draw the reserved front pages, now that every page number is known."""
        pdf = self.pdf
        last = pdf.page
        for number, page in enumerate(pages):
            pdf.page = first + number
            pdf.current_font_is_set_on_page = False  # each page's content stands alone
            for box, y in page:
                self.draw_later(box, y)
        pdf.page = last
        pdf.current_font_is_set_on_page = False


def _shift(op: tuple, dx: float, dy: float = 0.0) -> tuple:
    """An index row's operation moved into its column and down to its row."""
    if op[0] in ("text", "rect"):
        return (op[0], op[1] + dx, dy + op[2], *op[3:])
    return (op[0], op[1] + dx, dy + op[2], op[3] + dx, dy + op[4])


def flatten(nodes: list[dict], depth: int = 0, rails: tuple = ()):
    """Nodes depth-first with their depth, whether each is the last of its
    siblings, and for each ancestor level whether its line goes on below."""
    for position, node in enumerate(nodes):
        last = position == len(nodes) - 1
        yield node, depth, last, rails
        yield from flatten(node["children"], depth + 1, (*rails, not last))


def document_points(document: dict):
    """Every number printed in a document: (point, owner, section key)."""
    for section in document["sections"]:
        if section["kind"] == "tree":
            yield from _tree_points(section["tree"], section["key"])
        elif section["kind"] == "actor":
            actor = section["actor"]
            for point in actor["paths"]:
                yield point, point["owner"], section["key"]
            for group in ("roles", "persons"):
                for owner in actor[group]:
                    for point in owner["paths"]:
                        yield point, point["owner"], section["key"]
            for tree in section["trees"]:
                yield from _tree_points(tree, section["key"])
        elif section["kind"] == "patterns":
            for pattern in section["patterns"]:
                for point in pattern["channels"]:
                    yield point, point["owner"], section["key"]


def _tree_points(tree: dict, section_key: str):
    for node, _depth, _last, _rails in flatten(tree["nodes"]):
        for reach in (node["reach"], *node["alternates"]):
            for point in reach["paths"]:
                yield point, point["owner"], section_key


_NOT_DIGITS = re.compile(r"\D")


def number_key(point: dict) -> tuple:
    """Numbers in the order one looks them up: short numbers, then by digits."""
    digits = _NOT_DIGITS.sub("", point["display"])
    return (point.get("tel") is None, len(digits) > 6, digits, point["display"])


def render_pdf(document: dict, meta: dict, changes: dict | None = None):
    """The PDF of a document, and the first and last page of each section."""
    return Layout(document, meta, changes).render()


class FrontPagesMoved(Exception):
    """The settled changes need another number of front pages than the guess."""

    def __init__(self, changes):
        super().__init__("front pages moved")
        self.changes = changes


def render_binder(document: dict, meta: dict, guess, settle):
    """A binder whose front pages say what changed since the last revision, laid
    out once: the PDF, each section's pages, each section's digest of what its
    pages show, and of what they are laid out from (`Layout.inputs`).

    Which sections to replace depends on what their pages show (the digests),
    known only once they are laid out, and the front pages that list them come
    before them. So the front pages are reserved for `guess(inputs)` (the
    changes as far as they are known without the pages: a section laid out
    from the same as last time shows the same pages), the sections laid out,
    and `settle(digests)` gives the changes to print (it may also set what the
    front pages read from `meta`). Only when those need another number of
    front pages is the binder laid out a second time, with them: at national
    scale, 20 seconds more.
    """
    layout = Layout(document, meta, None)
    inputs = layout.inputs()
    layout.changes = guess(inputs)
    try:
        content, pages = layout.render(settle)
        return content, pages, layout.section_digests, inputs
    except FrontPagesMoved as moved:
        again = Layout(document, meta, moved.changes)
        content, pages = again.render()
        return content, pages, again.section_digests, inputs


def section_digests(document: dict, meta: dict) -> dict[str, str]:
    """A digest of what each section's pages show, to tell which pages changed.

    The sections are laid out as in `render_pdf`; the cover, the front pages
    and the index, which are replaced with every revision, are left out.
    """
    return Layout(document, meta, None).render_body()
