"""The paper: A4 pages drawn with fpdf2, and the boxes laid out on them.

Everything on a page is first laid out as a `Box` (drawing operations
relative to its top, and its height), then placed by `paginate`: a box that
does not fit on the page starts the next one, so a call-tree node never
splits from its numbers. `Paper` (an fpdf2 `FPDF`) draws placed boxes: it
writes each run of text straight into the page's content stream with
fpdf2's own glyph subset, escaping and resource catalog (fpdf2's `cell` per
line was a third of a national binder's layout), wraps text with the fonts'
width tables, and writes `tel:` links as fpdf2's own annotations.

The fonts are DejaVu Sans, bundled in `printing/fonts` with their licence,
parsed once per process and embedded (as a subset) in every PDF.
"""


import hashlib
import re
import threading
from copy import deepcopy
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path

from flask_babel import get_locale
from flask_babel import gettext as _
from fontTools import ttLib
from fpdf import FPDF
from fpdf.actions import URIAction
from fpdf.annotations import AnnotationDict
from fpdf.enums import PDFResourceType
from fpdf.syntax import PDFString

from directory.printing.wording import day_text, local_moment, mode_name

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


def clean_text(text) -> str:
    """User text made safe to lay out: no control characters, no page-count alias."""
    text = "" if text is None else str(text)
    while TOTAL_PAGES in text:  # "{kv-total{kv-total-pages}-pages}" leaves one behind
        text = text.replace(TOTAL_PAGES, "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\t", " ").replace("\v", " ").replace("\f", " ")
    return _CONTROL.sub("", text)


_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f]")  # what `clean_text` drops (after the spaces)


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
        self.set_title(clean_text(meta.get("title", "")))
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
        text = clean_text(text)
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
        text = " ".join(clean_text(text).split())
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
        scope = clean_text(head.get("scope", ""))
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


