"""Calendar feeds: a person's or a role's on-call time, and collaboration meetings.

A feed is iCalendar (RFC 5545) made with vobject, served at a secret URL
(`/calendars/<token>.ics`) that calendar apps poll without signing in. Only
the SHA-256 hash of a token is stored, so the URL is shown once, when it is
made; its owner can revoke it, or renew it (revoke and make a new one).

On-call feeds cover 30 days back and 12 months ahead, resolved as every page
resolves them (override > shift > rotation, `schedules.timelines`). Meeting
feeds hold the collaboration patterns that apply in their convener's mode in
force. Every event is `TRANSP:TRANSPARENT` (on-call time is not busy time)
and has a UID that stays the same from poll to poll.

Times are written as UTC moments (`DTSTART:20261025T003000Z`), which no
client can misread: local wall-clock times are ambiguous in the hour that
repeats when daylight saving ends, and clients disagreed on them (a
one-hour stretch became zero-length). X-WR-TIMEZONE names the region's zone
for display. A stretch that began before the feed's window is written with
its true start, found by looking further back (`_true_starts`), so its
DTSTART and its UID (made from that start) do not change from poll to poll.
A feed is read by whoever has its URL, so it never holds a confidential path.

A feed speaks with its owner's rights as they are at each request, not as
they were when it was made: once the owner is deactivated, or may no longer
make that feed (lost the actor, or became a viewer), the URL answers 404; it
works again if the rights come back. Revoking is what ends a URL for good.
"""

import hashlib
import logging
import secrets
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import vobject
from dateutil import tz as dateutil_tz
from dateutil.rrule import rrulestr
from flask import current_app, url_for
from flask_babel import gettext as _
from flask_login import AnonymousUserMixin
from sqlalchemy import func, or_, select, union
from sqlalchemy.orm import selectinload

from directory.core.extensions import db
from directory.core.forms import KIND_LABELS
from directory.core.limits import id_from_text
from directory.core.models import (
    AccessToken,
    CollaborationPattern,
    Override,
    PathMode,
    Person,
    Role,
    Rotation,
    RotationMember,
    Shift,
    TokenKind,
    User,
    UserRole,
    utcnow,
)
from directory.core.modes import mode_for, mode_states
from directory.core.numbers import display_phone
from directory.core.schedules import OnCall, local_moment, timelines
from directory.core.security import can_edit, editable_actor_ids, visible
from directory.phones.vcards import clean, fold_octets, uri

log = logging.getLogger(__name__)

PAST = timedelta(days=30)
AHEAD = timedelta(days=366)
# Stretches are resolved from a little earlier, so one that began before the
# feed's window keeps its real start, and with it its UID.
LOOKBACK = timedelta(days=14)
MAX_MEETINGS = 1000  # per pattern: twice a day for a year and a bit
UID_DOMAIN = "kontaktvagar"
PATTERNS = "patterns"


# --- Tokens ---------------------------------------------------------------------


class FeedError(ValueError):
    """A feed that cannot be made; the message says why."""


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_subject(text: str | None):
    """`person-<id>`, `role-<id>` or `patterns` -> a live Person, Role or PATTERNS."""
    text = (text or "").strip()
    if text == PATTERNS:
        return PATTERNS
    kind, _sep, ident = text.partition("-")
    model = {"person": Person, "role": Role}.get(kind)
    entry_id = id_from_text(ident)
    if model is None or entry_id is None:
        return None
    entry = db.session.get(model, entry_id)
    if entry is None or entry.deleted_at is not None:
        return None
    return entry


def subject_key(subject) -> str:
    if subject == PATTERNS:
        return PATTERNS
    return f"{subject.__tablename__}-{subject.id}"


def subject_of(token: AccessToken):
    """PATTERNS, or the Person or Role a token's feed shows (deleted ones too)."""
    if token.all_patterns:
        return PATTERNS
    if token.person_id is not None:
        return db.session.get(Person, token.person_id)
    return db.session.get(Role, token.role_id) if token.role_id is not None else None


def _may_make_pattern_feeds(user) -> bool:
    return bool(user and user.is_authenticated and user.active
                and user.role in (UserRole.ADMIN, UserRole.EDITOR))  # fmt: skip


def may_create(user, subject) -> bool:
    """Feeds of a person or role: whoever may edit it; meetings: editors and admins."""
    if subject == PATTERNS:
        return _may_make_pattern_feeds(user)
    return can_edit(user, subject)


def may_manage(user, token: AccessToken) -> bool:
    """Revoke or renew: whoever may edit the subject; a meetings feed: its maker or admins."""
    if token.all_patterns:
        return _may_make_pattern_feeds(user) and (
            user.role == UserRole.ADMIN or token.user_id == user.id
        )
    subject = subject_of(token)
    return subject is not None and can_edit(user, subject)


def _new_token(user, subject, name: str) -> tuple[AccessToken, str]:
    secret = secrets.token_urlsafe(32)
    token = AccessToken(
        user_id=user.id,
        kind=TokenKind.CALENDAR,
        name=clean(name)[:200],
        token_hash=hash_token(secret),
        person_id=subject.id if isinstance(subject, Person) else None,
        role_id=subject.id if isinstance(subject, Role) else None,
        all_patterns=subject == PATTERNS,
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def create_feed(user, subject, name: str = "") -> tuple[AccessToken, str]:
    """A new feed URL's token and its secret (shown once, never stored)."""
    if subject is None:
        raise FeedError(_("Choose what the feed shows."))
    token, secret = _new_token(user, subject, name)
    log.info("user %s made calendar feed %s (%s)", user.id, token.id, subject_key(subject))
    return token, secret


def revoke_feed(token: AccessToken, user) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        log.info("user %s revoked calendar feed %s", user.id, token.id)


def renew_feed(token: AccessToken, user) -> tuple[AccessToken, str]:
    """Revoke a feed's URL and make a new one for the same subject and name."""
    subject = subject_of(token)
    if subject is None or (subject != PATTERNS and subject.deleted_at is not None):
        raise FeedError(_("What this feed showed has been deleted."))
    revoke_feed(token, user)
    return create_feed(user, subject, token.name)


def find_feed(secret: str) -> AccessToken | None:
    """The calendar token with this secret (revoked ones too), or None."""
    if not secret or len(secret) > 200:
        return None
    return db.session.scalar(
        select(AccessToken).where(
            AccessToken.token_hash == hash_token(secret),
            AccessToken.kind == TokenKind.CALENDAR,
        )
    )


def owner_may_serve(token: AccessToken) -> bool:
    """Would the feed's owner, as they are now, still be allowed to make this feed?"""
    owner = db.session.get(User, token.user_id) if token.user_id is not None else None
    if owner is None or not owner.active:
        return False
    subject = subject_of(token)
    return subject is not None and may_create(owner, subject)


def note_use(token: AccessToken, now: datetime) -> None:
    """Remember when a feed was last read (at most once an hour: apps poll often)."""
    if token.last_used_at is None or now - token.last_used_at > timedelta(hours=1):
        token.last_used_at = now
        db.session.flush()


def feeds_for(user) -> list[AccessToken]:
    """The calendar feeds this user may see and manage, newest first."""
    query = (
        select(AccessToken)
        .where(AccessToken.kind == TokenKind.CALENDAR)
        .options(
            selectinload(AccessToken.user),
        )
        .order_by(AccessToken.revoked_at.is_not(None), AccessToken.created_at.desc())
    )
    if user.role != UserRole.ADMIN:
        actor_ids = sorted(editable_actor_ids(user))
        query = query.where(
            or_(
                AccessToken.person_id.in_(select(Person.id).where(Person.actor_id.in_(actor_ids))),
                AccessToken.role_id.in_(select(Role.id).where(Role.actor_id.in_(actor_ids))),
                AccessToken.all_patterns & (AccessToken.user_id == user.id),
            )
        )
    return db.session.scalars(query.limit(500)).all()


# --- iCalendar ------------------------------------------------------------------


class Calendar:
    """One feed being written: a VCALENDAR with PUBLISH and the region's zone."""

    def __init__(self, name: str, now: datetime):
        key = current_app.config["TIMEZONE"]
        self.zone = ZoneInfo(key)
        self.stamp = now.astimezone(dateutil_tz.UTC)
        self.component = vobject.iCalendar()
        add = self.component.add
        add("prodid").value = "-//Kontaktvägar//Kontaktvägar//SV"
        add("method").value = "PUBLISH"
        add("x-wr-calname").value = clean(name)
        add("x-wr-timezone").value = key
        interval = add("refresh-interval")
        interval.value = "PT1H"
        interval.params["VALUE"] = ["DURATION"]
        add("x-published-ttl").value = "PT1H"

    @staticmethod
    def utc(moment: datetime) -> datetime:
        """A moment in UTC, which vobject writes with a Z: no zone to misread."""
        return moment.astimezone(dateutil_tz.UTC)

    def event(self, uid: str, start: datetime, end: datetime, summary: str, *,
              description: str = "", location: str = "", url: str = "") -> None:
        event = self.component.add("vevent")
        event.add("uid").value = uid
        event.add("dtstamp").value = self.stamp
        event.add("dtstart").value = self.utc(start)
        event.add("dtend").value = self.utc(end)
        event.add("summary").value = clean(summary)
        if description:
            event.add("description").value = clean(description, multiline=True)
        if location:
            event.add("location").value = clean(location)
        if url:
            uri(event, "url", clean(url))
        event.add("transp").value = "TRANSPARENT"

    def serialize(self) -> str:
        return fold_octets(self.component.serialize())


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _role_label(role: Role) -> str:
    return f"{role.short_name or role.name} – {role.actor.name}"


def _source_word(source: str) -> str:
    return {"override": _("override"), "shift": _("shift"), "rotation": _("rotation")}.get(
        source, source
    )


def _on_call_event(calendar: Calendar, role: Role, stretch, summary: str) -> None:
    person = stretch.person
    calendar.event(
        f"oncall-{role.id}-{person.id}-{_stamp(stretch.starts_at)}@{UID_DOMAIN}",
        stretch.starts_at,
        stretch.ends_at,
        summary,
        description=_(
            "%(person)s is on call as %(role)s (%(source)s).",
            person=person.name, role=_role_label(role), source=_source_word(stretch.source),
        ),
        url=url_for("lookup.role", role_id=role.id, _external=True),
    )


def _window(now: datetime) -> tuple[datetime, datetime]:
    return now - PAST, now + AHEAD


def _schedule_start(role: Role, tz: ZoneInfo) -> datetime | None:
    """The earliest moment anyone can be on call for a role (before it, nobody is)."""
    firsts = [
        db.session.scalar(select(func.min(model.starts_at))
                          .where(model.role_id == role.id, model.deleted_at.is_(None)))
        for model in (Shift, Override)
    ]  # fmt: skip
    firsts += [local_moment(r.starts_on, r, tz) for r in role.rotations if r.deleted_at is None]
    firsts = [f if f.tzinfo else f.replace(tzinfo=UTC) for f in firsts if f is not None]
    return min(firsts, default=None)


def _true_starts(roles, lines: dict[int, list[OnCall]], since: datetime,
                 tz: ZoneInfo) -> None:
    """Give the stretch under way at `since` (where resolving began) its true start.

    Resolving from `since` cuts a stretch that began earlier at `since`,
    which moves with every poll. Look back further, twice as far each time,
    until the stretch is seen to begin, or back to the role's first schedule.
    """
    for role in roles:
        line = lines.get(role.id)
        if not line or line[0].person is None or line[0].starts_at > since:
            continue
        first = line[0]
        floor = _schedule_start(role, tz)
        back = LOOKBACK
        while floor is not None and floor < since:
            earlier = max(since - back, floor)
            found = timelines([role], earlier, first.ends_at, tz)[role.id]
            last = found[-1] if found else None
            if last is None or last.person != first.person or last.source != first.source:
                break
            if last.starts_at > earlier or earlier <= floor:
                line[0] = OnCall(first.person, first.source, last.starts_at, first.ends_at)
                break
            back *= 2


def role_calendar(role: Role, now: datetime) -> str:
    """Who is on call for a role, stretch by stretch (gaps are left out)."""
    start, end = _window(now)
    calendar = Calendar(_("On call: %(role)s", role=_role_label(role)), now)
    lines = timelines([role], start - LOOKBACK, end, calendar.zone)
    _true_starts([role], lines, start - LOOKBACK, calendar.zone)
    stretches = lines[role.id]
    for stretch in stretches:
        if stretch.person is not None and stretch.ends_at > start:
            _on_call_event(calendar, role, stretch, f"{role.short_name or role.name}: "
                           f"{stretch.person.name}")
    return calendar.serialize()


def _roles_staffed_by(person: Person, start: datetime, end: datetime) -> list[Role]:
    """The roles a person has shifts, overrides or a rotation place in."""
    ids = union(
        select(Shift.role_id).where(Shift.person_id == person.id, Shift.deleted_at.is_(None),
                                    Shift.ends_at > start, Shift.starts_at < end),
        select(Override.role_id).where(Override.person_id == person.id,
                                       Override.deleted_at.is_(None),
                                       Override.ends_at > start, Override.starts_at < end),
        select(Rotation.role_id).join(RotationMember, RotationMember.rotation_id == Rotation.id)
        .where(RotationMember.person_id == person.id, Rotation.deleted_at.is_(None)),
    ).subquery()  # fmt: skip
    return db.session.scalars(
        select(Role)
        .where(Role.id.in_(select(ids.c.role_id)), Role.deleted_at.is_(None))
        .options(selectinload(Role.actor))
        .order_by(Role.id)
    ).all()


def person_calendar(person: Person, now: datetime) -> str:
    """A person's on-call time, in every role they staff."""
    start, end = _window(now)
    calendar = Calendar(_("On call: %(person)s", person=person.name), now)
    roles = _roles_staffed_by(person, start - LOOKBACK, end)
    lines = timelines(roles, start - LOOKBACK, end, calendar.zone)
    _true_starts(roles, lines, start - LOOKBACK, calendar.zone)
    for role in roles:
        for stretch in lines[role.id]:
            if (stretch.person is not None and stretch.person.id == person.id
                    and stretch.ends_at > start):  # fmt: skip
                _on_call_event(calendar, role, stretch,
                               _("On call: %(role)s", role=_role_label(role)))
    return calendar.serialize()


def _channel_line(point) -> str:
    value = display_phone(point.value, current_app.config["DEFAULT_REGION"]) \
        if point.kind.is_phone else point.value
    line = f"{point.label or KIND_LABELS[point.kind]}: {value}"
    return line + (f" (PIN {point.pin})" if point.pin else "")


def meetings(pattern: CollaborationPattern, start: datetime, end: datetime,
             tz: ZoneInfo) -> list[datetime]:
    """A pattern's meetings from `start` to `end` (at most MAX_MEETINGS), as UTC moments.

    Read as `patterns.occurrences` reads a cadence (an RRULE from midnight of
    `starts_on`, local time), but in one pass: asking for the next meeting
    a thousand times would walk the rule from its start every time.
    """
    if not pattern.recurrence:
        return []
    first = datetime.combine(pattern.starts_on, time(0), tzinfo=tz)
    try:
        rule = rrulestr(pattern.recurrence, dtstart=first)
        found = rule.between(start.astimezone(tz), end.astimezone(tz))
    except (ValueError, TypeError):
        return []  # an unreadable rule has no meetings, as on the patterns page
    return [moment.astimezone(UTC) for moment in found[:MAX_MEETINGS]]


def patterns_calendar(now: datetime) -> str:
    """The meetings of the collaboration patterns that apply in the mode in force."""
    start, end = _window(now)
    calendar = Calendar(_("Collaboration meetings"), now)
    states = mode_states()
    patterns = db.session.scalars(
        select(CollaborationPattern)
        .where(CollaborationPattern.deleted_at.is_(None))
        .options(
            selectinload(CollaborationPattern.convener_actor),
            selectinload(CollaborationPattern.channels),
        )
        .order_by(CollaborationPattern.id)
    ).all()
    anyone = AnonymousUserMixin()  # whoever has the URL: no confidential channel
    for pattern in patterns:
        actor = pattern.convener_actor
        if actor.deleted_at is not None:
            continue
        if not PathMode(pattern.mode).applies_in(mode_for(actor, states).mode):
            continue
        channels = [c for c in visible(pattern.channels, anyone) if c.deleted_at is None]
        description = "\n".join(
            [pattern.purpose or "", *(_channel_line(c) for c in channels)]
        ).strip()
        length = timedelta(minutes=pattern.duration_minutes)
        for moment in meetings(pattern, start, end, calendar.zone):
            calendar.event(
                f"pattern-{pattern.id}-{_stamp(moment)}@{UID_DOMAIN}",
                moment,
                moment + length,
                pattern.name,
                description=description,
                location=pattern.meeting_place or "",
            )
    return calendar.serialize()


def feed_text(token: AccessToken, now: datetime) -> str | None:
    """The calendar a token's URL serves, or None when its subject is gone."""
    subject = subject_of(token)
    if subject == PATTERNS:
        return patterns_calendar(now)
    if subject is None or subject.deleted_at is not None:
        return None
    if isinstance(subject, Role):
        return role_calendar(subject, now)
    return person_calendar(subject, now)
