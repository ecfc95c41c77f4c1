"""Who is on call for a role at a moment: override > shift > rotation.

Handovers are local wall-clock times in the region's time zone, so a weekly
rotation that hands over on Mondays at 08:00 does so at 08:00 in winter and
in summer; the length of a turn in hours changes across a daylight-saving
switch, the handover time does not.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from directory.core.database import among
from directory.core.extensions import db
from directory.core.models import Override, Person, Role, Rotation, RotationMember, Shift
from directory.core.pagecache import MAX_AGE

# How far ahead "who comes next" looks (the actor page, search results).
NEXT_HORIZON = timedelta(days=31)


@dataclass(frozen=True)
class OnCall:
    """The answer to "who is on call": the person, why, and until when."""

    person: Person | None
    source: str  # "override", "shift", "rotation" or "nobody"
    starts_at: datetime | None
    ends_at: datetime | None


def local_moment(day: date, rotation: Rotation, tz: ZoneInfo) -> datetime:
    """The handover on `day`, local wall-clock time, as an aware UTC moment."""
    return datetime.combine(day, rotation.handover_time, tzinfo=tz).astimezone(UTC)


def rotation_turn(rotation: Rotation, at: datetime, tz: ZoneInfo) -> OnCall | None:
    """The rotation's member on duty at `at`, with the turn's start and end."""
    members = [m for m in rotation.members if m.person.deleted_at is None]
    if not members or rotation.deleted_at is not None:
        return None
    local_day = at.astimezone(tz).date()
    turn = (local_day - rotation.starts_on).days // rotation.length_days
    start_day = rotation.starts_on + timedelta(days=turn * rotation.length_days)
    if at < local_moment(start_day, rotation, tz):
        turn -= 1
        start_day -= timedelta(days=rotation.length_days)
    if turn < 0:
        return None
    end_day = start_day + timedelta(days=rotation.length_days)
    if rotation.ends_on is not None and start_day >= rotation.ends_on:
        return None
    if rotation.ends_on is not None:
        end_day = min(end_day, rotation.ends_on)  # the last turn ends at its handover
    ends_at = local_moment(end_day, rotation, tz)
    if at >= ends_at:
        return None
    return OnCall(
        person=members[turn % len(members)].person,
        source="rotation",
        starts_at=local_moment(start_day, rotation, tz),
        ends_at=ends_at,
    )


@dataclass(frozen=True)
class Covering:
    """An override or shift as the resolution reads it: whose, when, who."""

    role_id: int
    starts_at: datetime
    ends_at: datetime
    person: Person


def _coverings(role_ids, start: datetime, end: datetime) -> tuple[list, list]:
    """Live overrides and shifts of these roles that overlap [start, end), each
    oldest first, with their persons.

    Read as plain rows, not as entries: the on-call board reads thousands of
    them, and whole objects cost most of its time. The persons are read
    apart, by id: joined to the shifts in one statement, PostgreSQL guessed
    four times too many shifts in the window and walked every person of the
    region instead (13 of the board's 20 ms of SQL at 50 000 persons).
    """
    found = [
        db.session.execute(
            select(model.role_id, model.starts_at, model.ends_at, model.person_id)
            .where(
                among(model.role_id, role_ids),
                model.deleted_at.is_(None),
                model.starts_at < end,
                model.ends_at > start,
            )
            .order_by(model.created_at, model.id)
        ).all()
        for model in (Override, Shift)
    ]
    persons = _persons({row.person_id for rows in found for row in rows})
    overrides, shifts = (
        [Covering(role_id, starts_at, ends_at, persons[person_id])
         for role_id, starts_at, ends_at, person_id in rows]
        for rows in found
    )
    return overrides, shifts


def _persons(ids: set[int]) -> dict[int, Person]:
    """These persons by id, read only where the session does not hold them loaded
    already (an actor's page has its persons, who are mostly its roles' too)."""
    found, wanted = {}, []
    for person_id in ids:
        person = db.session.identity_map.get(db.session.identity_key(Person, person_id))
        if person is not None and not inspect(person).expired_attributes:
            found[person_id] = person
        else:
            wanted.append(person_id)
    if wanted:
        found.update((p.id, p) for p in db.session.scalars(
            select(Person).where(among(Person.id, sorted(wanted)))))
    return found


def _latest_covering(entries, role_id: int, at: datetime):
    """The entry covering `at`; where several overlap, the latest created wins."""
    found = None
    for entry in entries:  # ordered by creation, so the last match wins
        if entry.role_id == role_id and entry.starts_at <= at < entry.ends_at:
            found = entry
    return found


def _resolve(role, at, tz, overrides, shifts) -> OnCall:
    for entries, source in ((overrides, "override"), (shifts, "shift")):
        entry = _latest_covering(entries, role.id, at)
        if entry is not None:
            return OnCall(entry.person, source, entry.starts_at, entry.ends_at)
    for rotation in role.rotations:
        turn = rotation_turn(rotation, at, tz)
        if turn is not None:
            return turn
    return OnCall(None, "nobody", None, None)


def _members():
    """A loader option for rotations: their members and persons, joined."""
    return joinedload(Rotation.members).joinedload(RotationMember.person)


def with_rotations():
    """A loader option: the queried roles' rotations with their members and
    persons, in one statement."""
    return selectinload(Role.rotations).options(_members())


def load_rotations(roles) -> None:
    """Load the rotations of many roles, with their members and persons, in one
    query (none for roles loaded with them already)."""
    unloaded = [role for role in roles if "rotations" in inspect(role).unloaded]
    if not unloaded:
        return
    found: dict[int, list[Rotation]] = {role.id: [] for role in unloaded}
    for rotation in db.session.scalars(
        select(Rotation)
        .where(among(Rotation.role_id, list(found)))
        .options(_members())
        .order_by(Rotation.id)
    ).unique():
        found[rotation.role_id].append(rotation)
    for role in unloaded:
        set_committed_value(role, "rotations", found[role.id])


def on_call_for_roles(roles, at: datetime, tz: ZoneInfo) -> dict[int, OnCall]:
    """Who is on call for each role at `at`, in a fixed number of queries."""
    roles = list(roles)
    if not roles:
        return {}
    load_rotations(roles)
    ids = [role.id for role in roles]
    overrides, shifts = _coverings(ids, at, at + timedelta(microseconds=1))
    return {role.id: _resolve(role, at, tz, overrides, shifts) for role in roles}


def resolve_on_call(role: Role, at: datetime, tz: ZoneInfo) -> OnCall:
    """Who is on call for `role` at `at` (aware): override > shift > rotation."""
    return on_call_for_roles([role], at, tz)[role.id]


def timeline(role: Role, start: datetime, end: datetime, tz: ZoneInfo) -> list[OnCall]:
    """Who is on call from `start` to `end`, as consecutive stretches.

    Every moment where anything could change (a rotation handover, an
    override or shift starting or ending) is a boundary; between boundaries
    the answer is constant. Stretches with nobody are kept: they are gaps.
    """
    return timelines([role], start, end, tz)[role.id]


def timelines(roles, start: datetime, end: datetime, tz: ZoneInfo) -> dict[int, list[OnCall]]:
    """`timeline` for many roles, in a fixed number of queries."""
    roles = list(roles)
    if not roles:
        return {}
    load_rotations(roles)
    ids = [role.id for role in roles]
    by_role = _by_role(roles, *_coverings(ids, start, end))
    return {
        role.id: _timeline(role, start, end, tz, *by_role[role.id])
        for role in roles
    }


def gaps(stretches: list[OnCall]) -> list[OnCall]:
    return [s for s in stretches if s.person is None]


def _boundaries(role, start, end, tz, overrides, shifts) -> set[datetime]:
    """Every moment in (start, end) where who is on call for `role` could change:
    an override or shift starting or ending, a rotation's handover or first turn."""
    boundaries = set()
    for entry in (*overrides, *shifts):
        boundaries.update(b for b in (entry.starts_at, entry.ends_at) if start < b < end)
    for rotation in role.rotations:
        first = local_moment(rotation.starts_on, rotation, tz)
        if start < first < end:
            boundaries.add(first)
        moment = max(start, first)
        while moment < end:
            turn = rotation_turn(rotation, moment, tz)
            if turn is None:
                break
            if start < turn.ends_at < end:
                boundaries.add(turn.ends_at)
            moment = turn.ends_at
    return boundaries


def unchanged_until(roles, at: datetime, tz: ZoneInfo,
                    horizon: timedelta = timedelta(0), *, within: timedelta = MAX_AGE) -> datetime:
    """Until when a page showing these roles as of `at` reads the same, looking
    no further than `within` (a kept page is rendered anew after `MAX_AGE` anyway).

    A page shows who is on call now and what happens within `horizon` after
    now (who comes next, the coming weeks). That changes at the first moment
    anything changes for a role, and also when a change beyond the horizon
    comes within it as time passes: at that change minus the horizon. So two
    short stretches are looked at, the next `within` and the `within` past
    the horizon, not the weeks between: a page of fifty roles reads minutes
    of shifts, not weeks.
    """
    roles = list(roles)
    if not roles:
        return at + within
    load_rotations(roles)
    ids = [role.id for role in roles]
    return _first_change(roles, at, tz, horizon, within,
                         lambda start, stop: _by_role(roles, *_coverings(ids, start, stop)))


def _by_role(roles, overrides, shifts) -> dict[int, tuple[list, list]]:
    """Each role's own overrides and shifts, in their order."""
    found = {role.id: ([], []) for role in roles}
    for entry in overrides:
        found[entry.role_id][0].append(entry)
    for entry in shifts:
        found[entry.role_id][1].append(entry)
    return found


def _first_change(roles, at, tz, horizon, within, coverings) -> datetime:
    """`unchanged_until` over the overrides and shifts, by role, that
    `coverings(start, stop)` gives for each stretch looked at (any that
    overlap it, others too)."""
    spans = [(at, at + within, timedelta(0))]
    if horizon:
        # from just before the horizon: a change exactly at it changes the page at once
        edge = at + horizon - timedelta(microseconds=1)
        spans.append((edge, edge + within, horizon))
    first = at + within
    for start, stop, shift in spans:
        by_role = coverings(start, stop)
        for role in roles:
            for moment in _boundaries(role, start, stop, tz, *by_role[role.id]):
                first = min(first, moment - shift)
    return first


@dataclass(frozen=True)
class Outlook:
    """What a page of roles shows of their duty: who is on call now, who
    takes over next, and until when both read the same."""

    now: dict[int, OnCall]
    timelines: dict[int, list[OnCall]]  # each role's `timeline` over the horizon
    unchanged_until: datetime

    @cached_property
    def next(self) -> dict[int, OnCall | None]:
        return {role_id: next_on_call(stretches) for role_id, stretches in self.timelines.items()}


def outlook(roles, at: datetime, tz: ZoneInfo, horizon: timedelta = NEXT_HORIZON, *,
            within: timedelta = MAX_AGE, now_and_next: bool = False) -> Outlook:
    """`on_call_for_roles`, each role's `timeline` over `horizon` (and so who
    takes over next) and `unchanged_until` of the same roles, from one read of
    their overrides and shifts: the actor, role and search pages show them
    together, and read them apart three or four times a page.

    The overrides and shifts overlapping [at, at + horizon + within) are
    every one those three read: each looks only at the entries that overlap
    the moment or stretch it resolves, so more entries change no answer.

    With `now_and_next`, each timeline stops at its second stretch: the one
    under way whole, and who comes next (whose end is then not its last). The
    on-call board shows nothing more, for a page of roles.
    """
    roles = list(roles)
    if not roles:
        return Outlook({}, {}, at + within)
    load_rotations(roles)
    by_role = _by_role(roles, *_coverings([role.id for role in roles], at, at + horizon + within))
    return Outlook(
        now={role.id: _resolve(role, at, tz, *by_role[role.id]) for role in roles},
        timelines={role.id: _timeline(role, at, at + horizon, tz, *by_role[role.id],
                                      now_and_next=now_and_next)
                   for role in roles},
        unchanged_until=_first_change(roles, at, tz, horizon, within,
                                      lambda _start, _stop: by_role),
    )


def _timeline(role, start, end, tz, overrides, shifts, now_and_next=False) -> list[OnCall]:
    ordered = sorted({start, end} | _boundaries(role, start, end, tz, overrides, shifts))
    stretches: list[OnCall] = []
    for left, right in zip(ordered, ordered[1:], strict=False):
        now = _resolve(role, left, tz, overrides, shifts)
        if stretches and stretches[-1].person == now.person and stretches[-1].source == now.source:
            last = stretches.pop()
            stretches.append(OnCall(last.person, last.source, last.starts_at, right))
        else:
            stretches.append(OnCall(now.person, now.source, left, right))
            if now_and_next and len(stretches) == 2:
                break
    return stretches


def next_on_call(stretches: list[OnCall]) -> OnCall | None:
    """Who takes over after the stretch under way (a gap is an answer too: nobody)."""
    return stretches[1] if len(stretches) > 1 else None
