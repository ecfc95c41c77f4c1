"""A role's own escalation: "no answer within N minutes → call this", in steps.

Outside call trees, a duty role may say whom to call when it does not
answer: another role (its on-call person), a person, or an actor's
switchboard, each after some minutes, in order. The role's editors keep it
(`security.can_edit_escalation`); `set_steps` is the one way to change it and
refuses a cycle (TiB → VB → TiB) before anything is written. A step whose
target has no phone path for the mode in force is a dead end: warned about
on save, on the role page and on `/review`, as call trees' are.

`escalation_data(role)` is the plain-data form for the JSON API; `chain()`
resolves the steps for a page (who is on call, the numbers for the mode).
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.core.entries import check_version
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    ContactKind,
    ContactPoint,
    Person,
    Role,
    RoleEscalationStep,
    utcnow,
)
from directory.core.modes import mode_for, mode_states, paths_for_mode

MAX_STEPS = 4
MAX_MINUTES = 1440


class EscalationError(ValueError):
    """A change that would make the escalation go round in a circle, or point nowhere."""


# --- Targets as form values ----------------------------------------------------------


def target_label(target) -> str:
    if isinstance(target, Role):
        return f"{target.short_name or target.name} – {target.actor.name}"
    if isinstance(target, Person):
        return f"{target.name} ({target.actor.name})"
    return _("%(actor)s, switchboard", actor=target.name)


def loads(paths: bool = True) -> list:
    """Options for a query of roles: their escalation steps, the steps' targets and
    the targets' actors, and with `paths` the targets' contact paths (what
    `is_dead_end` and a printed number need), each read for every role at once."""
    steps = selectinload(Role.escalation)
    role = steps.selectinload(RoleEscalationStep.target_role)
    person = steps.selectinload(RoleEscalationStep.target_person)
    actor = steps.selectinload(RoleEscalationStep.target_actor)
    found = [role.selectinload(Role.actor), person.selectinload(Person.actor), actor]
    if paths:
        found += [role.selectinload(Role.contact_points),
                  person.selectinload(Person.contact_points),
                  actor.selectinload(Actor.contact_points)]
    return found


def target_kind(target) -> str:
    return {"Role": "role", "Person": "person", "Actor": "switchboard"}[type(target).__name__]


# --- Rules -------------------------------------------------------------------------


def _role_edges() -> dict[int, list[int]]:
    """Every live role's escalation to other roles, as role id → role ids."""
    rows = db.session.execute(
        select(RoleEscalationStep.role_id, RoleEscalationStep.target_role_id)
        .join(Role, Role.id == RoleEscalationStep.role_id)
        .where(RoleEscalationStep.target_role_id.is_not(None), Role.deleted_at.is_(None))
    ).all()
    edges: dict[int, list[int]] = {}
    for source, target in rows:
        edges.setdefault(source, []).append(target)
    return edges


def find_cycle(start: int, edges: dict[int, list[int]]) -> list[int] | None:
    """The roles of a circle through `start` (start … start), or None."""
    path: list[int] = []
    seen: set[int] = set()

    def visit(node: int) -> list[int] | None:
        for following in edges.get(node, []):
            if following == start:
                return [start, *path, start]
            if following in seen:
                continue
            seen.add(following)
            path.append(following)
            found = visit(following)
            if found:
                return found
            path.pop()
        return None

    return visit(start)


def _phones_for_mode(target, states) -> list[ContactPoint]:
    """The target's phone paths for the mode in force where it belongs."""
    actor = target if isinstance(target, Actor) else target.actor
    mode = mode_for(actor, states).mode
    points = [p for p in paths_for_mode(target.contact_points, mode)[0] if p.kind.is_phone]
    if isinstance(target, Actor):
        points = [p for p in points if p.kind is ContactKind.SWITCHBOARD] or points
    return points


def is_dead_end(target, states=None) -> bool:
    """No phone number at all for the mode in force: nobody can dial this step."""
    return not _phones_for_mode(target, states if states is not None else mode_states())


def set_steps(role: Role, steps: list[tuple[object, int]],
              expected_version: int | None = None) -> list[str]:
    """Replace the role's escalation by `steps` ((target, minutes) in order).

    Refuses (EscalationError, nothing written) a step to the role itself, a
    cycle through other roles, or more than MAX_STEPS; answers the dead ends
    as warnings. The role's version moves on, so a save based on an old
    read of the role is refused (`check_version`).
    """
    check_version(role, expected_version)
    if len(steps) > MAX_STEPS:
        raise EscalationError(_("At most %(num)d steps.", num=MAX_STEPS))
    for target, minutes in steps:
        if target is None or getattr(target, "deleted_at", None) is not None:
            raise EscalationError(_("Choose whom to call."))
        if target is role:
            raise EscalationError(_("A role cannot escalate to itself."))
        if not 0 <= int(minutes) <= MAX_MINUTES:
            raise EscalationError(_("Give minutes between 0 and %(max)d.", max=MAX_MINUTES))
    edges = _role_edges()
    edges[role.id] = [t.id for t, _m in steps if isinstance(t, Role)]
    cycle = find_cycle(role.id, edges)
    if cycle:
        names = {r.id: r for r in db.session.scalars(
            select(Role).where(Role.id.in_(cycle)).options(selectinload(Role.actor)))}
        raise EscalationError(_("That would go round in a circle: %(path)s.", path=" → ".join(
            target_label(names[i]) for i in cycle)))
    role.escalation.clear()
    db.session.flush()
    for position, (target, minutes) in enumerate(steps):
        role.escalation.append(RoleEscalationStep(
            position=position, after_minutes=int(minutes),
            target_role=target if isinstance(target, Role) else None,
            target_person=target if isinstance(target, Person) else None,
            target_actor=target if isinstance(target, Actor) else None))
    role.updated_at = utcnow()  # a new version: the edit form's check sees the change
    db.session.flush()
    states = mode_states()
    return [_("%(target)s has no phone number for the mode in force: a dead end.",
              target=target_label(t)) for t, _m in steps if is_dead_end(t, states)]


# --- Reading ---------------------------------------------------------------------


@dataclass
class ResolvedStep:
    step: RoleEscalationStep
    label: str
    kind: str  # "role", "person" or "switchboard"
    after_minutes: int
    total_minutes: int  # from the first call to this step
    on_call: object | None  # schedules.OnCall for a role
    phones: list[ContactPoint]
    dead_end: bool


def steps_of(role: Role) -> list[RoleEscalationStep]:
    return [s for s in role.escalation if s.target is not None
            and getattr(s.target, "deleted_at", None) is None]


def chain(role: Role, at: datetime, tz: ZoneInfo, states=None) -> list[ResolvedStep]:
    """The role's escalation resolved: whom to call after how long, and their numbers.

    Numbers are the target's phone paths for its mode in force; pages print
    them through the visibility gate like any path.
    """
    from directory.core.schedules import on_call_for_roles

    states = states if states is not None else mode_states()
    steps = steps_of(role)
    roles = [s.target for s in steps if isinstance(s.target, Role)]
    on_call = on_call_for_roles(roles, at, tz) if roles else {}
    resolved, total = [], 0
    for step in steps:
        total += step.after_minutes
        phones = _phones_for_mode(step.target, states)
        resolved.append(ResolvedStep(
            step, target_label(step.target), target_kind(step.target), step.after_minutes,
            total, on_call.get(step.target.id) if isinstance(step.target, Role) else None,
            phones, not phones))
    return resolved


def chain_for_print(role: Role, states=None) -> list[dict]:
    """Minutes, whom and the phone paths for the mode in force of each step (no on-call
    lookup: paper names the role, whose on-call changes after printing)."""
    states = states if states is not None else mode_states()
    return [{"minutes": s.after_minutes, "label": target_label(s.target),
             "phones": _phones_for_mode(s.target, states)} for s in steps_of(role)]


def escalation_data(role: Role, states=None) -> list[dict]:
    """The role's escalation as plain data, for the JSON API (no numbers: those are
    the targets' own paths, read from them under the API's visibility rule).

    `states` (`mode_states()`) read once for a page of roles, else here."""
    steps = steps_of(role)
    if steps and states is None:
        states = mode_states()
    return [{
        "position": step.position + 1,
        "after_minutes": step.after_minutes,
        "target": {"type": target_kind(step.target), "id": step.target.id,
                   "name": target_label(step.target)},
        "dead_end": is_dead_end(step.target, states),
    } for step in steps]


def roles_with_escalation_problems() -> list[tuple[Role, list[str]]]:
    """Live roles whose escalation has a dead end or goes round in a circle (for /review)."""
    roles = db.session.scalars(
        select(Role).join(Role.actor)
        .where(Role.deleted_at.is_(None), Actor.deleted_at.is_(None),
               Role.escalation.any())
        .options(selectinload(Role.actor), *loads())
    ).all()
    states = mode_states()
    edges = _role_edges()
    found = []
    for role in roles:
        problems = [_("%(target)s has no phone number for the mode in force.",
                      target=target_label(s.target))
                    for s in steps_of(role) if is_dead_end(s.target, states)]
        if find_cycle(role.id, edges):
            problems.append(_("The escalation goes round in a circle."))
        if problems:
            found.append((role, problems))
    found.sort(key=lambda pair: (pair[0].actor.name, pair[0].name))
    return found
