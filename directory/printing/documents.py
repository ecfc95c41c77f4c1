"""Printed documents as plain data: options, loading and building.

Everything printed is first built as a *document*: plain data (dicts, lists,
strings) made from one data load, with confidential numbers already left out
by `security.visible`. The HTML print views and the PDF layout (`pdf`) both
render documents, so screen and paper say the same, and a document can be
stored as it was printed (`binder`).

Read top to bottom: options, loading, building documents.
"""

from collections import defaultdict
from contextlib import suppress
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import abort, current_app
from flask_babel import gettext as _
from flask_login import current_user
from phonenumbers import NumberParseException
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from directory.calltrees import rules as calltrees
from directory.core import escalations
from directory.core.extensions import db
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
    Role,
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
from directory.core.security import visible
from directory.core.text import swedish_sort_key
from directory.core.verification import reads_statuses_once, status_of
from directory.review.rules import review_due_at, tree_target_loads

FORMAT = 1  # of stored snapshots
MODES = ("ordinary", "activated")
REGIONAL_SCOPE = "binder"

# --- Options: scope, mode and the moment for who is on call ------------------------


def local_zone() -> ZoneInfo:
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
    return utcnow().astimezone(local_zone()).date()


# --- Loading: everything a binder shows, in a fixed number of queries ---------------


def load_actors(actor_id: int | None = None, with_persons: bool = True) -> list[Actor]:
    """Live actors (or one) with their paths, roles, rotations and persons."""
    options = [
        selectinload(Actor.parent),
        selectinload(Actor.contact_points),
        selectinload(Actor.roles).selectinload(Role.contact_points),
        selectinload(Actor.roles).selectinload(Role.rotations).selectinload(Rotation.members)
        .selectinload(RotationMember.person),
        *[selectinload(Actor.roles).options(load) for load in escalations.loads()],
    ]
    if with_persons:
        options.append(selectinload(Actor.persons).selectinload(Person.contact_points))
    query = select(Actor).where(Actor.deleted_at.is_(None)).options(*options)
    if actor_id is not None:
        query = query.where(Actor.id == actor_id)
    return list(db.session.scalars(query).all())


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
    nodes = selectinload(CallTree.nodes)
    # who is on call for a role a step or an alternate calls
    on_call = [parent.selectinload(owner.target_role).selectinload(Role.rotations)
               .selectinload(Rotation.members).selectinload(RotationMember.person)
               for parent, owner in ((nodes, CallTreeNode),
                                     (nodes.selectinload(CallTreeNode.alternates),
                                      CallTreeAlternate))]
    trees = db.session.scalars(
        select(CallTree)
        .where(CallTree.deleted_at.is_(None), or_(*owners))
        .options(
            selectinload(CallTree.actor),
            selectinload(CallTree.scenario),
            *tree_target_loads(),
            *on_call,
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


def escalation_rows(role: Role, user, states) -> list[dict]:
    """A role's escalation as printed: minutes, whom, and the first number this reader may see."""
    rows = []
    for step in escalations.chain_for_print(role, states):
        seen = visible(step["phones"], user)
        row = {"minutes": step["minutes"], "label": step["label"], "number": None,
               "hidden": bool(step["phones"]) and not seen}
        if seen:
            # Keyed and marked like any printed path, so a recorded revision masks
            # it for a holder who may not see it (binder.mask_private).
            row.update(number=_readable(seen[0].value, current_app.config["DEFAULT_REGION"]),
                       key=_key(seen[0]), confidential=bool(seen[0].confidential),
                       actor_id=seen[0].owning_actor_id)
        rows.append(row)
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
        self.tz = local_zone()
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

    @reads_statuses_once
    def tree_document(self, tree: CallTree) -> dict:
        doc = self.base("tree", _key(tree), tree.mode.value, tree.name)
        data = self.tree(tree)
        doc["scenario"] = data["scenario"]
        doc["sections"].append({"key": data["key"], "kind": "tree", "group": "trees",
                                "level": 0, "tree": data})
        return doc

    @reads_statuses_once
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

    @reads_statuses_once
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
