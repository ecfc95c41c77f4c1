"""Verified numbers: when each contact path last reached someone, and how.

A path is *verified* by the latest call that reached someone on it: a drill
or a real call-out step marked reached on that path, or an editor's "tested,
works". It is *flagged* when its latest call failed (a drill step not
reached, an editor's "failed"), until a later call reaches someone again.
Every call is one `PathCheck` row; this module is the only writer
(`record_call`) and the only reader (`statuses`, `status_of`) of the rule.

Pages show the status only beside a number the reader may see: a template
asks through `status_of`, which answers None for a hidden path, so a hidden
number shows no verification either.
"""

import functools
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import g, has_request_context, request
from sqlalchemy import case, func, select

from directory.core.extensions import db
from directory.core.models import (
    CallOutcome,
    CheckSource,
    ContactPoint,
    Mode,
    PathCheck,
    utcnow,
)

# A path not reached for this long counts as unverified again (a setting).
DEFAULT_VERIFY_AFTER_DAYS = 180


@dataclass(frozen=True)
class PathStatus:
    """What is known of a path: its last reach, how, and its last failure."""

    verified_at: datetime | None = None
    verified_how: CheckSource | None = None
    failed_at: datetime | None = None

    @property
    def failed(self) -> bool:
        """The latest call on the path failed."""
        return self.failed_at is not None and (
            self.verified_at is None or self.failed_at >= self.verified_at
        )

    @property
    def never_verified(self) -> bool:
        return self.verified_at is None

    def stale(self, now: datetime, days: int) -> bool:
        """Never verified, or not for `days` days."""
        return self.verified_at is None or self.verified_at <= now - timedelta(days=days)

    def as_dict(self) -> dict:
        """JSON-ready, for the API (`{"verified_at": ..., "verified_how": ..., "failed": ...}`)."""
        return {
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
            "verified_how": self.verified_how.value if self.verified_how else None,
            "failed": self.failed,
            "failed_at": self.failed_at.isoformat() if self.failed_at else None,
        }


NEVER = PathStatus()


def record_call(
    path: ContactPoint | None,
    outcome: CallOutcome | bool,
    at: datetime | None = None,
    source: CheckSource = CheckSource.EDITOR,
    user=None,
    note: str = "",
) -> PathCheck | None:
    """Record one call on a path: reached (True) verifies it, failed (False) flags it.

    The one entry point for drills, call-outs and editors. `user` is a user
    or a user id (or None for the system). A step without a path (nothing
    dialled) records nothing.
    """
    if path is None:
        return None
    if isinstance(outcome, bool):
        outcome = CallOutcome.REACHED if outcome else CallOutcome.FAILED
    user_id = user if isinstance(user, int) or user is None else user.id
    check = PathCheck(
        contact_point=path,
        contact_point_id=path.id,
        at=at or utcnow(),
        outcome=outcome,
        source=CheckSource(source),
        note=(note or "").strip()[:300],
        user_id=user_id,
    )
    db.session.add(check)
    db.session.flush()
    _forget_statuses()
    return check


def dialled_path(target, mode: Mode) -> ContactPoint | None:
    """The path a caller tries first for a call-tree target in a mode: the first
    live phone number for that mode in PACE order (None: nothing to dial)."""
    from directory.core.modes import paths_for_mode

    if target is None:
        return None
    applies, _others = paths_for_mode(target.contact_points, mode)
    return next((p for p in applies if p.kind.is_phone), None)


def statuses(path_ids) -> dict[int, PathStatus]:
    """The status of each of these paths, in one query (absent: never called)."""
    ids = list({i for i in path_ids if i is not None})
    found: dict[int, PathStatus] = {}
    for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
        found.update(_statuses_query(PathCheck.contact_point_id.in_(ids[start:start + 900])))
    return found


def all_statuses() -> dict[int, PathStatus]:
    """Every path's status that has one (for the region-wide reminder run)."""
    return _statuses_query(None)


def _statuses_query(where) -> dict[int, PathStatus]:
    """One grouped query: per path, the last reach (by each source) and the last failure."""
    reached = PathCheck.outcome == CallOutcome.REACHED
    by_source = [
        func.max(case((reached & (PathCheck.source == source), PathCheck.at)))
        for source in CheckSource
    ]
    last_failed = func.max(case((PathCheck.outcome == CallOutcome.FAILED, PathCheck.at)))
    query = (
        select(PathCheck.contact_point_id, last_failed, *by_source)
        .where(PathCheck.deleted_at.is_(None))
        .group_by(PathCheck.contact_point_id)
    )
    if where is not None:
        query = query.where(where)
    found = {}
    for point_id, failed, *reaches in db.session.execute(query):
        latest = max(((_aware(at), source) for at, source in zip(reaches, CheckSource, strict=True)
                      if at is not None), default=(None, None), key=lambda pair: pair[0])
        found[point_id] = PathStatus(latest[0], latest[1], _aware(failed))
    return found


def _aware(value):
    """max() over a column loses the column type on SQLite: give back UTC."""
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def status_of(point: ContactPoint) -> PathStatus:
    """A path's status, for a page or a printout.

    The first call in a request reads the status of every path that has
    one (one grouped query over the calls, which are far fewer than the
    paths), so a page costs one query however many numbers it shows.
    """
    if point.id is None:
        return NEVER
    if not has_request_context():
        kept = _read_once.get()
        if kept is None:
            return statuses([point.id]).get(point.id, NEVER)
        if not kept:
            kept.append(all_statuses())
        return kept[0].get(point.id, NEVER)
    # Kept for this request (not the app context, which a test or a command
    # may share between requests).
    this_request = id(request._get_current_object())
    cached = g.get("_path_statuses")
    if cached is None or cached[0] != this_request:
        cached = g._path_statuses = (this_request, all_statuses())
    return cached[1].get(point.id, NEVER)


# Outside a request: every path's status, read once inside `reads_statuses_once`.
_read_once: ContextVar[list | None] = ContextVar("path_statuses_read_once", default=None)


def reads_statuses_once(function):
    """Let `function` read every path's status in one query when it runs away
    from a request, as a request does: for what shows many paths (a binder in
    the print worker showed 100 000, and asked for each in a query of its own:
    an hour's worth of a minute)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        token = _read_once.set([])
        try:
            return function(*args, **kwargs)
        finally:
            _read_once.reset(token)

    return wrapper


def _forget_statuses() -> None:
    """A call was recorded or withdrawn: read the statuses anew."""
    if has_request_context():
        g.pop("_path_statuses", None)
    kept = _read_once.get()
    if kept:
        kept.clear()


def checks_of(point: ContactPoint, limit: int = 10) -> list[PathCheck]:
    """A path's latest calls, withdrawn ones included, newest first (the editing page)."""
    return list(db.session.scalars(
        select(PathCheck).where(PathCheck.contact_point_id == point.id)
        .order_by(PathCheck.at.desc(), PathCheck.id.desc()).limit(limit)
    ))


def withdraw(check: PathCheck) -> None:
    """Take back an editor's mark made by mistake (restorable, recorded)."""
    check.deleted_at = utcnow()
    db.session.flush()
    _forget_statuses()


def reinstate(check: PathCheck) -> None:
    """Restore a withdrawn mark."""
    check.deleted_at = None
    db.session.flush()
    _forget_statuses()


# --- On pages ----------------------------------------------------------------


def status_for_reader(point) -> PathStatus | None:
    """A path's status as a page may show it: None when the number is hidden
    from the reader (a hidden number shows no verification either)."""
    from directory.core.visibility import shown

    if not isinstance(point, ContactPoint) or not shown(point):
        return None
    return status_of(point)


def ago(moment: datetime) -> str:
    """ "12 days ago" / "för 12 dagar sedan", in the reader's language.

    On a page being kept (`pagecache`), also says when the words change: the
    first millisecond they read differently, within the next hour (the words only
    ever move on, "1 hour" to "2 hours" to "1 day", so a halving search finds it).
    """
    from directory.core import pagecache

    now = utcnow()
    words = _ago(moment, now)
    if pagecache.keeping():
        same, changed = 0, 3_600_000  # milliseconds from now
        if _ago(moment, now + timedelta(milliseconds=changed)) == words:
            same = changed
        while changed - same > 1:
            middle = (same + changed) // 2
            if _ago(moment, now + timedelta(milliseconds=middle)) == words:
                same = middle
            else:
                changed = middle
        pagecache.holds_until(now + timedelta(milliseconds=changed))
    return words


def _ago(moment: datetime, now: datetime) -> str:
    from flask_babel import format_timedelta

    return format_timedelta(moment - now, add_direction=True, granularity="minute")


def init_app(app) -> None:
    """Templates ask `path_status(point)` and print `moment|ago`."""
    app.jinja_env.globals["path_status"] = status_for_reader
    app.jinja_env.filters["ago"] = ago
