"""Call-outs: a call tree run for real ("Larm: snö/halka") or as a drill, and its log.

Every outcome of a step goes through `record_step_outcome`, the one door:
the pages, drills and tests use it, and checks added later (such as
verifying the contact path) belong in it. A mark is a row of its own,
appended and never changed, so two people marking the same call-out at once
both keep their marks; a step's state is its latest mark.

Time is read from `now()`: the app's `CLOCK` setting when given (a callable
answering an aware UTC moment; the tests move it instead of sleeping),
otherwise the real clock. Escalation timers are computed from it.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.calltrees import rules as calltrees
from directory.core.extensions import db
from directory.core.models import (
    CallOut,
    CallOutKind,
    CallOutMark,
    CallTree,
    CallTreeNode,
    CheckSource,
    ContactPoint,
    StepOutcome,
    utcnow,
)
from directory.core.numbers import display_phone
from directory.core.verification import record_call


class CallOutError(ValueError):
    """A mark or change the call-out cannot take; the message says why."""


def now() -> datetime:
    """The moment as the app's clock tells it (`CLOCK`, else the real one)."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock is not None else utcnow()


# --- Starting, marking, closing ----------------------------------------------------


def start_callout(tree: CallTree, user, *, title: str, kind: CallOutKind = CallOutKind.REAL,
                  at: datetime | None = None) -> CallOut:
    """Start calling out `tree` now (or at `at`), under a title everyone will see."""
    title = " ".join((title or "").split())
    if not title:
        raise CallOutError("a call-out needs a title")
    if tree.deleted_at is not None:
        raise CallOutError("the call tree is deleted")
    callout = CallOut(call_tree=tree, kind=kind, title=title[:300],
                      started_by_id=user.id if user else None,
                      started_at=(at or now()).replace(microsecond=0))  # the log keeps seconds
    db.session.add(callout)
    db.session.flush()
    return callout


def step_paths(node: CallTreeNode) -> list[tuple[object, ContactPoint]]:
    """(target, path) pairs one may use for a step: its own, then its alternates'.

    Paths for the tree's mode, in PACE order, as the tree shows them.
    """
    from directory.core.modes import paths_for_mode

    targets = [node.target, *(a.target for a in node.alternates)]
    return [(target, point) for target in targets if target is not None
            for point in paths_for_mode(target.contact_points, node.tree.mode)[0]]


def path_text(point: ContactPoint) -> str:
    """A path as the log keeps it: the number as people read it, and its kind."""
    value = display_phone(point.value) if point.kind.is_phone else point.value
    return f"{value} ({point.label or point.kind.value})"


# What a step's outcome says about the number used (a message left says neither).
_VERIFIES = {StepOutcome.REACHED: True, StepOutcome.NO_ANSWER: False}


def record_step_outcome(callout: CallOut, node: CallTreeNode, outcome: StepOutcome,
                        path: ContactPoint | None, at: datetime | None, user,
                        note: str = "") -> CallOutMark:
    """Record what came of calling a step: the one function every mark goes through.

    Appends a mark (never changes one). `path` is the contact path used, one
    of the step's or its alternates' paths for the tree's mode (None for "not
    called", or for a step that has no path at all); `at` is when the call
    was made, to the second (now if None).
    """
    if callout.closed_at is not None:
        raise CallOutError("the call-out is closed")
    if node.tree_id != callout.call_tree_id or node.deleted_at is not None:
        raise CallOutError("the step belongs to another call tree")
    outcome = StepOutcome(outcome)
    target = node.target
    candidates = step_paths(node)
    if path is not None:
        used = next(((t, p) for t, p in candidates if p.id == path.id), None)
        if used is None:
            raise CallOutError("that path is not one of this step's")
        target = used[0]
    elif outcome is not StepOutcome.NOT_CALLED and candidates:
        raise CallOutError("say which path was used")
    at = (at or now()).replace(microsecond=0)
    if at < callout.started_at.replace(microsecond=0):
        raise CallOutError("a call cannot be made before the call-out started")
    mark = CallOutMark(
        callout_id=callout.id, node_id=node.id, outcome=outcome, at=at,
        path_id=path.id if path is not None else None,
        target_label=calltrees.target_label(target)[:300],
        path_text=path_text(path)[:300] if path is not None else "",
        note=(note or "")[:300], marked_by_id=user.id if user else None, marked_at=now(),
    )
    db.session.add(mark)
    db.session.flush()
    if outcome in _VERIFIES:
        # A number that reached someone is verified; one that rang out is flagged.
        source = CheckSource.DRILL if callout.kind == CallOutKind.DRILL else CheckSource.CALL_OUT
        record_call(path, _VERIFIES[outcome], at, source, user)
    return mark


def close_callout(callout: CallOut, user, at: datetime | None = None) -> None:
    """Close the call-out: its log is kept, as it stands, as the record."""
    if callout.closed_at is not None:
        return
    callout.closed_at = max(at or now(), callout.started_at)
    callout.closed_by_id = user.id if user else None
    db.session.flush()


def load_callout(callout_id: int) -> CallOut | None:
    return db.session.scalar(
        select(CallOut).where(CallOut.id == callout_id).options(
            selectinload(CallOut.started_by), selectinload(CallOut.call_tree)))


def marks_of(callout: CallOut) -> list[CallOutMark]:
    """Every mark of the call-out as stored now, in the order the calls were made.

    Read from the database, not from a collection loaded earlier: marks made
    meanwhile by others (or by `record_step_outcome`, which only adds rows)
    are all there.
    """
    return list(db.session.scalars(
        select(CallOutMark).where(CallOutMark.callout_id == callout.id)
        .options(selectinload(CallOutMark.marked_by))
        .order_by(CallOutMark.at, CallOutMark.id)).all())


def open_callouts() -> list[CallOut]:
    """Call-outs under way, newest first: what everyone signed in is shown."""
    return list(db.session.scalars(
        select(CallOut).where(CallOut.closed_at.is_(None))
        .options(selectinload(CallOut.call_tree))
        .order_by(CallOut.started_at.desc(), CallOut.id.desc())).all())


# --- Where each step stands ------------------------------------------------------


@dataclass
class Escalation:
    """"No answer within N min → call X": when it falls due, and whom it names."""

    label: str
    due_at: datetime
    minutes: int


@dataclass
class StepState:
    item: calltrees.ResolvedNode
    number: str  # "1.2.1", as printed
    marks: list[CallOutMark] = field(default_factory=list)
    callable_since: datetime | None = None
    escalations: list[Escalation] = field(default_factory=list)

    @property
    def node(self) -> CallTreeNode:
        return self.item.node

    @property
    def latest(self) -> CallOutMark | None:
        return self.marks[-1] if self.marks else None

    @property
    def outcome(self) -> StepOutcome:
        return self.latest.outcome if self.latest else StepOutcome.NOT_CALLED

    @property
    def reached_at(self) -> datetime | None:
        return next((m.at for m in self.marks if m.outcome is StepOutcome.REACHED), None)

    def due(self, at: datetime) -> list[Escalation]:
        """The escalations that have fallen due by `at` (none once reached)."""
        if self.reached_at is not None:
            return []
        return [e for e in self.escalations if e.due_at <= at]

    def upcoming(self, at: datetime) -> Escalation | None:
        if self.reached_at is not None:
            return None
        return next((e for e in self.escalations if e.due_at > at), None)


def _order(marks: list[CallOutMark]) -> list[CallOutMark]:
    return sorted(marks, key=lambda m: (m.at, m.id))


def step_states(callout: CallOut, tz) -> list[StepState]:
    """Every live step of the call-out's tree, in calling order, with its marks and timers.

    A step can be called from the start (top steps) or once its parent was
    reached (the word is passed down). From then, its own "no answer within N
    min" makes the first alternate due, and each alternate's minutes the next.
    """
    tree = calltrees.load_tree(callout.call_tree_id)
    resolved = calltrees.resolve_tree(tree, callout.started_at, tz)
    by_node: dict[int, list[CallOutMark]] = {}
    for mark in marks_of(callout):
        by_node.setdefault(mark.node_id, []).append(mark)
    states: list[StepState] = []

    def walk(items, prefix: str, parent: StepState | None) -> None:
        for index, item in enumerate(items, start=1):
            number = f"{prefix}{index}"
            state = StepState(item, number, _order(by_node.get(item.node.id, [])))
            state.callable_since = (callout.started_at if parent is None
                                    else parent.reached_at)
            minutes = item.node.escalate_after_minutes
            if state.callable_since is not None and minutes is not None:
                due = state.callable_since + timedelta(minutes=minutes)
                for position, alternate in enumerate(item.alternates):
                    state.escalations.append(Escalation(alternate.label, due, minutes))
                    minutes = alternate.escalate_after_minutes or 0
                    due = due + timedelta(minutes=minutes)
                    if position + 1 >= len(item.alternates):
                        break
            states.append(state)
            walk(item.children, f"{number}.", state)

    walk(resolved, "", None)
    return states


def state_json(callout: CallOut, states: list[StepState], at: datetime) -> dict:
    """What the call-out page polls: each step's outcome and its timers, and the clock."""
    steps = []
    for state in states:
        upcoming = state.upcoming(at)
        due = state.due(at)
        steps.append({
            "node": state.node.id,
            "outcome": state.outcome.value,
            "marks": len(state.marks),
            "due": [{"label": e.label, "due_at": e.due_at.isoformat(),
                     "overdue_seconds": int((at - e.due_at).total_seconds())} for e in due],
            "next": None if upcoming is None else {
                "label": upcoming.label, "due_at": upcoming.due_at.isoformat(),
                "in_seconds": int((upcoming.due_at - at).total_seconds())},
        })
    return {"id": callout.id, "open": callout.is_open, "now": at.isoformat(),
            "marks": sum(len(s.marks) for s in states), "steps": steps}


# --- The report and the log --------------------------------------------------------


@dataclass
class Report:
    total: int
    by_outcome: dict[StepOutcome, list[StepState]]
    time_to_reach_all: timedelta | None  # when every step was reached
    slowest: list[tuple[StepState, timedelta]]

    @property
    def reached(self) -> int:
        return len(self.by_outcome[StepOutcome.REACHED])


def report(callout: CallOut, states: list[StepState], slowest_count: int = 3) -> Report:
    """Outcomes by step (each step counted by its latest mark), times to the second."""
    by_outcome = {outcome: [] for outcome in StepOutcome}
    took = []
    for state in states:
        by_outcome[state.outcome].append(state)
        if state.outcome is StepOutcome.REACHED:
            took.append((state, state.reached_at - callout.started_at))
    everyone = len(took) == len(states) and states
    took.sort(key=lambda pair: pair[1], reverse=True)
    return Report(len(states), by_outcome,
                  max(t for _s, t in took) if everyone else None, took[:slowest_count])


def duration_text(delta: timedelta) -> str:
    """`1:02:05` or `12:05`: hours, minutes and seconds, never rounded to minutes."""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def log_rows(callout: CallOut, states: list[StepState], tz) -> list[dict]:
    """Every mark in the order the calls were made: the record of who was reached when."""
    numbers = {s.node.id: (s.number, s.item.reach.label) for s in states}
    rows = []
    for mark in marks_of(callout):
        number, step = numbers.get(mark.node_id, ("–", mark.target_label))
        rows.append({
            "at": mark.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
            "since_start": duration_text(mark.at - callout.started_at),
            "step": number, "step_label": step, "called": mark.target_label or step,
            "outcome": mark.outcome, "path": mark.path_text, "note": mark.note,
            "marked_by": (mark.marked_by.name or mark.marked_by.email) if mark.marked_by
            else "–",
            "marked_at": mark.marked_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
        })
    return rows
