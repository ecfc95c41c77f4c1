"""Moments people type: read in the region's time zone, bounded to sane years.

Every date and time that comes from outside (a form, `?at=`, the API, a
CSV's period) is refused outside 2000-2100: a year 0001 would otherwise make
recurrences expand for centuries and Python's dates overflow on conversion.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app
from flask_babel import gettext as _

EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def in_range(value: date | datetime | None) -> bool:
    """Is this date (or moment) within the years the directory accepts?"""
    return value is None or EARLIEST_YEAR <= value.year <= LATEST_YEAR


def out_of_range_message() -> str:
    return _("Give a date between %(first)d and %(last)d.", first=EARLIEST_YEAR,
             last=LATEST_YEAR)


def region_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def parse_local(value: str, tz: ZoneInfo) -> datetime:
    """`2026-12-24` or `2026-12-24T03:00` (local unless it names its zone), as UTC.

    Raises ValueError with a message for people when it cannot be read.
    """
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            _("“%(value)s” is not a date like 2026-12-24 or 2026-12-24T03:00.",
              value=value[:40])
        ) from None
    if not in_range(moment):
        raise ValueError(out_of_range_message())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def at_argument(value: str | None) -> datetime | None:
    """`?at=` of a page: None when absent; 400 with the reason when unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return parse_local(value, region_tz())
    except ValueError as error:
        abort(400, str(error))
