"""Calendar feeds as two independent clients read them, through both DST changes.

python-icalendar and ical.js (the parser of Thunderbird and many web
calendars, run with node) read the same served feed; both must agree with
the database to the second: every stretch's start and end, in the repeated
hour of October, the skipped hour of March, and for a stretch that began
long before the feed's window. Its DTSTART and UID must not move from poll
to poll as the window does.
"""

import json
import shutil
import subprocess
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from directory.core.extensions import db
from directory.core.models import Override, Shift, UserRole, utcnow
from directory.phones import calendars
from tests.conftest import make_actor, make_person, make_role
from tests.test_calendars import create_feed

TZ = ZoneInfo("Europe/Stockholm")
ROOT = Path(__file__).resolve().parent.parent
ICAL_JS = ROOT / ".cache/npm/node_modules/ical.js/dist/ical.es5.cjs"
READER = ROOT / "tests/browser/read_ics.cjs"


def last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def next_change(month: int, after: date) -> date:
    """The next DST change of the month (3 or 10) after `after` (inside the feed's year)."""
    for year in (after.year, after.year + 1):
        if last_sunday(year, month) > after:
            return last_sunday(year, month)
    raise AssertionError("no change within a year")


def hours(day: date, first_utc: int, count: int) -> list[tuple[datetime, datetime]]:
    """`count` one-hour stretches from `first_utc` o'clock UTC of the evening before `day`."""
    start = datetime.combine(day, time(0), UTC) + timedelta(hours=first_utc)
    return [(start + timedelta(hours=n), start + timedelta(hours=n + 1)) for n in range(count)]


@pytest.fixture
def dst(app):
    """A role staffed hour by hour across both DST changes, persons taking turns."""
    actor = make_actor("Haninge kommun")
    role = make_role(actor)
    people = [make_person(actor, "Åsa Öberg"), make_person(actor, "Nils Nilsson")]
    today = datetime.now(TZ).date()
    october, march = next_change(10, today + timedelta(days=1)), next_change(3, today)
    # October: 01:00 CEST, 02:00 CEST, 02:00 CET (the repeated hour), 03:00 CET.
    # March: 01:00 CET, 03:00 CEST (02:00 never happens), 04:00 CEST.
    stretches = hours(october, -1, 4) + hours(march, 0, 3)
    for n, (start, end) in enumerate(stretches):
        db.session.add(Shift(role=role, person=people[n % 2], starts_at=start, ends_at=end))
    db.session.commit()
    expected = [(int(s.timestamp()), int(e.timestamp()), people[n % 2].name)
                for n, (s, e) in enumerate(stretches)]  # fmt: skip
    return {"actor": actor, "role": role, "expected": sorted(expected)}


def feed_text(app, url: str) -> str:
    response = app.test_client().get(url)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def read_with_icalendar(text: str) -> list[dict]:
    calendar = icalendar.Calendar.from_ical(text)
    return [{"uid": str(event["UID"]), "summary": str(event["SUMMARY"]),
             "start": int(event.decoded("DTSTART").timestamp()),
             "end": int(event.decoded("DTEND").timestamp())}
            for event in calendar.walk("VEVENT")]  # fmt: skip


def read_with_ical_js(text: str) -> list[dict]:
    assert ICAL_JS.exists(), "ical.js is missing: make browser"
    node = shutil.which("node") or "/usr/bin/node"
    done = subprocess.run(  # noqa: S603 (our own script, our own feed)
        [node, str(READER), str(ICAL_JS)], input=text, text=True, capture_output=True,
        check=True, timeout=60,
    )
    return json.loads(done.stdout)


def as_rows(events: list[dict]) -> list[tuple[int, int, str]]:
    return sorted((e["start"], e["end"], e["summary"].split(": ", 1)[1]) for e in events)


def test_both_clients_agree_with_the_database_through_both_dst_changes(
        dst, app, client, login_as):
    login_as(UserRole.ADMIN)
    text = feed_text(app, create_feed(client, f"role-{dst['role'].id}"))
    assert "TZID=" not in text and "BEGIN:VTIMEZONE" not in text  # UTC moments only
    by_icalendar, by_ical_js = read_with_icalendar(text), read_with_ical_js(text)
    assert as_rows(by_icalendar) == dst["expected"]
    assert as_rows(by_ical_js) == dst["expected"]
    assert sorted(e["uid"] for e in by_icalendar) == sorted(e["uid"] for e in by_ical_js)
    # The repeated hour of October is an hour long like its neighbours, in both.
    assert all(end - start == 3600 for start, end, _name in as_rows(by_ical_js))


@pytest.fixture
def long_stretch(app):
    """An override that began two months ago and runs two more."""
    actor = make_actor("Nynäshamns kommun")
    role = make_role(actor)
    person = make_person(actor, "Karin Sjöström")
    began = utcnow().replace(microsecond=0) - timedelta(days=61, hours=5, minutes=7, seconds=9)
    override = Override(role=role, person=person, reason="Föräldraledig ersättare",
                        starts_at=began, ends_at=began + timedelta(days=120))
    db.session.add(override)
    db.session.commit()
    return {"role": role, "override": override}


def test_a_stretch_begun_before_the_window_keeps_its_true_start_and_uid(
        long_stretch, app, client, login_as):
    login_as(UserRole.ADMIN)
    override = long_stretch["override"]
    start, end = int(override.starts_at.timestamp()), int(override.ends_at.timestamp())
    text = feed_text(app, create_feed(client, f"role-{long_stretch['role'].id}"))
    for read in (read_with_icalendar, read_with_ical_js):
        assert [(e["start"], e["end"]) for e in read(text)] == [(start, end)]
    # Poll after poll, as the window moves on, the event is the same event.
    polls = []
    with app.test_request_context():
        role = db.session.get(type(long_stretch["role"]), long_stretch["role"].id)
        for days in (0, 1, 9, 20):
            now = utcnow() + timedelta(days=days, hours=days)
            polls.append(read_with_icalendar(calendars.role_calendar(role, now)))
    assert [[(e["uid"], e["start"], e["end"]) for e in poll] for poll in polls] == \
        [[(polls[0][0]["uid"], start, end)]] * 4


def test_a_long_rotation_turn_keeps_its_true_start(app, client, login_as):
    """A one-member rotation: one stretch since its first handover, months ago."""
    from directory.core.models import Rotation, RotationMember

    actor = make_actor("Tyresö kommun")
    role = make_role(actor)
    person = make_person(actor, "Jonas Lindahl")
    starts_on = datetime.now(TZ).date() - timedelta(days=200)
    rotation = Rotation(role=role, name="Ensam", length_days=7, handover_time=time(8, 0),
                        starts_on=starts_on)
    rotation.members = [RotationMember(person=person, position=0)]
    db.session.add(rotation)
    db.session.commit()
    login_as(UserRole.ADMIN)
    text = feed_text(app, create_feed(client, f"role-{role.id}"))
    first = datetime.combine(starts_on, time(8, 0), TZ)
    for read in (read_with_icalendar, read_with_ical_js):
        assert [e["start"] for e in read(text)] == [int(first.timestamp())]
