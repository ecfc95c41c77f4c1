"""Who is on call: override > shift > rotation, in Stockholm time, across DST."""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from directory.core.extensions import db
from directory.core.models import Override, Rotation, RotationKind, RotationMember, Shift
from directory.core.schedules import (
    NEXT_HORIZON,
    next_on_call,
    on_call_for_roles,
    outlook,
    resolve_on_call,
    timelines,
    unchanged_until,
)
from tests.conftest import make_actor, make_person, make_role

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=STOCKHOLM).astimezone(UTC)


def rotation_with(role, names, *, starts_on, length_days=7, handover=time(8, 0)):
    people = [make_person(role.actor, name) for name in names]
    rotation = Rotation(
        role=role, kind=RotationKind.WEEKLY if length_days == 7 else RotationKind.DAILY,
        length_days=length_days, handover_time=handover, starts_on=starts_on,
        members=[RotationMember(person=p, position=i) for i, p in enumerate(people)],
    )
    db.session.add(rotation)
    db.session.flush()
    return people


def test_weekly_handover_stays_at_0800_local_across_the_spring_dst_change(app):
    role = make_role(make_actor())
    anna, bo = rotation_with(role, ["Anna", "Bo"], starts_on=date(2026, 3, 23))  # Monday
    # Winter: 08:00 CET is 07:00 UTC. Clocks go forward on Sunday 29 March.
    assert resolve_on_call(role, utc(2026, 3, 23, 7, 0), STOCKHOLM).person == anna
    # Summer: the next handover is 08:00 CEST, which is 06:00 UTC.
    assert resolve_on_call(role, utc(2026, 3, 30, 5, 59), STOCKHOLM).person == anna
    on_call = resolve_on_call(role, utc(2026, 3, 30, 6, 0), STOCKHOLM)
    assert on_call.person == bo
    assert on_call.starts_at == local(2026, 3, 30, 8, 0) == utc(2026, 3, 30, 6, 0)
    assert on_call.ends_at == local(2026, 4, 6, 8, 0)


def test_weekly_handover_across_the_autumn_dst_change(app):
    role = make_role(make_actor())
    anna, bo = rotation_with(role, ["Anna", "Bo"], starts_on=date(2026, 10, 19))
    # Clocks go back on Sunday 25 October: 08:00 CEST (06:00 UTC) -> 08:00 CET (07:00 UTC).
    assert resolve_on_call(role, utc(2026, 10, 26, 6, 30), STOCKHOLM).person == anna
    assert resolve_on_call(role, utc(2026, 10, 26, 7, 0), STOCKHOLM).person == bo


def test_daily_rotation_handing_over_late_evening_spans_midnight(app):
    role = make_role(make_actor())
    anna, bo, cia = rotation_with(role, ["Anna", "Bo", "Cia"], starts_on=date(2026, 12, 1),
                                  length_days=1, handover=time(22, 0))
    assert resolve_on_call(role, local(2026, 12, 1, 21, 59), STOCKHOLM).person is None
    assert resolve_on_call(role, local(2026, 12, 1, 22, 0), STOCKHOLM).person == anna
    assert resolve_on_call(role, local(2026, 12, 2, 1, 0), STOCKHOLM).person == anna
    assert resolve_on_call(role, local(2026, 12, 2, 22, 0), STOCKHOLM).person == bo
    assert resolve_on_call(role, local(2026, 12, 4, 3, 0), STOCKHOLM).person == cia
    assert resolve_on_call(role, local(2026, 12, 4, 22, 30), STOCKHOLM).person == anna


def test_override_inside_a_rotation_wins_then_the_rotation_resumes(app):
    role = make_role(make_actor())
    anna, _bo = rotation_with(role, ["Anna", "Bo"], starts_on=date(2026, 11, 30))
    stand_in = make_person(role.actor, "Åsa Öberg")
    db.session.add(Override(role=role, person=stand_in, replaces_person=anna,
                            starts_at=local(2026, 12, 2, 8, 0), ends_at=local(2026, 12, 3, 8, 0)))
    db.session.flush()
    during = resolve_on_call(role, local(2026, 12, 2, 12, 0), STOCKHOLM)
    assert (during.person, during.source) == (stand_in, "override")
    assert during.ends_at == local(2026, 12, 3, 8, 0)
    assert resolve_on_call(role, local(2026, 12, 3, 8, 0), STOCKHOLM).person == anna


def test_overlapping_overrides_are_resolved_by_the_latest(app):
    role = make_role(make_actor())
    first, second = make_person(role.actor, "Först"), make_person(role.actor, "Sist")
    start = local(2026, 12, 2, 8, 0)
    db.session.add(Override(role=role, person=first, starts_at=start,
                            ends_at=start + timedelta(days=2)))
    db.session.flush()
    db.session.add(Override(role=role, person=second, starts_at=start + timedelta(hours=4),
                            ends_at=start + timedelta(hours=8),
                            created_at=datetime.now(UTC) + timedelta(seconds=1)))
    db.session.flush()
    assert resolve_on_call(role, start + timedelta(hours=5), STOCKHOLM).person == second
    assert resolve_on_call(role, start + timedelta(hours=9), STOCKHOLM).person == first


def test_shift_beats_rotation_and_override_beats_shift(app):
    role = make_role(make_actor())
    anna, _ = rotation_with(role, ["Anna", "Bo"], starts_on=date(2026, 11, 30))
    shift_person, override_person = make_person(role.actor, "Pass"), make_person(role.actor, "Ö")
    at = local(2026, 12, 1, 12, 0)
    db.session.add(Shift(role=role, person=shift_person, starts_at=at - timedelta(hours=1),
                         ends_at=at + timedelta(hours=1)))
    db.session.flush()
    assert resolve_on_call(role, at, STOCKHOLM).source == "shift"
    db.session.add(Override(role=role, person=override_person, starts_at=at,
                            ends_at=at + timedelta(minutes=30)))
    db.session.flush()
    assert resolve_on_call(role, at, STOCKHOLM).person == override_person


def test_nobody_on_call_is_said_plainly(app):
    role = make_role(make_actor())
    result = resolve_on_call(role, utc(2026, 12, 1, 12, 0), STOCKHOLM)
    assert (result.person, result.source) == (None, "nobody")


def test_a_rotation_ends_on_its_end_date(app):
    role = make_role(make_actor())
    rotation_with(role, ["Anna"], starts_on=date(2026, 11, 30))
    role.rotations[0].ends_on = date(2026, 12, 3)
    db.session.flush()
    assert resolve_on_call(role, local(2026, 12, 2, 12, 0), STOCKHOLM).ends_at == local(
        2026, 12, 3, 8, 0)
    assert resolve_on_call(role, local(2026, 12, 3, 9, 0), STOCKHOLM).person is None


def test_timeline_shows_turns_overrides_and_gaps(app):
    from directory.core.schedules import timeline

    role = make_role(make_actor())
    anna, bo = rotation_with(role, ["Anna", "Bo"], starts_on=date(2026, 12, 7))
    stand_in = make_person(role.actor, "Åsa Öberg")
    db.session.add(Override(role=role, person=stand_in, starts_at=local(2026, 12, 9, 12, 0),
                            ends_at=local(2026, 12, 9, 18, 0)))
    db.session.flush()
    stretches = timeline(role, local(2026, 12, 6, 0, 0), local(2026, 12, 21, 8, 0), STOCKHOLM)
    assert [(s.person.name if s.person else None, s.starts_at, s.ends_at) for s in stretches] == [
        (None, local(2026, 12, 6, 0, 0), local(2026, 12, 7, 8, 0)),  # a gap before it starts
        ("Anna", local(2026, 12, 7, 8, 0), local(2026, 12, 9, 12, 0)),
        ("Åsa Öberg", local(2026, 12, 9, 12, 0), local(2026, 12, 9, 18, 0)),
        ("Anna", local(2026, 12, 9, 18, 0), local(2026, 12, 14, 8, 0)),
        ("Bo", local(2026, 12, 14, 8, 0), local(2026, 12, 21, 8, 0)),
    ]


def test_daily_meetings_stay_at_local_time_across_dst(app):
    from directory.core.models import CollaborationPattern, PathMode
    from directory.core.patterns import occurrences

    actor = make_actor()
    pattern = CollaborationPattern(name="RSK", convener_actor=actor, mode=PathMode.ACTIVATED,
                                   recurrence="FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0",
                                   starts_on=date(2026, 3, 27))
    moments = occurrences(pattern, local(2026, 3, 28, 16, 0), STOCKHOLM, count=3)
    assert moments == [
        local(2026, 3, 29, 9, 0),  # the first morning of summer time: 07:00 UTC
        local(2026, 3, 29, 15, 0),
        local(2026, 3, 30, 9, 0),
    ]
    assert moments[0] == utc(2026, 3, 29, 7, 0)


def test_one_outlook_answers_as_the_three_reads_it_replaces(app):
    """The actor page and search results read the overrides and shifts of their
    roles once (`outlook`) for who is on call now, who comes next and until
    when the page holds. Over roles with rotations, shifts and overrides
    around every edge that matters (now, the next ten minutes, the horizon and
    ten minutes past it, DST), each answer is the one the separate reads give."""
    rng = random.Random(7)
    actor = make_actor()
    at = local(2026, 10, 24, 9, 0)  # the autumn DST change falls within the horizon
    edges = [timedelta(0), timedelta(minutes=4), timedelta(minutes=10),
             NEXT_HORIZON - timedelta(minutes=3), NEXT_HORIZON, NEXT_HORIZON + timedelta(minutes=7),
             NEXT_HORIZON + timedelta(minutes=12), timedelta(days=3)]
    roles = []
    for i in range(12):
        role = make_role(actor, f"Roll {i}")
        roles.append(role)
        if i % 3 == 0:
            rotation_with(role, [f"R{i}a", f"R{i}b"], starts_on=date(2026, 10, 19),
                          length_days=rng.choice((1, 7)), handover=time(rng.randint(0, 23), 0))
        for model in (Shift, Override)[: 1 + i % 2]:
            for _ in range(rng.randint(0, 3)):
                start = at + rng.choice(edges) + timedelta(minutes=rng.choice((-30, -1, 0, 1, 5)))
                db.session.add(model(role=role, person=make_person(actor, f"P{rng.random()}"),
                                     starts_at=start,
                                     ends_at=start + rng.choice(edges[1:]) + timedelta(minutes=1)))
    db.session.flush()
    moments = (at, at + timedelta(minutes=6), at + timedelta(days=1, hours=3))
    # the actor page's horizon, and the role page's four weeks (its role listed
    # again among its escalation's roles)
    for horizon, listed in ((NEXT_HORIZON, roles), (timedelta(weeks=4), [*roles, roles[0]])):
        for moment in moments:
            seen = outlook(listed, moment, STOCKHOLM, horizon)
            assert seen.now == on_call_for_roles(roles, moment, STOCKHOLM)
            ahead = timelines(roles, moment, moment + horizon, STOCKHOLM)
            assert seen.timelines == ahead
            assert seen.next == {role.id: next_on_call(ahead[role.id]) for role in roles}
            assert seen.unchanged_until == unchanged_until(roles, moment, STOCKHOLM, horizon)
    assert any(seen.now[r.id].source == "shift" for r in roles)
    assert any(seen.next[r.id] is not None for r in roles)
    assert outlook([], at, STOCKHOLM).unchanged_until == unchanged_until([], at, STOCKHOLM)
