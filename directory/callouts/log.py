"""A call-out's log on paper and in a spreadsheet: the record of who was reached when.

The PDF uses the printing feature's `Paper` (bundled fonts, wrapping,
boxes, page X of Y, the sensitivity marking in the footer); only its header
and the table are its own. The CSV protects every cell from being run as a
spreadsheet formula (`core.text.csv_cell`).
"""

import csv
import io

from flask_babel import gettext as _

from directory.core.models import CallOut, CallOutKind, utcnow
from directory.core.text import csv_cell
from directory.printing.paper import BOTTOM, HEADER_TOP, LEFT, RIGHT, TOP, WIDTH, Box, Paper
from directory.printing.wording import local_moment


def _header_row() -> list[str]:
    return [_("Time"), _("Since start"), _("Step"), _("Step to call"), _("Called"),
            _("Outcome"), _("Path used"), _("Note"), _("Marked by"), _("Marked at")]


def log_csv(rows: list[dict], names: dict) -> bytes:
    """The log as UTF-8 CSV, one line per mark."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in _header_row()])
    for row in rows:
        writer.writerow([csv_cell(v) for v in (
            row["at"], row["since_start"], row["step"], row["step_label"], row["called"],
            names[row["outcome"]], row["path"], row["note"], row["marked_by"],
            row["marked_at"])])
    return buffer.getvalue().encode("utf-8")


class LogPaper(Paper):
    """`Paper` with the call-out's own header: title, tree, kind, start and close."""

    def header(self) -> None:
        meta = self.meta
        self.set_text_color(0)
        self.use(8, True)  # the sensitivity marking at the top too, as Swedish practice has it
        marking = self.fit(meta.get("marking", ""), WIDTH * 0.35, 8, True)
        marking_w = self.width(marking) + 1 if marking else 0
        self.set_xy(RIGHT - marking_w, HEADER_TOP)
        self.cell(marking_w, 4.5, marking, align="R")
        self.use(10, True)
        self.set_xy(LEFT, HEADER_TOP)
        title_w = WIDTH - marking_w - 3
        self.cell(title_w, 4.5, self.fit(meta["title"], title_w, 10, True))
        self.use(7.5)
        self.set_xy(LEFT, HEADER_TOP + 5.5)
        self.cell(WIDTH, 3.4, self.fit(meta["details"], WIDTH, 7.5))
        self.set_line_width(0.3)
        self.line(LEFT, 22.5, RIGHT, 22.5)
        self.set_line_width(0.2)
        self._using = None


COLUMNS = [(18.0, "at"), (14.0, "since_start"), (12.0, "step"), (46.0, "called"),
           (24.0, "outcome"), (38.0, "path"), (28.0, "marked_by")]


def _row_box(paper: LogPaper, cells: list[str], bold: bool = False) -> Box:
    box = Box()
    x, bottom, size = LEFT, 0.0, 8.0
    for (width, _key), text in zip(COLUMNS, cells, strict=True):
        y = paper.para(box, x + 1, 1.0, width - 2, text, size, bold=bold)
        bottom = max(bottom, y)
        x += width
    box.height = bottom + 1.0
    box.line(LEFT, box.height, RIGHT, box.height)
    return box


def log_pdf(callout: CallOut, context: dict, meta: dict) -> bytes:
    """The log as A4 PDF: a summary, then every mark in the order the calls were made."""
    names, report, duration = context["names"], context["report"], context["duration"]
    kind = _("Drill") if callout.kind is CallOutKind.DRILL else _("Real call-out")
    details = " · ".join(filter(None, [
        kind, _("Call tree: %(name)s", name=callout.call_tree.name),
        _("Started %(when)s", when=local_moment(callout.started_at.isoformat())),
        _("closed %(when)s", when=local_moment(callout.closed_at.isoformat()))
        if callout.closed_at else _("under way"),
    ]))
    paper = LogPaper({"title": callout.title, "details": details,
                      "printed_at": utcnow().isoformat(), **meta})
    paper.new_page({})
    summary = [_("Reached %(reached)d of %(total)d steps.", reached=report.reached,
                 total=report.total)]
    if report.time_to_reach_all is not None:
        summary.append(_("Everyone reached in %(time)s.",
                         time=duration(report.time_to_reach_all)))
    for outcome, states in report.by_outcome.items():
        if states and outcome.value != "reached":
            summary.append(f"{names[outcome]}: " + "; ".join(
                f"{s.number} {s.item.reach.label}" for s in states))
    box = Box()
    y = 0.0
    for line in summary:
        y = paper.para(box, LEFT, y, WIDTH, line, 9)
    box.height = y + 3
    paper.place(box)
    head = _row_box(paper, [_("Time"), _("Since start"), _("Step"), _("Called"), _("Outcome"),
                            _("Path used"), _("Marked by")], bold=True)
    rows = context["log"]
    boxes = [_row_box(paper, [row["at"][11:], row["since_start"], row["step"],
                              row["called"] + (f" – {row['note']}" if row["note"] else ""),
                              names[row["outcome"]], row["path"] or "–",
                              f"{row['marked_by']} {row['marked_at'][11:]}"])
             for row in rows]
    paper.place(head, keep_with=boxes[0].height if boxes else 0)
    if not boxes:
        empty = Box()
        empty.height = paper.para(empty, LEFT, 1, WIDTH, _("Nothing marked yet."), 9)
        paper.place(empty)
    for row_box in boxes:
        if paper.y + row_box.height > BOTTOM:
            paper.add_page()
            paper.set_y(TOP)
            paper.place(head)
        paper.place(row_box)
    return bytes(paper.output())
