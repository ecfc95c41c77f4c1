"""Printed documents laid out on A4: call trees, binders, and their front pages.

`render_pdf(document, meta, changes)` lays out a document built by
`printing.documents` (plain data: dicts, lists and strings) and answers the
PDF and the page range of each section. Every page carries the header
(title, scope, mode, scenario, revision, valid from, next review) and the
footer (printed at and by, the sensitivity marking, page X of Y).

`Layout` turns a document's parts into boxes (`printing.paper`), in the
words of `printing.wording`. The binder's front pages (changes since the
last revision, contents) are laid out before the body, counted, reserved,
and drawn last, when the page numbers they name are known.
"""


import hashlib
import json
import re
from datetime import date

from flask_babel import get_locale
from flask_babel import gettext as _

from directory.printing.paper import (
    BOTTOM,
    GAP,
    HEAD_SHOWN,
    INDENT,
    LEFT,
    LOG_W,
    MAX_LEVEL,
    NUMBER_SIZE,
    RIGHT,
    TOP,
    WIDTH,
    Box,
    Paper,
    clean_text,
    line_height,
    paginate,
)
from directory.printing.wording import (
    GROUPS,
    WARNINGS,
    escalation_step_text,
    escalation_text,
    kind_name,
    local_moment,
    mode_name,
    mode_order,
    on_call_text,
    pace_legend,
    pace_letter,
    point_note,
    review_text,
    rotation_text,
)

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
        self.pdf.start_section(clean_text(title), level=min(level, 5), strict=False)
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
