"""The one-page communications list, in the style of the ICS 205A form.

For the mode in force: every actor's duty role with its primary and
alternate numbers and Rakel talk group, then the collaboration conferences
with their bridges and talk groups, on one or two landscape A4 pages. The
rows are the board's (`board.board_rows`), so paper and screen agree and
confidential numbers are left out by the same gate. The layout reuses the
printing feature's `Paper` (bundled DejaVu fonts, wrapping, boxes, the
header and footer with the marking atop and below, "page X of Y"); only the
page geometry, type sizes and the header's details are its own.
"""

from datetime import datetime

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from phonenumbers import NumberParseException
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.core.extensions import db
from directory.core.models import CollaborationPattern, ContactKind, Mode, PathMode
from directory.core.modes import ModeInForce
from directory.core.numbers import display_phone
from directory.core.visibility import shown
from directory.oncall.board import BoardRow
from directory.printing.paper import Box, Paper, line_height

# Geometry in millimetres, A4 landscape.
PAGE_W, PAGE_H = 297.0, 210.0
LEFT, RIGHT = 12.0, 285.0
WIDTH = RIGHT - LEFT
HEADER_TOP = 8.0
TOP = 25.0
BOTTOM = 190.0
FOOTER_TOP = 193.0
SIZE = 7.5  # body text, points
PAD = 0.5  # above and below a row's text


def live_patterns(mode: Mode) -> list[CollaborationPattern]:
    """Collaboration patterns that apply in `mode`, with their channels."""
    patterns = db.session.scalars(
        select(CollaborationPattern)
        .where(CollaborationPattern.deleted_at.is_(None))
        .options(selectinload(CollaborationPattern.channels),
                 selectinload(CollaborationPattern.convener_actor),
                 selectinload(CollaborationPattern.convener_role))
        .order_by(CollaborationPattern.name)
    ).all()
    return [p for p in patterns if PathMode(p.mode).applies_in(mode)]


def revision_of(rows: list[BoardRow], patterns) -> datetime | None:
    """The list's revision: the latest change to anything printed on it."""
    moments = []
    for row in rows:
        moments += [row.actor.updated_at, row.role.updated_at]
        moments += [p.updated_at for p in row.role.contact_points]
        if row.switchboard is not None:
            moments.append(row.switchboard.updated_at)
    for pattern in patterns:
        moments.append(pattern.updated_at)
        moments += [c.updated_at for c in pattern.channels]
    return max((m for m in moments if m is not None), default=None)


def number_text(point) -> str:
    """A number as read (national form at home), or the value of a non-phone path."""
    if point is None:
        return "–"
    if ContactKind(point.kind).is_phone:
        return _display(point.value)
    return point.value


def _display(value: str) -> str:
    try:
        return display_phone(value, current_app.config["DEFAULT_REGION"])
    except (NumberParseException, ValueError):  # shown as stored, then
        return value


def pattern_lines(pattern) -> dict:
    """A conference as the list prints it: bridge, PIN and talk group, if visible."""
    live = sorted((c for c in pattern.channels if c.deleted_at is None),
                  key=lambda c: (c.priority, c.id))

    def of_kind(kind: ContactKind) -> tuple[list, int]:
        """The channels of a kind this reader may see, and how many they may not."""
        found = [c for c in live if ContactKind(c.kind) is kind]
        seen = [c for c in found if shown(c)]
        return seen, len(found) - len(seen)

    (bridges, hidden), (groups, hidden_groups) = (
        of_kind(ContactKind.BRIDGE), of_kind(ContactKind.RAKEL_GROUP))
    convener = pattern.convener_actor.name if pattern.convener_actor else ""
    role = pattern.convener_role
    if role is not None and role.deleted_at is None:
        convener = f"{role.short_name or role.name} – {convener}"
    return {
        "name": pattern.name, "convener": convener,
        # Hidden is not missing: say so, the convener can be asked for it. Each
        # column of its own kind: a hidden talk group is no hidden bridge.
        "bridge": ", ".join(_display(c.value) for c in bridges)
        or (_("hidden number") if hidden else "–"),
        "pin": ", ".join(c.pin for c in bridges if c.pin) or "–",
        "talk_group": ", ".join(c.value for c in groups)
        or (_("hidden") if hidden_groups else "–"),
        "hidden": hidden,
    }


def on_call_text(row: BoardRow) -> str:
    return row.person.name if row.person is not None else _("NOBODY ON CALL")


def until_text(row: BoardRow) -> str:
    """When the current stretch ends, short ("7/12 08:00"); "–" beyond the window."""
    if row.until_open or row.until is None:
        return "–"
    return format_datetime(row.until, "d/M HH:mm")


class LandscapePaper(Paper):
    """`Paper` on landscape pages: its geometry and sizes, the list's details."""

    ORIENTATION = "L"
    PAGE_W, LEFT, RIGHT = PAGE_W, LEFT, RIGHT
    HEADER_TOP = HEADER_TOP
    RULE_Y = TOP - 2.5
    FOOTER_TOP = FOOTER_TOP
    TITLE_SIZE = 10.0
    DETAILS_SIZE = 8.0
    DETAILS_LINES = 1
    MARKING_SIZE = 9.0
    PRINTED_SIZE = 8.0

    def new_sheet(self) -> None:
        self.add_page()
        self.set_y(TOP)

    def details_text(self, head: dict) -> str:
        meta = self.meta
        return " · ".join([meta["mode_text"],
                           _("Scenario: %(name)s", name=meta.get("scenario") or "–"),
                           meta["revision"], _("Date %(date)s", date=meta["date"])])

    def printed_text(self) -> str:
        return _("Printed %(when)s by %(who)s", when=self.meta["printed_at"],
                 who=self.meta.get("printed_by") or "–")


class Table:
    """Rows drawn under a repeated column heading, a new page when one is full."""

    def __init__(self, paper: LandscapePaper, columns: list[tuple[str, float]]):
        self.paper = paper
        self.columns = columns

    def _box(self, cells: list[str], bold=False, fill=False, red=False) -> Box:
        paper, box, x = self.paper, Box(), LEFT
        height = line_height(SIZE)
        wrapped = []
        for (_title, width), text in zip(self.columns, cells, strict=True):
            lines = paper.wrap(text, width - 1.5, SIZE, bold)[:2]
            wrapped.append((x, width, lines))
            x += width
        box.height = max(len(lines) for _x, _w, lines in wrapped) * height + 2 * PAD
        if fill:
            box.rect(LEFT, 0, WIDTH, box.height, fill=True)
        for x, width, lines in wrapped:
            for n, line in enumerate(lines):
                box.text(x + 0.5, PAD + n * height, width - 1.5, line, SIZE, bold or red)
        box.line(LEFT, box.height, RIGHT, box.height)
        return box

    def heading_box(self) -> Box:
        return self._box([title for title, _w in self.columns], bold=True, fill=True)

    def place(self, box: Box, keep_with: float = 0.0) -> None:
        paper = self.paper
        if paper.y + box.height + keep_with > BOTTOM:
            paper.new_sheet()
            self.place(self.heading_box())
        paper.draw(box, paper.y)
        paper.set_y(paper.y + box.height)

    def title(self, text: str, first_row: Box) -> None:
        """A section title, kept on the page with its column heading and first row."""
        paper = self.paper
        title = Box()
        title.text(LEFT, 1.5, WIDTH, text, 10, True)
        title.height = line_height(10) + 2
        heading = self.heading_box()
        if paper.y + title.height + heading.height + first_row.height > BOTTOM:
            paper.new_sheet()
        paper.draw(title, paper.y)
        paper.set_y(paper.y + title.height)
        self.place(heading)

    def row(self, cells: list[str], red: bool = False) -> Box:
        return self._box(cells, red=red)


def mode_cell(mode: ModeInForce) -> str:
    return _("ACTIVATED") if mode.is_activated else _("Ordinary")


def render_comms_pdf(rows: list[BoardRow], patterns, meta: dict) -> bytes:
    """The communications list as PDF bytes (landscape A4, one or two pages for a region)."""
    paper = LandscapePaper(meta)
    paper.new_sheet()
    roles = Table(paper, [
        (_("Actor"), 64), (_("Duty role"), 34), (_("On call now"), 40), (_("Until"), 20),
        (_("Primary"), 30), (_("Alternate"), 30), (_("Rakel talk group"), 32),
        (_("Mode in force"), 23),
    ])
    boxes = []
    for row in rows:
        primary = number_text(row.primary)
        if row.primary is None and row.hidden:
            primary = _("hidden number")
        boxes.append(roles.row([
            row.actor.name, row.role.short_name or row.role.name, on_call_text(row),
            until_text(row),
            primary, number_text(row.alternate),
            ", ".join(p.value for p in row.talk_groups) or "–", mode_cell(row.mode),
        ], red=row.is_gap))
    if boxes:
        roles.title(_("Duty roles"), boxes[0])
        for box in boxes:
            roles.place(box)
    conferences = Table(paper, [
        (_("Conference"), 78), (_("Convened by"), 70), (_("Conference bridge"), 45),
        (_("PIN"), 30), (_("Rakel talk group"), 50),
    ])
    boxes = [conferences.row([p["name"], p["convener"], p["bridge"], p["pin"], p["talk_group"]])
             for p in (pattern_lines(p) for p in patterns)]
    if boxes:
        paper.set_y(paper.y + 3)
        conferences.title(_("Conferences and talk groups"), boxes[0])
        for box in boxes:
            conferences.place(box)
    return bytes(paper.output())
