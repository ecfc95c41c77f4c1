"""Synthetic bulk data: in proportion, valid numbers, unique slugs, found by search."""

from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from sqlalchemy import func, select

from directory.core.extensions import db
from directory.core.models import (
    PHONE_KINDS,
    Actor,
    AuditEvent,
    ContactPoint,
    Person,
    Role,
    Rotation,
    Shift,
)
from directory.core.text import fold
from directory.lookup.search import search
from directory.operations.synth import SynthError, generate_synthetic, plan_synthetic, write_plan
from tests.conftest import TODAY, make_actor

PERSONS = 200


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def synth(app):
    report = generate_synthetic(PERSONS, seed=7, today=TODAY)
    db.session.commit()
    return report


def test_counts_are_in_proportion(synth):
    # Per 50 000 persons: 2 000 actors, ~100 000 paths, ~20 000 shifts.
    assert count(Person) == PERSONS
    assert count(Actor) == PERSONS // 25
    assert count(Actor) <= count(Role) <= 2 * count(Actor)
    assert 1.7 * PERSONS <= count(ContactPoint) <= 2.3 * PERSONS
    assert 0.3 * PERSONS <= count(Shift) <= 0.5 * PERSONS
    assert count(Rotation) >= 1
    assert synth.counts["persons"] == PERSONS


def test_everything_is_marked_as_demo_data(synth):
    actors = db.session.scalars(select(Actor)).all()
    assert all(a.is_demo and "SYNTETISK" in a.notes for a in actors)
    assert {a.level.value for a in actors} == {"regional", "local"}
    assert any(a.parent_id for a in actors)


def test_every_number_is_valid_e164_and_unique(synth):
    values = db.session.scalars(
        select(ContactPoint.value).where(ContactPoint.kind.in_(PHONE_KINDS))
    ).all()
    assert len(values) > PERSONS
    assert len(set(values)) == len(values)
    for value in values:
        number = phonenumbers.parse(value, None)
        assert phonenumbers.is_valid_number(number), value
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == value


def test_some_paths_apply_only_in_activated_mode(synth):
    modes = set(db.session.scalars(select(ContactPoint.mode)))
    assert "activated" in modes


def test_slugs_are_unique_and_do_not_clash_with_existing_actors(app):
    generate_synthetic(PERSONS, seed=7, today=TODAY)
    generate_synthetic(PERSONS, seed=7, today=TODAY)  # the same names again
    slugs = db.session.scalars(select(Actor.slug)).all()
    assert len(slugs) == 2 * (PERSONS // 25)
    assert len(set(slugs)) == len(slugs)


def test_an_existing_actors_slug_is_left_alone(app):
    tz = ZoneInfo(app.config["TIMEZONE"])
    first = plan_synthetic(PERSONS, 7, TODAY, tz).actors[0]
    make_actor(first["name"], slug=first["slug"])
    generate_synthetic(PERSONS, seed=7, today=TODAY)
    clashing = db.session.scalars(select(Actor).where(Actor.name == first["name"])).all()
    assert len({a.slug for a in clashing}) == 2


def test_rows_are_linked_as_planned(app):
    plan = plan_synthetic(PERSONS, 5, TODAY, ZoneInfo(app.config["TIMEZONE"]))
    write_plan(plan)
    persons = db.session.scalars(select(Person).order_by(Person.id)).all()
    assert [(p.name, p.actor.name) for p in persons] == [
        (p["name"], plan.actors[p["actor"]]["name"]) for p in plan.persons
    ]
    parents = {a.name: a.parent.name for a in db.session.scalars(select(Actor)) if a.parent}
    assert parents == {
        a["name"]: plan.actors[a["parent"]]["name"]
        for a in plan.actors
        if a["parent"] is not None
    }


def test_same_seed_gives_the_same_region(app):
    tz = ZoneInfo(app.config["TIMEZONE"])
    one, two = (plan_synthetic(PERSONS, 3, TODAY, tz) for _ in range(2))
    assert [p["name"] for p in one.persons] == [p["name"] for p in two.persons]
    assert [c["value"] for c in one.contacts] == [c["value"] for c in two.contacts]
    other = plan_synthetic(PERSONS, 4, TODAY, tz)
    assert [c["value"] for c in other.contacts] != [c["value"] for c in one.contacts]


def test_search_finds_a_person_by_name_with_diacritics_folded(synth):
    names = db.session.scalars(select(Person.name)).all()
    name = next(n for n in names if any(c in n for c in "åäöÅÄÖ"))
    person = db.session.scalar(select(Person).where(Person.name == name).limit(1))
    assert fold(name) != name.lower()
    assert person in [hit.entry for hit in search(fold(name))]


def test_search_finds_a_municipalitys_duty_officer(synth):
    place = db.session.scalar(
        select(Actor.short_name).where(Actor.kind == "municipality").limit(1)
    )
    hits = search(f"{place} tib")
    assert isinstance(hits[0].entry, Role) and hits[0].entry.short_name == "TiB"


def test_shifts_end_after_they_start_over_the_coming_weeks(synth):
    shifts = db.session.scalars(select(Shift)).all()
    assert all(s.ends_at > s.starts_at for s in shifts)
    first, last = min(s.starts_at for s in shifts), max(s.starts_at for s in shifts)
    assert (last - first).days >= 13


def test_bulk_rows_are_not_audited(synth):
    assert count(AuditEvent) == 0


def test_refused_when_demo_data_is_not_allowed(app):
    app.config["DEMO_ALLOWED"] = False
    with pytest.raises(SynthError, match="DEMO_ALLOWED"):
        generate_synthetic(PERSONS, seed=7, today=TODAY)
    assert count(Actor) == 0


def test_the_command_refuses_in_production_config(app, runner):
    app.config["DEMO_ALLOWED"] = False
    result = runner.invoke(args=["demo", "synth", "--persons", "10"])
    assert result.exit_code != 0
    assert "not allowed" in result.output
    assert count(Actor) == 0


def test_the_command_adds_and_reports(app, runner):
    result = runner.invoke(args=["demo", "synth", "--persons", "50", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "50 persons" in result.output
    assert count(Person) == 50
