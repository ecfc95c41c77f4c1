"""The mode in force: ordinary or activated, for the region or one actor.

An actor follows its own mode state when it has one, else its parent's,
else the region's. Every page, search result and export asks here, so they
all agree on which contact paths come first.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CallTree,
    ContactPoint,
    Mode,
    ModeChange,
    ModeState,
    PathMode,
    Scenario,
    utcnow,
)


@dataclass(frozen=True)
class ModeInForce:
    mode: Mode
    scope: str  # "region" or "actor:<id>"
    since: datetime | None = None
    reason: str = ""
    scenario: Scenario | None = None

    @property
    def is_activated(self) -> bool:
        return self.mode is Mode.ACTIVATED


ORDINARY = ModeInForce(Mode.ORDINARY, "region")


def _as_view(state: ModeState | None) -> ModeInForce | None:
    if state is None:
        return None
    return ModeInForce(state.mode, state.scope, state.since, state.reason, state.scenario)


_KEPT = "_mode_states"  # in `g`: (the request, its read), until its session writes


def mode_states() -> dict[str, ModeInForce]:
    """Every scope's state, in one query (there are few).

    Read once per request: the mode banner, the page and its parts (an
    escalation, the way in) ask in turn, and all of them must agree. Any write,
    commit or rollback of a session forgets it (`_forget_states`), so a
    request that switches a mode reads the new one. Outside a request (the
    command line, a test's own code) it is read each time.
    """
    asking = request._get_current_object() if has_request_context() else None
    kept = g.get(_KEPT) if asking is not None else None
    if kept is not None and kept[0] is asking:
        return kept[1]
    states = db.session.scalars(
        select(ModeState).options(selectinload(ModeState.scenario))
    ).all()
    found = {state.scope: _as_view(state) for state in states}
    if asking is not None:
        setattr(g, _KEPT, (asking, found))
    return found


def _forget_states(*_args) -> None:
    if has_app_context():
        g.pop(_KEPT, None)


def _forget_states_on_write(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _forget_states()


for _name, _hook in (("after_flush", _forget_states), ("after_commit", _forget_states),
                     ("after_rollback", _forget_states),
                     ("after_soft_rollback", _forget_states),
                     ("do_orm_execute", _forget_states_on_write)):
    event.listen(Session, _name, _hook)


def region_mode(states: dict[str, ModeInForce] | None = None) -> ModeInForce:
    states = mode_states() if states is None else states
    return states.get("region") or ORDINARY


def mode_for(actor: Actor | None, states: dict[str, ModeInForce] | None = None) -> ModeInForce:
    """The mode in force for an actor: its own, its parent's, or the region's.

    Works from ids alone, so asking for many actors costs no queries.
    """
    states = mode_states() if states is None else states
    if actor is not None:
        for actor_id in (actor.id, actor.parent_id):
            if actor_id is not None and f"actor:{actor_id}" in states:
                return states[f"actor:{actor_id}"]
    return region_mode(states)


def paths_for_mode(points, mode: Mode) -> tuple[list[ContactPoint], list[ContactPoint]]:
    """Live paths in PACE order: those that apply in `mode`, then the others.

    At the same PACE step, a path made for this mode comes before one that
    applies in both: in activated mode the staff number beats the 24/7 one.
    """
    live = sorted(
        (p for p in points if p.deleted_at is None),
        key=lambda p: (p.priority, PathMode(p.mode) is PathMode.BOTH, p.id),
    )
    applies = [p for p in live if PathMode(p.mode).applies_in(mode)]
    others = [p for p in live if not PathMode(p.mode).applies_in(mode)]
    return applies, others


def actors_apart(states: dict[str, ModeInForce] | None = None) -> list[Actor]:
    """Live actors with a mode of their own that differs from the region's, by name:
    the banner names them, so an ordinary day with one municipality activated
    does not read as an ordinary day."""
    states = mode_states() if states is None else states
    region = region_mode(states).mode
    ids = [int(scope.split(":")[1]) for scope, state in states.items()
           if scope.startswith("actor:") and state.mode is not region]
    if not ids:
        return []
    actors = db.session.scalars(
        select(Actor).where(Actor.id.in_(ids), Actor.deleted_at.is_(None))).all()
    return sorted(actors, key=lambda a: a.name.casefold())


@dataclass(frozen=True)
class SwitchPreview:
    """What follows when the whole region switches: said before it is done."""

    mode: Mode
    following: int  # actors that will be in `mode`: they follow the region
    apart: list[Actor]  # actors keeping a mode of their own (they do not follow)
    trees: list[CallTree]  # the regional call trees for `mode`, the best match first


def preview_region_switch(mode: Mode, scenario: Scenario | None) -> SwitchPreview:
    states = mode_states()
    actors = db.session.scalars(select(Actor).where(Actor.deleted_at.is_(None))).all()
    apart = [a for a in actors if mode_for(a, states).scope != "region"]
    trees = db.session.scalars(select(CallTree).where(
        CallTree.deleted_at.is_(None), CallTree.actor_id.is_(None), CallTree.mode == mode)).all()
    scenario_id = scenario.id if scenario else None
    trees = sorted(trees, key=lambda t: (t.scenario_id != scenario_id, t.name, t.id))
    return SwitchPreview(mode, len(actors) - len(apart),
                         sorted(apart, key=lambda a: a.name.casefold()), trees)


class ModeError(ValueError):
    """A mode switch that cannot be made; the message says why."""


def switch_mode(
    actor: Actor | None, mode: Mode, *, reason: str, user, scenario: Scenario | None = None
) -> ModeChange:
    """Switch the region (actor None) or one actor, and log who, when and why.

    An actor switched back to ordinary follows the region again: its own
    state is removed, so a later regional activation reaches it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ModeError("Say why the mode changes.")
    scope = "region" if actor is None else f"actor:{actor.id}"
    state = db.session.scalar(select(ModeState).where(ModeState.scope == scope))
    before = state.mode if state else (
        Mode.ORDINARY if actor is None else mode_for(actor).mode
    )
    now = utcnow()
    if actor is not None and mode is Mode.ORDINARY:
        if state is not None:
            db.session.delete(state)
    else:
        if state is None:
            state = ModeState(scope=scope, actor_id=actor.id if actor else None)
            db.session.add(state)
        state.mode, state.since, state.reason = mode, now, reason
        state.scenario_id = scenario.id if scenario else None
        state.changed_by_id = user.id if user else None
    change = ModeChange(
        scope=scope,
        actor_id=actor.id if actor else None,
        from_mode=before,
        to_mode=mode,
        scenario_id=scenario.id if scenario else None,
        reason=reason,
        changed_by_id=user.id if user else None,
        changed_at=now,
    )
    db.session.add(change)
    db.session.flush()
    return change
