"""The binder's revisions: what a revision holds, and what differs since the last.

Recording stores the document (from which its entries, keyed stably
`point:12`, `node:7`, ... with their values, are worked out), the pages of
each section and a digest of what each section's pages show, as a
`PrintRevision`. A recorded revision is
always rendered from its snapshot, so revision N prints the same pages today
and in a year. The next revision opens with what changed since: entries
changed, added and removed, and which sections to replace. Which sections to
replace is decided by what their pages show (the digests), not by the
entries alone: a change of mode changes the header and the PACE order of
every actor's pages without changing a single entry.
"""

import gc
import threading
from collections import defaultdict
from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from directory.core.extensions import db
from directory.core.models import (
    Actor,
    PrintRevision,
    utcnow,
)
from directory.core.security import may_see
from directory.printing import pdf
from directory.printing.documents import FORMAT, Builder, binder_scope, local_today, local_zone

MAX_CHANGE_LINES = 400  # details on the changes page; sections to replace are always complete

# --- Entries and changes: what a revision holds, and what differs since -------------

FIELD_NAMES = {
    "number": _l("number"), "kind": _l("kind"), "label": _l("label"), "pin": _l("PIN"),
    "mode": _l("mode"), "hours": _l("hours"), "days": _l("days"), "order": _l("PACE order"),
    "name": _l("name"), "short_name": _l("short name"), "parent": _l("part of"),
    "notes": _l("notes"), "title": _l("title"), "description": _l("description"),
    "rotations": _l("rotation"), "step": _l("step"), "calls": _l("calls"),
    "instructions": _l("instructions"), "escalate_after": _l("minutes before escalating"),
    "alternates": _l("alternates"), "owner": _l("owner"), "scenario": _l("scenario"),
    "revision": _l("revision"), "valid_from": _l("valid from"),
    "next_review": _l("next review"), "convener": _l("convened by"), "cadence": _l("when"),
    "meeting_place": _l("meeting place"), "purpose": _l("purpose"), "mandate": _l("mandate"),
    "participants": _l("participants"), "facts": _l("facts"), "assumptions": _l("assumptions"),
    "goal": _l("goal"), "preparatory": _l("preparatory phase"), "handling": _l("handling phase"),
}  # fmt: skip


def _rotation_values(rotations: list[dict]) -> list[str]:
    return [f"{r['name']} ({r['days']} d, {r['handover']}): {', '.join(r['members'])}"
            for r in rotations]


def document_entries(doc: dict) -> dict[str, dict]:
    """Every printed entry, keyed stably, with its values and the sections showing it.

    Keys are the rows' own (`actor:3`, `point:12`, `node:7`, ...), so a
    renamed actor or a moved number is a change of values, not a removal and
    an addition. Who is on call at a moment is not an entry: it changes by
    itself every week.
    """
    entries: dict[str, dict] = {}

    def add(key, label, section, values, private_actor=None):
        entry = entries.setdefault(key, {"label": label, "sections": [], "values": values})
        if private_actor is not None:
            entry["private"] = private_actor
        if section not in entry["sections"]:
            entry["sections"].append(section)

    def point(p, section):
        add(p["key"], f"{p['owner']} › {p['label'] or p['kind']}", section,
            {"number": p["display"], "kind": p["kind"], "label": p["label"], "pin": p["pin"],
             "mode": p["mode"], "hours": p["hours"], "days": p["days"], "order": p["priority"]},
            p["actor_id"] if p["confidential"] else None)

    def reach_values(reach):
        text = reach["label"]
        if reach.get("rotations"):
            text += " [" + "; ".join(_rotation_values(reach["rotations"])) + "]"
        return text

    def tree(data, section):
        add(data["key"], data["name"], section,
            {k: data[k] for k in ("name", "owner", "mode", "scenario", "revision",
                                  "valid_from", "next_review", "notes")})
        for node, _depth, _last, _rails in pdf.flatten(data["nodes"]):
            add(node["key"], f"{data['name']} › {node['step']} {node['reach']['label']}", section,
                {"step": node["step"], "calls": reach_values(node["reach"]),
                 "instructions": node["instructions"],
                 "escalate_after": node["reach"]["minutes"],
                 "alternates": [f"{reach_values(a)} ({a['minutes']} min)"
                                for a in node["alternates"]]})
            for reach in (node["reach"], *node["alternates"]):
                for p in reach["paths"]:
                    point(p, section)

    for section in doc["sections"]:
        key = section["key"]
        if section["kind"] == "tree":
            tree(section["tree"], key)
        elif section["kind"] == "actor":
            actor = section["actor"]
            add(actor["key"], actor["name"], key,
                {k: actor[k] for k in ("name", "short_name", "parent", "notes")})
            for p in actor["paths"]:
                point(p, key)
            for role in actor["roles"]:
                add(role["key"], role["label"], key,
                    {"name": role["label"], "description": role["description"],
                     "rotations": _rotation_values(role["rotations"])})
                for p in role["paths"]:
                    point(p, key)
            for person in actor["persons"]:
                add(person["key"], f"{actor['name']} › {person['name']}", key,
                    {"name": person["name"], "title": person["title"]})
                for p in person["paths"]:
                    point(p, key)
            for data in section["trees"]:
                tree(data, key)
        elif section["kind"] == "patterns":
            for pattern in section["patterns"]:
                add(pattern["key"], pattern["name"], key,
                    {k: pattern[k] for k in ("name", "convener", "mode", "scenario", "cadence",
                                             "meeting_place", "purpose", "mandate",
                                             "participants")})
                for p in pattern["channels"]:
                    point(p, key)
        elif section["kind"] == "scenarios":
            for scenario in section["scenarios"]:
                values = {k: scenario[k] for k in ("name", "facts", "assumptions", "goal")}
                for phase in ("preparatory", "handling"):
                    values[phase] = [
                        m["text"] + (f" ({m['responsible']})" if m["responsible"] else "")
                        for m in scenario["measures"].get(phase, [])]
                add(scenario["key"], scenario["name"], key, values)
    return entries


def snapshot_entries(snapshot: dict) -> dict[str, dict]:
    """A recorded revision's entries (`document_entries` of its document).

    They are worked out again from the stored document rather than stored
    beside it: at national scale they were half of an 80 MiB snapshot. A
    revision recorded when they were stored keeps and uses its own.
    """
    entries = snapshot.get("entries")
    return entries if entries is not None else document_entries(snapshot["document"])


def section_titles(doc: dict) -> dict[str, str]:
    titles = {}
    for section in doc["sections"]:
        if section["kind"] == "tree":
            titles[section["key"]] = section["tree"]["name"]
        elif section["kind"] == "actor":
            titles[section["key"]] = section["actor"]["name"]
        elif section["kind"] == "patterns":
            titles[section["key"]] = _("Collaboration patterns")
        elif section["kind"] == "scenarios":
            titles[section["key"]] = _("Scenario directions")
    return titles


def _shown(value) -> str:
    if value is None or value == "" or value == []:
        return "–"
    text = "; ".join(value) if isinstance(value, list) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= 90 else text[:89] + "…"


def _may_see_private(entry: dict, user) -> bool:
    if "private" not in entry:
        return True
    return may_see(user, SimpleNamespace(confidential=True, owning_actor_id=entry["private"]))


def compare(previous: PrintRevision | None, doc: dict, entries: dict, user,
            digests: dict[str, str], left_out_hidden: bool = False) -> dict | None:
    """What changed since the previous revision, grouped by section, for the front page.

    The sections to replace are those whose pages show something else than
    the previous revision's (`digests`, from `pdf.render_binder`), and those
    holding a changed entry. A change of mode changes every actor's header and
    PACE order without changing one entry: only the pages tell.

    `left_out_hidden`: the new document was built for this user, so the
    confidential entries they may not see are missing from it, not removed.
    """
    if previous is None:
        return None
    return changes_since(previous, doc, entries, user, left_out_hidden)(digests)


def changes_since(previous: PrintRevision, doc: dict, entries: dict, user,
                  left_out_hidden: bool = False):
    """`compare` in two steps: what the entries say, worked out once, and then
    for any digests of the pages, the changes (a binder settles its front
    pages twice, and at national scale the entries are 150 000)."""
    old = previous.snapshot
    old_entries = snapshot_entries(old)
    titles = section_titles(doc)
    old_titles = old.get("sections", {})
    order = {key: n for n, key in enumerate(titles)}
    replace, details = set(), defaultdict(list)
    old_digests = old.get("digests")
    removed_sections = [title for key, title in old_titles.items() if key not in titles]

    seen: dict = {}  # private actor -> whether this user may see its confidential entries

    def may_see_private(entry) -> bool:
        if entry is None or "private" not in entry:
            return True
        if entry["private"] not in seen:
            seen[entry["private"]] = _may_see_private(entry, user)
        return seen[entry["private"]]

    def note(what, key, entry, fields=(), before=None):
        sections = [s for s in entry["sections"] if s in titles]
        replace.update(sections)
        home = sections[0] if sections else None
        # Confidential in either revision: the old number may be a private
        # mobile even when the new one is not.
        if not (may_see_private(entry) and may_see_private(before)):
            fields = [_("confidential, not shown")] if fields else []
        details[home].append({"what": what, "label": entry["label"], "fields": list(fields),
                              "also": [titles[s] for s in sections[1:]]})

    for key, entry in entries.items():
        before = old_entries.get(key)
        if before is None:
            note("added", key, entry)
        elif before["values"] != entry["values"]:
            fields = [f"{FIELD_NAMES.get(name, name)}: {_shown(before['values'].get(name))} → "
                      f"{_shown(value)}"
                      for name, value in entry["values"].items()
                      if before["values"].get(name) != value]
            note("changed", key, entry, fields, before)
        elif set(before["sections"]) != set(entry["sections"]):
            if (left_out_hidden and not may_see_private(entry)
                    and set(entry["sections"]) <= set(before["sections"])):
                continue  # shown to this reader only where a call tree discloses it
            note("changed", key, entry, [_("now also printed in other sections")])
    for key, entry in old_entries.items():
        if key not in entries and not (left_out_hidden and not may_see_private(entry)):
            note("removed", key, entry)
    grouped = sorted(details.items(), key=lambda pair: order.get(pair[0], len(order)))
    lines, shown = 0, []
    for home, items in grouped:
        title = titles.get(home) or _("Sections no longer in the binder")
        room = MAX_CHANGE_LINES - lines
        if room <= 0:
            break
        shown.append((title, items[:room]))
        lines += len(items[:room])
    total = sum(len(items) for _home, items in grouped)
    printed_by = previous.printed_by
    since = {"number": previous.number, "printed_at": previous.printed_at.isoformat(),
             "printed_by": (printed_by.name or printed_by.email) if printed_by else None}

    def with_pages(digests: dict[str, str]) -> dict:
        sections = set(replace)
        if old_digests is None:  # recorded before pages had digests: every section may differ
            sections.update(titles)
        else:
            sections.update(key for key in titles if digests.get(key) != old_digests.get(key))
        return {
            "previous": dict(since),
            "previous_pages": old.get("pages", {}),
            "replace": [(key, titles[key]) for key in sorted(sections, key=order.get)],
            "removed_sections": list(removed_sections),
            "details": list(shown),
            "more": total - lines,
        }

    return with_pages


def mask_private(value, user):
    """A stored document as this user may see it: confidential numbers masked.

    A recorded revision keeps its pages for everyone, so confidential numbers
    are blanked in place rather than left out.
    """
    if isinstance(value, list):
        return [mask_private(v, user) for v in value]
    if not isinstance(value, dict):
        return value
    if (value.get("confidential") and not value.get("disclosed")
            and str(value.get("key", "")).startswith("contact_point:")):
        point = SimpleNamespace(confidential=True, owning_actor_id=value.get("actor_id"))
        if not may_see(user, point):
            hidden = _("(confidential – not shown)")
            masked = dict(value, value=hidden, display=hidden, tel=None, pin="", masked=True)
            if "number" in value:  # a role's escalation step
                masked["number"] = hidden
            masked.pop("verified", None)  # a hidden number shows no verification either
            masked.pop("failed", None)
            return masked
    return {k: mask_private(v, user) for k, v in value.items()}


# --- Revisions ----------------------------------------------------------------------


def latest_revision(scope: str, before: int | None = None) -> PrintRevision | None:
    query = select(PrintRevision).where(PrintRevision.scope == scope)
    if before is not None:
        query = query.where(PrintRevision.number < before)
    return db.session.scalar(query.order_by(PrintRevision.number.desc()).limit(1))


def user_name(user) -> str:
    return (user.name or user.email) if user is not None else ""


def binder_meta(doc: dict, revision: str, printed_at: datetime, printed_by: str) -> dict:
    """What the cover, headers and footers say about a binder."""
    return {
        "title": doc["title"],
        "scope": doc.get("scope_name") or _("Region – all actors"),
        "revision": revision,
        "valid_from": printed_at.astimezone(local_zone()).date().isoformat(),
        "next_review": doc.get("next_review"),
        "printed_at": printed_at.isoformat(),
        "printed_by": printed_by,
        "marking": current_app.config["SENSITIVITY_MARKING"],
        "today": local_today().isoformat(),
    }


def revision_label(revision: PrintRevision) -> str:
    return _("binder revision %(n)d", n=revision.number)


def preview_label(latest: PrintRevision | None) -> str:
    if latest is None:
        return _("preview, not a recorded revision")
    return _("preview after revision %(n)d, not recorded", n=latest.number)


def effective_revisions(doc: dict, previous: PrintRevision | None, changes: dict | None,
                        number: int) -> dict[str, int]:
    """The revision each section's pages in a kept-up binder come from.

    A section listed to replace is printed anew (this revision); any other
    stays as it was in the binder, from the revision that last printed it.
    """
    if previous is None or changes is None:
        return {key: number for key in section_titles(doc)}
    replaced = {key for key, _title in changes["replace"]}
    kept = previous.snapshot.get("effective") or {}
    return {key: number if key in replaced else kept.get(key, previous.number)
            for key in section_titles(doc)}


def record_revision(actor: Actor | None, user, mode: str | None, at: datetime | None):
    """Build the binder, number it, render it once for its page map, and store it.

    Flushes, does not commit. Two coordinators printing at the same moment
    collide on (scope, number): the later one gets an IntegrityError.
    """
    return record_and_render(actor, user, mode, at)[0]


_pauses = {"active": 0, "resume": False}  # binders being laid out; turn the collector back on?
_pauses_lock = threading.Lock()


@contextmanager
def without_cycle_collection():
    """Build and lay out a binder without Python's cycle collector, then collect
    once.

    A national binder makes millions of objects that live until it is done.
    The collector walked all of them some twenty times over to find the ORM's
    reference cycles, which one collection of the youngest generation at the
    end finds all the same: a
    third of the time (35 s against 25 s at 50 000 persons), for about 300 MB
    more at the peak, given back at the end.

    The collector is the process's: while any binder is laid out it is off
    (for other requests too), and the last binder to finish turns it back on,
    if it was on when the first began (a print worker's horse keeps it off).
    """
    with _pauses_lock:
        if _pauses["active"] == 0:
            _pauses["resume"] = gc.isenabled()
        _pauses["active"] += 1
        gc.disable()
    try:
        yield
    finally:
        with _pauses_lock:
            _pauses["active"] -= 1
            resume = _pauses["active"] == 0 and _pauses["resume"]
            if resume:
                gc.enable()
        if resume:
            # The youngest generation only: with the collector off, everything
            # made since the pause began is still in it, so this finds all the
            # binder's cycles without walking the worker's whole heap again
            # (a full collection made each small PDF 0.1 s slower).
            gc.collect(0)


def record_and_render(actor: Actor | None, user, mode: str | None,
                      at: datetime | None) -> tuple["PrintRevision", bytes]:
    """`record_revision`, and the PDF it laid out for the person who printed it
    (the print worker hands that to them instead of laying the binder out again)."""
    with without_cycle_collection():
        return _record_and_render(actor, user, mode, at)


def _record_and_render(actor, user, mode, at):
    doc = Builder(user, at, mode).binder(actor)
    entries = document_entries(doc)
    scope = binder_scope(actor)
    previous = latest_revision(scope)
    number = previous.number + 1 if previous else 1
    title = f"{doc['title']} – {doc.get('scope_name') or _('Region')}"
    revision = PrintRevision(scope=scope, number=number, printed_at=utcnow(),
                             printed_by_id=user.id, title=title[:300])
    meta = binder_meta(doc, revision_label(revision), revision.printed_at, user_name(user))
    meta["number"] = number

    against = changes_since(previous, doc, entries, user, left_out_hidden=True) \
        if previous else (lambda _digests: None)

    def settle(digests):
        changes = against(digests)
        meta["effective"] = effective_revisions(doc, previous, changes, number)
        return changes

    content, pages, digests, inputs = pdf.render_binder(
        doc, meta, lambda inputs: settle(_guessed_pages(previous, inputs)), settle)
    revision.snapshot = {"format": FORMAT, "document": doc,
                         "sections": section_titles(doc), "pages": pages, "digests": digests,
                         "inputs": inputs, "effective": meta["effective"]}
    db.session.add(revision)
    db.session.flush()
    return revision, content


def render_preview(actor: Actor | None, user, mode: str | None,
                   at: datetime | None) -> tuple[bytes, str]:
    """The binder as it would print now for this user, with the changes since the
    last revision; records nothing. The PDF and a name for its file."""
    with without_cycle_collection():
        return _render_preview(actor, user, mode, at)


def _render_preview(actor, user, mode, at):
    doc = Builder(user, at, mode).binder(actor)
    latest = latest_revision(binder_scope(actor))
    meta = binder_meta(doc, preview_label(latest), utcnow(), user_name(user))
    entries = document_entries(doc)

    settle = changes_since(latest, doc, entries, user, left_out_hidden=True) \
        if latest else (lambda _digests: None)

    content, _pages, _digests, _inputs = pdf.render_binder(
        doc, meta, lambda inputs: settle(_guessed_pages(latest, inputs)), settle)
    return content, f"{doc['title']} {doc.get('scope_name') or ''} preview"


def _guessed_pages(previous: PrintRevision | None, inputs: dict[str, str]) -> dict:
    """The first guess of the digests, before the pages are laid out: a section
    laid out from the same inputs as in the previous revision shows the pages it
    showed then; any other shows something else. (A revision recorded before
    inputs were kept: every section as it was.)

    A good guess is what keeps a binder to one layout: at national scale, a
    revision that added one actor used to be laid out twice.
    """
    if previous is None:
        return {}
    digests = previous.snapshot.get("digests") or {}
    before = previous.snapshot.get("inputs")
    if before is None:
        return dict(digests)
    return {key: digests.get(key) if before.get(key) == value else f"changed {value}"
            for key, value in inputs.items()}


def render_revision(revision: PrintRevision, user) -> bytes:
    """A recorded revision's PDF, from its snapshot, as this user may see it."""
    with without_cycle_collection():
        return _render_revision(revision, user)


def _render_revision(revision: PrintRevision, user) -> bytes:
    snapshot = revision.snapshot
    doc = mask_private(snapshot["document"], user)
    previous = latest_revision(revision.scope, before=revision.number)
    changes = compare(previous, doc, snapshot_entries(snapshot), user,
                      snapshot.get("digests", {}))
    meta = binder_meta(doc, revision_label(revision), revision.printed_at,
                       user_name(revision.printed_by))
    meta["effective"] = snapshot.get("effective") or effective_revisions(
        doc, previous, changes, revision.number)
    meta["number"] = revision.number
    content, _pages = pdf.render_pdf(doc, meta, changes)
    return content
