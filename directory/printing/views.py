"""Printable call trees and the binder: print views, PDF, revisions.

Paper carries what screens forget: when power or the network is gone, the
binder on the shelf is the directory. Everything printed is first built as a
*document*: plain data (dicts, lists, strings) made from one data load, with
confidential numbers already left out by `security.visible`. The HTML print
views and the PDF layout (`pdf`) both render documents, so screen and paper
say the same, and a document can be stored as it was printed.

Revisions. Downloading a binder (`GET /binder.pdf`) is a preview and records
nothing: a GET that writes would make every reload, prefetch or link checker
a new revision. Recording is a POST ("print a new revision"): coordinators
record the regional binder, an actor's editors their actor's binder. It
stores the document, its entries keyed stably (`point:12`, `node:7`, ...)
with their values, and the pages of each section as a `PrintRevision`, then
redirects to that revision's PDF. A recorded revision is always rendered from
its snapshot, so revision N prints the same pages today and in a year, and
the next revision opens with what changed since: entries changed, added and
removed, and which sections to replace.

Read top to bottom: options, loading, building documents, entries and
changes, revisions, then the views.
"""

from collections import defaultdict
from contextlib import suppress
from datetime import date, datetime
from functools import lru_cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import Response as FlaskResponse
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from phonenumbers import NumberParseException
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, selectinload
from wtforms import DateField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from directory.calltrees import rules as calltrees
from directory.core.extensions import db
from directory.core.forms import Form
from directory.core.models import (
    Actor,
    CallTree,
    CallTreeAlternate,
    CallTreeNode,
    CollaborationPattern,
    ContactKind,
    Mode,
    PatternParticipant,
    Person,
    PrintRevision,
    Role,
    RoleEscalationStep,
    Rotation,
    RotationMember,
    Scenario,
    ScenarioMeasure,
    utcnow,
)
from directory.core.modes import mode_for, mode_states, paths_for_mode, region_mode
from directory.core.moments import at_argument
from directory.core.numbers import display_phone, tel_uri
from directory.core.patterns import WEEKDAYS, describe_rrule
from directory.core.schedules import on_call_for_roles
from directory.core.security import can_edit, is_admin, may_see, visible
from directory.core.text import slugify, swedish_sort_key
from directory.core.verification import status_of
from directory.printing import pdf
from directory.review.rules import review_due_at

bp = Blueprint("printing", __name__)

FORMAT = 1  # of stored snapshots
MODES = ("ordinary", "activated")
REGIONAL_SCOPE = "binder"
MAX_CHANGE_LINES = 400  # details on the changes page; sections to replace are always complete


# --- Options: scope, mode and the moment for who is on call ------------------------


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def parse_at(value: str | None) -> datetime | None:
    """`2026-12-24` (noon, local) or `2026-12-24T03:00` (local) as UTC; None if absent.

    A printed on-call name is only as good as the moment it was asked for,
    so an unreadable value is refused (400) rather than silently ignored.
    """
    value = (value or "").strip()
    if len(value) == 10:  # a day: who has the duty at noon
        value += "T12:00"
    return at_argument(value)


def parse_mode(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if value not in MODES:
        abort(400, _("The mode is “ordinary” or “activated”."))
    return value


def binder_scope(actor: Actor | None) -> str:
    """The revision series a binder belongs to: the region's, or one actor's."""
    return REGIONAL_SCOPE if actor is None else f"binder:{actor.slug}"


def local_today() -> date:
    return utcnow().astimezone(_tz()).date()


# --- Loading: everything a binder shows, in a fixed number of queries ---------------


def load_actors(actor_id: int | None = None, with_persons: bool = True) -> list[Actor]:
    """Live actors (or one) with their paths, roles, rotations and persons."""
    options = [
        selectinload(Actor.parent),
        selectinload(Actor.contact_points),
        selectinload(Actor.roles).selectinload(Role.contact_points),
        selectinload(Actor.roles).selectinload(Role.rotations).selectinload(Rotation.members)
        .selectinload(RotationMember.person),
        *[selectinload(Actor.roles).options(load) for load in escalation_target_loads()],
    ]
    if with_persons:
        options.append(selectinload(Actor.persons).selectinload(Person.contact_points))
    query = select(Actor).where(Actor.deleted_at.is_(None)).options(*options)
    if actor_id is not None:
        query = query.where(Actor.id == actor_id)
    return list(db.session.scalars(query).all())


def _target_loads(role, person, actor) -> list:
    return [
        selectinload(role).selectinload(Role.actor),
        selectinload(role).selectinload(Role.contact_points),
        selectinload(role).selectinload(Role.rotations).selectinload(Rotation.members)
        .selectinload(RotationMember.person),
        selectinload(person).selectinload(Person.actor),
        selectinload(person).selectinload(Person.contact_points),
        selectinload(actor).selectinload(Actor.contact_points),
    ]


def load_trees(actor_ids: list[int] | None, regional: bool) -> list[CallTree]:
    """Live call trees owned by these actors (and the regional ones), fully loaded.

    The same loads as `calltrees.load_tree`, for many trees at once.
    """
    owners = []
    if actor_ids:
        owners.append(CallTree.actor_id.in_(actor_ids))
    if regional:
        owners.append(CallTree.actor_id.is_(None))
    if not owners:
        return []
    node_loads = _target_loads(CallTreeNode.target_role, CallTreeNode.target_person,
                               CallTreeNode.target_actor)
    alternate_loads = _target_loads(CallTreeAlternate.target_role,
                                    CallTreeAlternate.target_person,
                                    CallTreeAlternate.target_actor)
    trees = db.session.scalars(
        select(CallTree)
        .where(CallTree.deleted_at.is_(None), or_(*owners))
        .options(
            selectinload(CallTree.actor),
            selectinload(CallTree.scenario),
            *[selectinload(CallTree.nodes).options(load) for load in node_loads],
            *[selectinload(CallTree.nodes).selectinload(CallTreeNode.alternates).options(load)
              for load in alternate_loads],
        )
    ).all()
    return sorted(trees, key=lambda t: (
        swedish_sort_key(t.scenario.name if t.scenario else ""),
        t.mode is not Mode.ORDINARY, swedish_sort_key(t.name), t.id))


def load_patterns(actor_id: int | None) -> list[CollaborationPattern]:
    query = (
        select(CollaborationPattern)
        .where(CollaborationPattern.deleted_at.is_(None))
        .options(
            selectinload(CollaborationPattern.convener_actor),
            selectinload(CollaborationPattern.convener_role),
            selectinload(CollaborationPattern.scenario),
            selectinload(CollaborationPattern.channels),
            selectinload(CollaborationPattern.participants).selectinload(
                PatternParticipant.actor),
            selectinload(CollaborationPattern.participants).selectinload(
                PatternParticipant.role),
        )
    )
    if actor_id is not None:
        query = query.where(or_(
            CollaborationPattern.convener_actor_id == actor_id,
            CollaborationPattern.participants.any(PatternParticipant.actor_id == actor_id),
        ))
    patterns = db.session.scalars(query).all()
    return sorted(patterns, key=lambda p: swedish_sort_key(p.name))


def load_scenarios(ids: set[int] | None) -> list[Scenario]:
    """Live scenarios (all, or these) with their measures."""
    query = select(Scenario).where(Scenario.deleted_at.is_(None)).options(
        selectinload(Scenario.measures).selectinload(ScenarioMeasure.responsible_actor))
    if ids is not None:
        if not ids:
            return []
        query = query.where(Scenario.id.in_(ids))
    return sorted(db.session.scalars(query).all(), key=lambda s: swedish_sort_key(s.name))


def hierarchy(actors: list[Actor]) -> list[tuple[Actor, int]]:
    """Actors in the order a printed list follows: each parent, then its children."""
    ids = {a.id for a in actors}
    children = defaultdict(list)
    for actor in actors:
        children[actor.parent_id if actor.parent_id in ids else None].append(actor)
    for group in children.values():
        group.sort(key=lambda a: swedish_sort_key(a.name))
    ordered, seen = [], set()

    def walk(parent_id, depth):
        for actor in children.get(parent_id, []):
            if actor.id not in seen:
                seen.add(actor.id)
                ordered.append((actor, depth))
                walk(actor.id, depth + 1)

    walk(None, 0)
    ordered += [(a, 0) for a in actors if a.id not in seen]  # parents in a loop
    return ordered


# --- Building documents: plain data, ready to lay out or to store ------------------


def _live(entries):
    return [e for e in entries if e.deleted_at is None]


def _key(entry) -> str:
    return f"{entry.__tablename__}:{entry.id}"


@lru_cache(maxsize=8192)
def _readable(value: str, region: str) -> str:
    """A stored number as people read it (cached: a number recurs on many pages)."""
    with suppress(NumberParseException, ValueError):  # shown as stored, then
        return display_phone(value, region)
    return value


def point_data(point, owner: str, actor_id: int | None) -> dict:
    """One contact path as printed: the number as read, its tel: form, and notes."""
    display, tel = point.value, None
    if ContactKind(point.kind).is_phone:
        display = _readable(point.value, current_app.config["DEFAULT_REGION"])
        tel = tel_uri(point.value)
    hours = ""
    if point.available_from is not None and point.available_until is not None:
        hours = f"{point.available_from:%H:%M}–{point.available_until:%H:%M}"
    return {
        "key": _key(point), "kind": point.kind.value, "value": point.value,
        "display": display, "tel": tel, "label": point.label or "", "pin": point.pin or "",
        "mode": point.mode.value, "priority": point.priority, "hours": hours,
        "days": point.weekdays, "confidential": bool(point.confidential),
        "actor_id": actor_id, "owner": owner, **_verified(point),
    }


def _verified(point) -> dict:
    """When a call last reached someone on it (a date: paper outlives "12 days ago")."""
    status = status_of(point)
    return {"verified": status.verified_at.date().isoformat() if status.verified_at else None,
            "failed": status.failed}


def _paths(points, mode: str, owner: str, actor_id: int | None, user) -> list[dict]:
    """The paths this user may see: those for the mode in PACE order, then the others."""
    applies, others = paths_for_mode(visible(points, user), Mode(mode))
    return [point_data(p, owner, actor_id) for p in applies + others]


def escalation_target_loads() -> list:
    """A role's escalation steps with their targets' actors and paths, loaded in bulk."""
    steps = selectinload(Role.escalation)
    return [
        steps.selectinload(RoleEscalationStep.target_role).selectinload(Role.actor),
        steps.selectinload(RoleEscalationStep.target_role).selectinload(Role.contact_points),
        steps.selectinload(RoleEscalationStep.target_person).selectinload(Person.actor),
        steps.selectinload(RoleEscalationStep.target_person)
        .selectinload(Person.contact_points),
        steps.selectinload(RoleEscalationStep.target_actor).selectinload(Actor.contact_points),
    ]


def escalation_rows(role: Role, user, states) -> list[dict]:
    """A role's escalation as printed: minutes, whom, and the first number this reader may see."""
    from directory.core import escalations

    rows = []
    for step in escalations.chain_for_print(role, states):
        seen = visible(step["phones"], user)
        rows.append({"minutes": step["minutes"], "label": step["label"],
                     "number": _readable(seen[0].value, current_app.config["DEFAULT_REGION"])
                     if seen else None,
                     "hidden": bool(step["phones"]) and not seen})
    return rows


def rotations_data(role: Role, today: date) -> list[dict]:
    """The rotations staffing a role, with their members in turn order."""
    found = []
    for rotation in _live(role.rotations):
        if rotation.ends_on is not None and rotation.ends_on <= today:
            continue
        found.append({
            "name": rotation.name, "days": rotation.length_days,
            "handover": rotation.handover_time.strftime("%H:%M"),
            "members": [m.person.name for m in rotation.members if m.person.deleted_at is None],
        })
    return found


def _actor_of(target) -> Actor:
    return target if isinstance(target, Actor) else target.actor


class Builder:
    """Builds documents for one user, moment and mode from loaded rows."""

    def __init__(self, user=None, at: datetime | None = None, mode: str | None = None):
        self.user = current_user if user is None else user
        self.at = at
        self.mode = mode
        self.tz = _tz()
        self.today = local_today()
        self.states = mode_states()

    def visible(self, points):
        return visible(points, self.user)

    # Call trees ------------------------------------------------------------

    def tree(self, tree: CallTree) -> dict:
        # A tree's paths are printed for whoever may print it (need-to-know).
        resolved = calltrees.resolve_tree(tree, self.at or utcnow(), self.tz)

        def reach(item) -> dict:
            target = item.target
            data = {
                "key": _key(target), "label": item.label, "minutes": item.escalate_after_minutes,
                "paths": [dict(point_data(p, item.label, _actor_of(target).id), disclosed=True)
                          for p in item.paths],
            }
            if isinstance(target, Role):
                data["rotations"] = rotations_data(target, self.today)
                if self.at is not None:
                    person = item.on_call.person if item.on_call else None
                    data["on_call"] = person.name if person else None
            return data

        def node(item, step: str) -> dict:
            return {
                "key": _key(item.node), "step": step, "reach": reach(item.reach),
                "instructions": item.node.instructions or "",
                "alternates": [reach(a) for a in item.alternates],
                # "Nobody on call" is a fact of a moment; without one, rotations are printed.
                "warnings": [w for w in item.warnings
                             if w != "nobody_on_call" or self.at is not None],
                "children": [node(child, f"{step}.{n}")
                             for n, child in enumerate(item.children, start=1)],
            }

        return {
            "key": _key(tree), "name": tree.name,
            "owner": tree.actor.name if tree.actor else None,
            "mode": tree.mode.value,
            "scenario": tree.scenario.name if tree.scenario and not tree.scenario.deleted_at
            else None,
            "revision": tree.revision, "valid_from": tree.valid_from.isoformat(),
            "next_review": tree.next_review_on.isoformat() if tree.next_review_on else None,
            "notes": tree.notes or "",
            "nodes": [node(item, str(n)) for n, item in enumerate(resolved, start=1)],
        }

    # Actors ----------------------------------------------------------------

    def actor_mode(self, actor: Actor) -> str:
        return self.mode or mode_for(actor, self.states).mode.value

    def actor(self, actor: Actor, on_call: dict, with_persons: bool = True) -> dict:
        mode = self.actor_mode(actor)
        due = review_due_at(actor)
        roles = sorted(_live(actor.roles), key=lambda r: swedish_sort_key(r.name))
        persons = sorted(_live(actor.persons), key=lambda p: swedish_sort_key(p.name)) \
            if with_persons else []
        role_rows = []
        for role in roles:
            label = calltrees.target_label(role)
            row = {"key": _key(role), "name": role.name, "short_name": role.short_name or "",
                   "label": label, "description": role.description or "",
                   "rotations": rotations_data(role, self.today),
                   "paths": _paths(role.contact_points, mode, label, actor.id, self.user)}
            if self.at is not None:
                duty = on_call.get(role.id)
                row["on_call"] = duty.person.name if duty and duty.person else None
            steps = escalation_rows(role, self.user, self.states)
            if steps:  # only then: pages printed before escalations existed stay equal
                row["escalation"] = steps
            role_rows.append(row)
        return {
            "key": _key(actor), "name": actor.name, "short_name": actor.short_name or "",
            "parent": actor.parent.name if actor.parent and not actor.parent.deleted_at
            else None,
            "kind": actor.kind.value, "notes": actor.notes or "", "is_demo": actor.is_demo,
            "review_due": due.astimezone(self.tz).date().isoformat() if due else None,
            "mode": mode,
            "paths": _paths(actor.contact_points, mode, actor.name, actor.id, self.user),
            "roles": role_rows,
            "persons": [
                {"key": _key(p), "name": p.name, "title": p.title or "",
                 "paths": _paths(p.contact_points, mode, calltrees.target_label(p), actor.id,
                                 self.user)}
                for p in persons
            ],
        }

    def on_call(self, actors: list[Actor]) -> dict:
        """Who is on call at the chosen moment for every role, in a few queries."""
        if self.at is None:
            return {}
        roles = [r for a in actors for r in _live(a.roles)]
        return on_call_for_roles(roles, self.at, self.tz)

    # Patterns and scenarios --------------------------------------------------

    def pattern(self, pattern: CollaborationPattern) -> dict:
        role = pattern.convener_role
        convener = pattern.convener_actor.name
        if role is not None and role.deleted_at is None:
            convener = f"{role.short_name or role.name} – {convener}"
        participants = sorted(
            (p.actor.name for p in pattern.participants if p.actor.deleted_at is None),
            key=swedish_sort_key)
        channels = sorted(self.visible(_live(pattern.channels)), key=lambda c: (c.priority, c.id))
        return {
            "key": _key(pattern), "name": pattern.name, "convener": convener,
            "mode": pattern.mode.value,
            "scenario": pattern.scenario.name if pattern.scenario else None,
            "cadence": cadence_text(pattern), "meeting_place": pattern.meeting_place or "",
            "purpose": pattern.purpose or "", "mandate": pattern.mandate or "",
            "participants": participants,
            "channels": [point_data(c, pattern.name, pattern.convener_actor_id) for c in channels],
        }

    @staticmethod
    def scenario(scenario: Scenario) -> dict:
        measures = defaultdict(list)
        for measure in scenario.measures:
            responsible = measure.responsible_actor
            measures[measure.phase.value].append({
                "key": _key(measure), "text": measure.text,
                "responsible": responsible.name if responsible and not responsible.deleted_at
                else None,
            })
        return {"key": _key(scenario), "name": scenario.name, "facts": scenario.facts or "",
                "assumptions": scenario.assumptions or "", "goal": scenario.goal or "",
                "measures": dict(measures)}

    # Whole documents ---------------------------------------------------------

    def base(self, kind: str, scope: str, mode: str, title: str) -> dict:
        state = region_mode(self.states)
        return {"format": FORMAT, "kind": kind, "scope": scope, "title": title, "mode": mode,
                "at": self.at.isoformat() if self.at else None,
                "scenario": state.scenario.name if state.scenario else None,
                "built_at": utcnow().isoformat(), "demo": False, "sections": []}

    def tree_document(self, tree: CallTree) -> dict:
        doc = self.base("tree", _key(tree), tree.mode.value, tree.name)
        data = self.tree(tree)
        doc["scenario"] = data["scenario"]
        doc["sections"].append({"key": data["key"], "kind": "tree", "group": "trees",
                                "level": 0, "tree": data})
        return doc

    def binder(self, actor: Actor | None = None) -> dict:
        """The binder of the region, or of one actor: its sections in order."""
        actors = load_actors(actor.id if actor else None)
        ordered = hierarchy(actors) if actor is None else [(a, 0) for a in actors]
        mode = self.mode or (mode_for(actor, self.states) if actor else
                             region_mode(self.states)).mode.value
        title = _("Binder")
        doc = self.base("binder", binder_scope(actor), mode, title)
        doc["scope_name"] = actor.name if actor else None
        doc["demo"] = any(a.is_demo for a in actors)
        on_call = self.on_call(actors)
        trees = load_trees([a.id for a in actors], regional=actor is None)
        trees_by_owner = defaultdict(list)
        for tree in trees:
            trees_by_owner[tree.actor_id].append(self.tree(tree))
        for data in trees_by_owner.pop(None, []):
            doc["sections"].append({"key": data["key"], "kind": "tree", "group": "trees",
                                    "level": 1, "tree": data})
        for row, depth in ordered:
            doc["sections"].append({
                "key": _key(row), "kind": "actor", "group": "actors", "level": 1 + depth,
                "actor": self.actor(row, on_call), "trees": trees_by_owner.get(row.id, []),
            })
        patterns = load_patterns(actor.id if actor else None)
        if patterns:
            doc["sections"].append({"key": "patterns", "kind": "patterns", "group": "patterns",
                                    "level": 0, "patterns": [self.pattern(p) for p in patterns]})
        scenario_ids = None
        if actor is not None:
            scenario_ids = {t.scenario_id for t in trees if t.scenario_id}
            scenario_ids |= {p.scenario_id for p in patterns if p.scenario_id}
        scenarios = load_scenarios(scenario_ids)
        if scenarios:
            doc["sections"].append({"key": "scenarios", "kind": "scenarios",
                                    "group": "scenarios", "level": 0,
                                    "scenarios": [self.scenario(s) for s in scenarios]})
        upcoming = [a["actor"]["review_due"] for a in doc["sections"] if a["kind"] == "actor"]
        upcoming += [t.next_review_on.isoformat() for t in trees if t.next_review_on]
        upcoming = sorted(d for d in upcoming if d and d > self.today.isoformat())
        doc["next_review"] = upcoming[0] if upcoming else None
        return doc

    def directory(self) -> list[dict]:
        """Every actor in hierarchy order with its own and its roles' paths."""
        actors = load_actors(with_persons=False)
        on_call = self.on_call(actors)
        return [dict(self.actor(a, on_call, with_persons=False), depth=depth)
                for a, depth in hierarchy(actors)]


def cadence_text(pattern: CollaborationPattern) -> str:
    """"daily at 09:00, 15:00 (30 min)" from the pattern's RRULE."""
    if not pattern.recurrence:
        return ""
    frequency, weekdays, times = describe_rrule(pattern.recurrence)
    if frequency == "weekly":
        from flask_babel import get_locale

        names = get_locale().days["format"]["wide"]
        days = ", ".join(names[WEEKDAYS.index(d)] for d in weekdays if d in WEEKDAYS)
        text = _("weekly on %(days)s at %(times)s", days=days, times=times)
    else:
        text = _("daily at %(times)s", times=times)
    return f"{text} ({_('%(min)d min', min=pattern.duration_minutes)})"


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
            left_out_hidden: bool = False) -> dict | None:
    """What changed since the previous revision, grouped by section, for the front page.

    `left_out_hidden`: the new document was built for this user, so the
    confidential entries they may not see are missing from it, not removed.
    """
    if previous is None:
        return None
    old = previous.snapshot
    old_entries = old.get("entries", {})
    titles = section_titles(doc)
    old_titles = old.get("sections", {})
    order = {key: n for n, key in enumerate(titles)}
    replace, details = set(), defaultdict(list)
    removed_sections = [title for key, title in old_titles.items() if key not in titles]

    def note(what, key, entry, fields=(), before=None):
        sections = [s for s in entry["sections"] if s in titles]
        replace.update(sections)
        home = sections[0] if sections else None
        # Confidential in either revision: the old number may be a private
        # mobile even when the new one is not.
        if not all(_may_see_private(e, user) for e in (entry, before) if e is not None):
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
            if (left_out_hidden and not _may_see_private(entry, user)
                    and set(entry["sections"]) <= set(before["sections"])):
                continue  # shown to this reader only where a call tree discloses it
            note("changed", key, entry, [_("now also printed in other sections")])
    for key, entry in old_entries.items():
        if key not in entries and not (left_out_hidden and not _may_see_private(entry, user)):
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
    return {
        "previous": {"number": previous.number, "printed_at": previous.printed_at.isoformat(),
                     "printed_by": (printed_by.name or printed_by.email) if printed_by else None},
        "previous_pages": old.get("pages", {}),
        "replace": [(key, titles[key]) for key in sorted(replace, key=order.get)],
        "removed_sections": removed_sections,
        "details": shown,
        "more": total - lines,
    }


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
            return dict(value, value=hidden, display=hidden, tel=None, pin="", masked=True)
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
        "valid_from": printed_at.astimezone(_tz()).date().isoformat(),
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


def record_revision(actor: Actor | None, user, mode: str | None, at: datetime | None):
    """Build the binder, number it, render it once for its page map, and store it.

    Flushes, does not commit. Two coordinators printing at the same moment
    collide on (scope, number): the later one gets an IntegrityError.
    """
    doc = Builder(user, at, mode).binder(actor)
    entries = document_entries(doc)
    scope = binder_scope(actor)
    previous = latest_revision(scope)
    number = previous.number + 1 if previous else 1
    title = f"{doc['title']} – {doc.get('scope_name') or _('Region')}"
    revision = PrintRevision(scope=scope, number=number, printed_at=utcnow(),
                             printed_by_id=user.id, title=title[:300])
    meta = binder_meta(doc, revision_label(revision), revision.printed_at, user_name(user))
    _pdf, pages = pdf.render_pdf(doc, meta, compare(previous, doc, entries, user,
                                                    left_out_hidden=True))
    revision.snapshot = {"format": FORMAT, "document": doc, "entries": entries,
                         "sections": section_titles(doc), "pages": pages}
    db.session.add(revision)
    db.session.flush()
    return revision


def render_revision(revision: PrintRevision, user) -> bytes:
    """A recorded revision's PDF, from its snapshot, as this user may see it."""
    snapshot = revision.snapshot
    doc = mask_private(snapshot["document"], user)
    previous = latest_revision(revision.scope, before=revision.number)
    changes = compare(previous, doc, snapshot["entries"], user)
    meta = binder_meta(doc, revision_label(revision), revision.printed_at,
                       user_name(revision.printed_by))
    content, _pages = pdf.render_pdf(doc, meta, changes)
    return content


# --- Views --------------------------------------------------------------------------


def _pdf_response(content: bytes, name: str) -> FlaskResponse:
    filename = (slugify(name) or "kontaktvagar")[:80] + ".pdf"
    return current_app.response_class(
        content, mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _live_tree(tree_id: int) -> CallTree:
    tree = calltrees.load_tree(tree_id)
    if tree is None or tree.deleted_at is not None:
        abort(404)
    return tree


def _live_actor(slug: str) -> Actor:
    actor = db.session.scalar(select(Actor).where(Actor.slug == slug,
                                                  Actor.deleted_at.is_(None)))
    if actor is None:
        abort(404)
    return actor


def _actor_param() -> Actor | None:
    slug = request.args.get("actor", "").strip()
    return _live_actor(slug) if slug else None


def _print_context(builder: "Builder", title: str, scope: str, head: dict) -> dict:
    """What every print view's header and footer show (and the moment asked for)."""
    return {
        "title": title, "scope": scope, "head": head, "w": pdf,
        "doc": {"at": builder.at.isoformat() if builder.at else None},
        "marking": current_app.config["SENSITIVITY_MARKING"],
        "printed_at": utcnow().isoformat(), "printed_by": user_name(current_user),
        "today": local_today(),
    }


def _tree_meta(tree: dict) -> dict:
    return {
        "title": tree["name"], "scope": tree["owner"] or _("Regional"),
        "revision": _("call tree revision %(n)s", n=tree["revision"]),
        "valid_from": tree["valid_from"], "next_review": tree["next_review"],
        "printed_at": utcnow().isoformat(), "printed_by": user_name(current_user),
        "marking": current_app.config["SENSITIVITY_MARKING"],
        "today": local_today().isoformat(),
        "mode_band": tree["mode"],
    }


@bp.get("/calltrees/<int:tree_id>/print")
def tree_print(tree_id):
    """A call tree for paper: every node with its numbers and a box for the call time."""
    builder = Builder(at=parse_at(request.args.get("at")))
    tree = builder.tree_document(_live_tree(tree_id))["sections"][0]["tree"]
    head = {"mode": tree["mode"], "scenario": tree["scenario"],
            "revision": _("call tree revision %(n)s", n=tree["revision"]),
            "valid_from": tree["valid_from"], "next_review": tree["next_review"]}
    return render_template("printing/tree.html", tree=tree, tree_id=tree_id,
                           **_print_context(builder, tree["name"],
                                            tree["owner"] or _("Regional"), head))


@bp.get("/calltrees/<int:tree_id>.pdf")
def tree_pdf(tree_id):
    """A call tree as an A4 PDF (who is on call for ?at=, else the rotation members)."""
    at = parse_at(request.args.get("at"))
    doc = Builder(at=at).tree_document(_live_tree(tree_id))
    tree = doc["sections"][0]["tree"]
    content, _pages = pdf.render_pdf(doc, _tree_meta(tree))
    return _pdf_response(content, tree["name"])


@bp.get("/actors/<slug>/print")
def actor_print(slug):
    """An actor's contact sheet for paper: paths for the mode, roles, persons."""
    actor = _live_actor(slug)
    builder = Builder(at=parse_at(request.args.get("at")),
                      mode=parse_mode(request.args.get("mode")))
    (row,) = load_actors(actor.id)
    data = builder.actor(row, builder.on_call([row]))
    scenario = region_mode(builder.states).scenario
    head = {"mode": data["mode"], "scenario": scenario.name if scenario else None,
            "revision": _("contact sheet"), "valid_from": local_today().isoformat(),
            "next_review": data["review_due"]}
    return render_template("printing/actor.html", actor=data,
                           **_print_context(builder, data["name"], _("Contact sheet"), head))


@bp.get("/print/directory")
def directory_print():
    """The whole directory for paper: actors by hierarchy, their own and roles' numbers."""
    builder = Builder(at=parse_at(request.args.get("at")),
                      mode=parse_mode(request.args.get("mode")))
    actors = builder.directory()
    state = region_mode(builder.states)
    head = {"mode": builder.mode or state.mode.value,
            "scenario": state.scenario.name if state.scenario else None,
            "revision": _("directory listing"), "valid_from": local_today().isoformat(),
            "next_review": None}
    return render_template("printing/directory.html", actors=actors,
                           **_print_context(builder, _("Directory"), _("Region – all actors"),
                                            head))


@bp.get("/print/print.css")
def stylesheet():
    """The print views' style sheet (A4, black on white)."""
    return current_app.response_class(render_template("printing/print.css"),
                                      mimetype="text/css")


class RevisionForm(Form):
    mode = SelectField(_l("Mode"), choices=[SelectChoice("", _l("The mode in force")),
                                           SelectChoice("ordinary", _l("Ordinary mode")),
                                           SelectChoice("activated", _l("Activated mode"))],
                       default="", validators=[Optional()])
    at = DateField(_l("On call as of (date, optional)"), validators=[Optional()])
    submit = SubmitField(_l("Print a new revision"))


def may_record(actor: Actor | None) -> bool:
    """Coordinators record the regional binder; an actor's editors their actor's."""
    return is_admin(current_user) if actor is None else can_edit(current_user, actor)


@bp.get("/binder")
def binder():
    """The binder: preview it, print a new revision, or download an earlier one."""
    actor = _actor_param()
    scope = binder_scope(actor)
    revisions = db.session.scalars(
        select(PrintRevision).where(PrintRevision.scope == scope)
        .options(selectinload(PrintRevision.printed_by), defer(PrintRevision.snapshot))
        .order_by(PrintRevision.number.desc())
    ).all()
    actors = db.session.execute(
        select(Actor.name, Actor.slug).where(Actor.deleted_at.is_(None))).all()
    actors.sort(key=lambda a: swedish_sort_key(a.name))
    return render_template("printing/binder.html", actor=actor, revisions=revisions,
                           actors=actors, may_record=may_record(actor), form=RevisionForm())


@bp.get("/binder.pdf")
def binder_pdf():
    """Preview the binder as a PDF (?actor=, ?mode=, ?at=); records nothing."""
    actor = _actor_param()
    builder = Builder(at=parse_at(request.args.get("at")),
                      mode=parse_mode(request.args.get("mode")))
    doc = builder.binder(actor)
    latest = latest_revision(binder_scope(actor))
    changes = compare(latest, doc, document_entries(doc), current_user, left_out_hidden=True)
    meta = binder_meta(doc, preview_label(latest), utcnow(), user_name(current_user))
    content, _pages = pdf.render_pdf(doc, meta, changes)
    return _pdf_response(content, f"{doc['title']} {doc.get('scope_name') or ''} preview")


def _record(actor: Actor | None):
    if not may_record(actor):
        abort(403)
    form = RevisionForm()
    if not form.validate_on_submit():
        abort(400)
    at = parse_at(form.at.data.isoformat() if form.at.data else None)
    mode = parse_mode(form.mode.data)
    try:
        revision = record_revision(actor, current_user, mode, at)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        flash(_("Someone printed a revision of this binder at the same moment. "
                "Look at it below, then print again if needed."), "error")
        return redirect(url_for("printing.binder", actor=actor.slug if actor else None))
    current_app.logger.info("binder %s revision %d recorded by user %s", revision.scope,
                            revision.number, current_user.id)
    return redirect(url_for("printing.revision_pdf", revision_id=revision.id), 303)


@bp.post("/binder/revisions")
def binder_record():
    """Print a new revision of the regional binder (coordinators)."""
    return _record(None)


@bp.post("/actors/<slug>/binder/revisions")
def actor_binder_record(slug):
    """Print a new revision of one actor's binder (its editors and coordinators)."""
    return _record(_live_actor(slug))


@bp.get("/binder/revisions/<int:revision_id>.pdf")
def revision_pdf(revision_id):
    """A recorded binder revision, exactly as printed (confidential numbers masked)."""
    revision = db.session.get(PrintRevision, revision_id)
    if revision is None or not revision.scope.startswith(REGIONAL_SCOPE):
        abort(404)
    content = render_revision(revision, current_user)
    return _pdf_response(content, f"{revision.title} {revision.number}")
