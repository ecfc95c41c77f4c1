"""Who is on call for a role at a moment: override > shift > rotation.

Handovers are local wall-clock times in the region's time zone, so a weekly
rotation that hands over on Mondays at 08:00 does so at 08:00 in winter and
in summer; the length of a turn in hours changes across a daylight-saving
switch, the handover time does not.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from .extensions import db
from .models import Override, Person, Role, Rotation, Shift


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


def _active(model, role: Role, at: datetime):
    """The live override or shift covering `at`; the latest created wins."""
    return db.session.scalars(
        select(model)
        .where(
            model.role_id == role.id,
            model.deleted_at.is_(None),
            model.starts_at <= at,
            model.ends_at > at,
        )
        .order_by(model.created_at.desc(), model.id.desc())
        .limit(1)
    ).first()


def resolve_on_call(role: Role, at: datetime, tz: ZoneInfo) -> OnCall:
    """Who is on call for `role` at `at` (aware): override > shift > rotation."""
    for model, source in ((Override, "override"), (Shift, "shift")):
        entry = _active(model, role, at)
        if entry is not None:
            return OnCall(entry.person, source, entry.starts_at, entry.ends_at)
    for rotation in role.rotations:
        turn = rotation_turn(rotation, at, tz)
        if turn is not None:
            return turn
    return OnCall(None, "nobody", None, None)
