"""Collaboration patterns: when the next meeting is.

A cadence is an RFC 5545 RRULE read in the region's time zone, so "daily at
09:00 and 15:00" stays at 09:00 local time across daylight-saving changes.
"""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from .models import CollaborationPattern


def occurrences(pattern: CollaborationPattern, after: datetime, tz: ZoneInfo, count: int = 1):
    """The next `count` meetings after `after`, as aware UTC moments."""
    if not pattern.recurrence:
        return []
    start = datetime.combine(pattern.starts_on, time(0, 0), tzinfo=tz)
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


def next_occurrence(pattern, after: datetime, tz: ZoneInfo) -> datetime | None:
    found = occurrences(pattern, after, tz, 1)
    return found[0] if found else None
