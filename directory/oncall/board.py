"""Who is on call for every duty role, now and next: the rows of the board.

One load for all live roles with their actors and paths, one `timelines`
call for who is on call from now over a window, and the mode states once:
the number of queries does not grow with the number of actors. Numbers go
through `visibility.shown`, the same gate the pages use, so a confidential
number reaches only those who may see it; a hidden one is counted, not shown.
"""

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import aliased, joinedload, selectinload

from directory.core import escalations
from directory.core.database import among
from directory.core.escalations import steps_of, target_label
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    ActorKind,
    ContactKind,
    ContactPoint,
    Person,
    Role,
)
from directory.core.modes import ModeInForce, mode_for, mode_states, paths_for_mode
from directory.core.pagecache import MAX_AGE
from directory.core.schedules import next_on_call, outlook, with_rotations
from directory.core.text import fold, swedish_sort_key
from directory.core.visibility import shown

# How far ahead "until when" and "who next" look; a stretch reaching the end
# of the window is shown as lasting at least that long.
WINDOW = timedelta(days=15)

# Paths printed in the primary/alternate columns: the ones one can dial.
DIALLABLE = frozenset(k for k in ContactKind if k.is_phone)


@dataclass
class BoardRow:
    """One duty role on the board (or on the communications list)."""

    actor: Actor
    role: Role
    mode: ModeInForce
    person: Person | None  # on call now; None is a gap
    until: datetime | None  # when the current stretch ends
    until_open: bool  # the stretch lasts beyond the window
    next_person: Person | None
    next_known: bool  # False when nothing changes within the window
    phones: list[ContactPoint] = field(default_factory=list)  # visible, for the mode
    talk_groups: list[ContactPoint] = field(default_factory=list)
    hidden: int = 0  # numbers for the mode this reader may not see
    switchboard: ContactPoint | None = None  # the actor's, for the mode (visible)
    escalation: list[tuple[int, str]] = field(default_factory=list)  # (minutes, whom)

    @property
    def is_gap(self) -> bool:
        return self.person is None

    @property
    def activated(self) -> bool:
        return self.mode.is_activated

    @property
    def primary(self) -> ContactPoint | None:
        return self.phones[0] if self.phones else None

    @property
    def alternate(self) -> ContactPoint | None:
        """The role's second number, else the actor's switchboard (ask for the role)."""
        if len(self.phones) > 1:
            return self.phones[1]
        if self.switchboard is not None and self.switchboard is not self.primary:
            return self.switchboard
        return None


@dataclass(frozen=True)
class Filters:
    """The board's query arguments, read and checked."""

    kind: ActorKind | None = None
    place: str = ""

    @property
    def args(self) -> dict:
        found = {}
        if self.kind is not None:
            found["kind"] = self.kind.value
        if self.place:
            found["place"] = self.place
        return found


class FilterError(ValueError):
    """A query argument the board cannot read; the message says why."""


def read_filters(args) -> Filters:
    """`?kind=police&place=haninge`; an unknown kind is refused with a reason."""
    kind = (args.get("kind") or "").strip()
    place = " ".join((args.get("place") or "").split())[:100]
    if kind:
        try:
            return Filters(ActorKind(kind), place)
        except ValueError:
            raise FilterError(kind) from None
    return Filters(None, place)


def _roles_in_place(folded: str, *where) -> list[int]:
    """Roles whose actor is named with the place, in its own or its parent's names.

    Actors carry their place in their names ("Haninge kommun", "FRG
    Haninge", "Lokalpolisområde Haninge/Nynäshamn"), and local actors sit
    under the municipality or agency they belong to. Read as names alone,
    before anything else is loaded: a place is a small part of the region.
    """
    parent = aliased(Actor)
    rows = db.session.execute(
        select(Role.id, Actor.name, Actor.short_name, parent.name, parent.short_name)
        .join(Role.actor)
        .outerjoin(parent, (parent.id == Actor.parent_id) & parent.deleted_at.is_(None))
        .where(*where)
    ).all()
    return [role_id for role_id, *names in rows
            if any(folded in fold(name) for name in names if name)]


def _where(filters: Filters) -> list:
    where = [Role.deleted_at.is_(None), Actor.deleted_at.is_(None)]
    if filters.kind is not None:
        where.append(Actor.kind == filters.kind)
    if filters.place:
        where.append(among(Role.id, _roles_in_place(fold(filters.place), *where)))
    return where


def load_roles(filters: Filters, role_ids: list[int] | None = None) -> list[Role]:
    """Live roles of live actors that pass the filters, with what the board reads;
    or, given `role_ids`, those roles: a page the filters chose in this request
    (the place's names are read once, not again for the page)."""
    if role_ids is None:
        where = _where(filters)
    else:
        where = [among(Role.id, role_ids), Role.deleted_at.is_(None), Actor.deleted_at.is_(None)]
    query = (
        select(Role)
        .join(Role.actor)
        .where(*where)
        .options(
            # the actor in the same statement (one per role); `mode_for` reads
            # only its parent's id, so the parent is not loaded
            joinedload(Role.actor).selectinload(Actor.contact_points),
            selectinload(Role.contact_points),
            # a page's dozen rotations with their members and persons in one
            # statement, not three
            with_rotations(),
            *escalations.loads(paths=False),
        )
    )
    return list(db.session.scalars(query).all())


def escalation_lines(role: Role) -> list[tuple[int, str]]:
    """"(10, 'VB – Haninge kommun')": each step's minutes and whom it calls."""
    return [(step.after_minutes, target_label(step.target)) for step in steps_of(role)]


def _paths(role: Role, mode: ModeInForce) -> tuple[list, list, int]:
    """The numbers and talk groups for the mode this reader may see, and how
    many numbers they may not: a hidden e-mail address is no hidden number."""
    applies, _others = paths_for_mode(role.contact_points, mode.mode)
    phones, groups, hidden = [], [], 0
    for point in applies:
        kind = ContactKind(point.kind)
        if not shown(point):
            hidden += kind in DIALLABLE
        elif kind in DIALLABLE:
            phones.append(point)
        elif kind is ContactKind.RAKEL_GROUP:
            groups.append(point)
    return phones, groups, hidden


def actor_switchboard(actor: Actor, mode: ModeInForce) -> ContactPoint | None:
    """The actor's first switchboard path for the mode that this reader may see."""
    applies, _others = paths_for_mode(actor.contact_points, mode.mode)
    return next((p for p in applies
                 if ContactKind(p.kind) is ContactKind.SWITCHBOARD and shown(p)), None)


def _order(activated: bool, actor_name: str, role_name: str, role_id: int) -> tuple:
    """The board's order: activated actors first, then actor and role by name."""
    return (not activated, swedish_sort_key(actor_name), swedish_sort_key(role_name), role_id)


def _activated(states: dict[str, ModeInForce]):
    """`mode_for(actor).is_activated` from an actor's and its parent's ids, for
    thousands of actors: each scope's answer is worked out once."""
    region = mode_for(None, states).is_activated
    own = {int(scope.removeprefix("actor:")): state.is_activated
           for scope, state in states.items() if scope.startswith("actor:")}

    def activated(actor_id: int, parent_id: int | None) -> bool:
        if actor_id in own:
            return own[actor_id]
        return own.get(parent_id, region) if parent_id is not None else region

    return activated


@dataclass
class BoardPage:
    """One page of the board: its rows, and where it lies among all of them."""

    rows: list[BoardRow]
    number: int  # 1-based
    pages: int
    total: int  # duty roles passing the filters, on every page
    first: int  # the 1-based place of the page's first row among all
    unchanged_until: datetime  # when a row could first read differently

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1


def _listed(filters: Filters, states: dict[str, ModeInForce]) -> list[tuple]:
    """Every duty role passing the filters, as its key in the board's order
    (`_order`), the role's id last.

    Names and ids alone, read as plain rows on the session's connection: the
    region's thousands of roles are ordered here, not loaded as entries. Each
    name's sort key is worked out once and kept (`swedish_sort_key`)."""
    rows = db.session.connection().execute(
        select(Role.id, Role.name, Actor.id, Actor.parent_id, Actor.name)
        .join(Role.actor).where(*_where(filters))
    ).all()
    activated = _activated(states)
    return [_order(activated(actor_id, parent_id), actor_name, role_name, role_id)
            for role_id, role_name, actor_id, parent_id, actor_name in rows]


def board_page(filters: Filters, at: datetime, tz: ZoneInfo, number: int,
               size: int) -> BoardPage:
    """The `number`th page of `size` rows, in the board's order.

    At national scale the board has thousands of duty roles (2 MB of HTML,
    seconds to build). The order is worked out from names and mode states
    alone, in one light query; only the page's roles are then loaded and
    resolved, so a page costs the same whatever the size of the region. The
    roles before the page are picked out, not the whole region sorted.
    """
    states = mode_states()
    listed = _listed(filters, states)
    pages = max(1, -(-len(listed) // size))
    number = min(max(number, 1), pages)
    start = (number - 1) * size
    chosen = [key[-1] for key in heapq.nsmallest(start + size, listed)[start:]]
    rows, until = _rows(filters, at, tz, chosen, states) if chosen else ([], at + MAX_AGE)
    return BoardPage(rows=rows, number=number, pages=pages, total=len(listed),
                     first=start + 1, unchanged_until=until)


def board_rows(filters: Filters, at: datetime, tz: ZoneInfo) -> list[BoardRow]:
    """Every duty role passing the filters: activated actors first, gaps kept."""
    return _rows(filters, at, tz)[0]


def _rows(filters: Filters, at: datetime, tz: ZoneInfo, role_ids: list[int] | None = None,
          states=None) -> tuple[list[BoardRow], datetime]:
    """The rows of the roles passing the filters (or of `role_ids`), in the
    board's order, and until when every one of them reads the same: who is on
    call now and next, and that moment, from one read of the roles' shifts."""
    roles = load_roles(filters, role_ids)
    states = mode_states() if states is None else states
    end = at + WINDOW
    duty = outlook(roles, at, tz, WINDOW, now_and_next=True)
    rows = []
    for role in roles:
        timeline_now = duty.timelines.get(role.id) or []
        now = timeline_now[0] if timeline_now else None
        person = now.person if now else None
        until = now.ends_at if now else None
        upcoming = next_on_call(timeline_now)  # the role page's and search's "who next"
        mode = mode_for(role.actor, states)
        phones, groups, hidden = _paths(role, mode)
        rows.append(BoardRow(
            actor=role.actor, role=role, mode=mode,
            switchboard=actor_switchboard(role.actor, mode),
            person=person, until=until, until_open=until is None or until >= end,
            next_person=upcoming.person if upcoming else None,
            next_known=upcoming is not None,
            phones=phones, talk_groups=groups, hidden=hidden,
            escalation=escalation_lines(role),
        ))
    rows.sort(key=lambda r: _order(r.activated, r.actor.name, r.role.name, r.role.id))
    return rows, duty.unchanged_until
