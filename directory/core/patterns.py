"""Collaboration patterns: when the next meeting is.

A cadence is an RFC 5545 RRULE read in the region's time zone, so "daily at
09:00 and 15:00" stays at 09:00 local time across daylight-saving changes.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from flask_babel import lazy_gettext as _l

from directory.core.models import CollaborationPattern


def occurrences(pattern: CollaborationPattern, after: datetime, tz: ZoneInfo, count: int = 1):
    """The next `count` meetings after `after`, as aware UTC moments."""
    if not pattern.recurrence:
        return []
    start = datetime.combine(_expansion_start(pattern, after.astimezone(tz).date()),
                             time(0, 0), tzinfo=tz)
    try:
        rule = rrulestr(pattern.recurrence, dtstart=start)
    except (ValueError, TypeError):
        return []  # an unreadable rule is shown as "no upcoming meeting"
    found = []
    moment = after.astimezone(tz)
    for _ in range(count):
        moment = rule.after(moment)
        if moment is None:
            break
        found.append(moment.astimezone(UTC))
    return found


def _expansion_start(pattern: CollaborationPattern, day: date) -> date:
    """Where to start expanding the rule so the work does not grow with its age.

    A daily or weekly rule (without COUNT or INTERVAL, as the pattern form
    writes them) repeats every week, so starting a whole number of weeks
    later, a week before `day`, gives the same meetings; any other rule is
    expanded from its first day, which the forms keep within 2000-2100.
    """
    fields = dict(part.split("=", 1) for part in pattern.recurrence.upper().split(";")
                  if "=" in part)
    repeats_weekly = fields.get("FREQ") in ("DAILY", "WEEKLY") and not (
        "COUNT" in fields or fields.get("INTERVAL", "1") != "1")
    weeks = (day - pattern.starts_on).days // 7 - 1
    if not repeats_weekly or weeks <= 0:
        return pattern.starts_on
    return pattern.starts_on + timedelta(weeks=weeks)


def next_occurrence(pattern, after: datetime, tz: ZoneInfo) -> datetime | None:
    found = occurrences(pattern, after, tz, 1)
    return found[0] if found else None


WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")
# What parse_times reads, as one JSON Schema pattern (the API's description).
_ONE_TIME = "([01]?[0-9]|2[0-3])[:.][0-5][0-9]"
TIMES_PATTERN = f"^[ ,;]*{_ONE_TIME}([ ,;]+{_ONE_TIME})*[ ,;]*$"


class CadenceError(ValueError):
    """A cadence that cannot be read; the message says why."""


def parse_times(text: str) -> list[time]:
    """`09:00, 15:00` -> [09:00, 15:00]; a clear error for anything else."""
    found = []
    for part in re.split(r"[,\s;]+", (text or "").strip()):
        if not part:
            continue
        match = _TIME.match(part)
        if not match:
            raise CadenceError(_l("“%(part)s” is not a time like 09:00.", part=part))
        found.append(time(int(match.group(1)), int(match.group(2))))
    if not found:
        raise CadenceError(_l("Give at least one time, like 09:00."))
    return sorted(set(found))


def build_rrule(frequency: str, weekdays: list[str], times: list[time]) -> str:
    """An RRULE from the simple choices people make: daily or on weekdays, at times."""
    parts = ["FREQ=DAILY" if frequency == "daily" else "FREQ=WEEKLY"]
    if frequency == "weekly":
        days = [d for d in WEEKDAYS if d in weekdays]
        if not days:
            raise CadenceError(_l("Choose at least one weekday."))
        parts.append("BYDAY=" + ",".join(days))
    hours = sorted({t.hour for t in times})
    minutes = sorted({t.minute for t in times})
    if len(minutes) > 1 and len(hours) > 1:
        # BYHOUR x BYMINUTE would add times nobody asked for (09:30 and 15:00
        # would also give 09:00 and 15:30).
        raise CadenceError(
            _l("Times on different minutes of different hours need two patterns.")
        )
    parts.append("BYHOUR=" + ",".join(str(h) for h in hours))
    parts.append("BYMINUTE=" + ",".join(str(m) for m in minutes))
    return ";".join(parts)


def describe_rrule(rule: str) -> tuple[str, list[str], str]:
    """The simple choices behind an RRULE: (frequency, weekdays, "09:00, 15:00")."""
    fields = dict(part.split("=", 1) for part in (rule or "").split(";") if "=" in part)
    frequency = "weekly" if fields.get("FREQ") == "WEEKLY" else "daily"
    weekdays = [d for d in fields.get("BYDAY", "").split(",") if d]
    hours = [int(h) for h in fields.get("BYHOUR", "").split(",") if h]
    minutes = [int(m) for m in fields.get("BYMINUTE", "0").split(",") if m] or [0]
    times = ", ".join(f"{h:02d}:{m:02d}" for h in hours for m in minutes)
    return frequency, weekdays, times
