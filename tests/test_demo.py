"""The demo region: fictitious, idempotent, and never loaded in production."""

import re
from datetime import date, timedelta

from sqlalchemy import func, select

from directory.accounts.users import find_user
from directory.core.extensions import db
from directory.core.models import (
    PHONE_KINDS,
    Actor,
    ActorKind,
    ActorLevel,
    CallTree,
    CardChange,
    ContactKind,
    ContactPoint,
    Mode,
    Role,
    Rotation,
    Scenario,
    User,
    UserRole,
    VCardCache,
)
from directory.core.security import verify_password
from directory.operations.demo import load_demo
from directory.phones.card_cache import rebuild_all

TODAY = date(2026, 11, 27)
HANINGE_LOCAL_ACTORS = {
    "Södertörns Buss AB (demo)",
    "Handens Snöröjning AB (demo)",
    "Jordbro Maskin & Väg AB (demo)",
    "FRG Haninge",
    "Lokalpolisområde Haninge/Nynäshamn",
}


def actor(slug: str) -> Actor:
    return db.session.scalar(select(Actor).where(Actor.slug == slug))


def contact_points() -> set[tuple]:
    return {
        (p.id, p.value, p.priority, p.mode, p.version)
        for p in db.session.scalars(select(ContactPoint))
    }


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def test_load_creates_the_municipalities_and_regional_actors(app):
    load_demo(TODAY)

    municipalities = db.session.scalars(
        select(Actor).where(Actor.kind == ActorKind.MUNICIPALITY)
    ).all()
    assert len(municipalities) == 26
    slugs = {a.slug for a in municipalities}
    assert {"haninge-kommun", "stockholms-stad", "osterakers-kommun"} <= slugs
    county_board = actor("lansstyrelsen-stockholm")
    assert county_board.name == "Länsstyrelsen Stockholm"
    assert county_board.kind == ActorKind.COUNTY_BOARD
    assert county_board.level == ActorLevel.REGIONAL
    assert actor("sos-alarm").kind == ActorKind.EMERGENCY_CENTRE
    assert actor("lokalpolisomrade-haninge-nynashamn").parent == actor("polismyndigheten")
    every_actor = db.session.scalars(select(Actor)).all()
    assert all(a.is_demo and a.notes.startswith("DEMO – fiktiva uppgifter") for a in every_actor)


def cached_cards() -> dict[tuple, str]:
    rows = db.session.execute(select(
        VCardCache.entity_type, VCardCache.entity_id, VCardCache.variants, VCardCache.card))
    return {(kind, entity_id, variant): text for kind, entity_id, variant, text in rows}


def test_the_demos_cards_are_rendered_once_and_match_a_fresh_render(app):
    """The demo flushes entry by entry; its cards are rendered once, at the end
    (one change in the CardDAV log), and the cache holds exactly what a
    rebuild from scratch renders."""
    load_demo(TODAY)
    db.session.commit()
    cached = cached_cards()
    assert len(cached) > 150
    assert db.session.scalars(select(CardChange.seq).distinct()).all() == [
        db.session.scalar(select(func.max(CardChange.seq)))]
    rebuild_all()
    db.session.commit()
    assert cached == cached_cards()


def test_second_load_changes_nothing(app):
    load_demo(TODAY)
    db.session.commit()
    counts = row_counts()
    points = contact_points()
    starts = {r.id: r.starts_on for r in db.session.scalars(select(Rotation))}
    hashes = {u.email: u.password_hash for u in db.session.scalars(select(User))}

    report = load_demo(TODAY + timedelta(days=9))  # a later week, too
    db.session.commit()

    assert not report.changed
    assert row_counts() == counts
    assert contact_points() == points
    assert {r.id: r.starts_on for r in db.session.scalars(select(Rotation))} == starts
    assert {u.email: u.password_hash for u in db.session.scalars(select(User))} == hashes
    assert {t.valid_from for t in db.session.scalars(select(CallTree))} == {TODAY}


def test_every_phone_number_is_in_the_fiction_range(app):
    load_demo(TODAY)

    numbers = db.session.scalars(
        select(ContactPoint.value).where(ContactPoint.kind.in_(PHONE_KINDS))
    ).all()
    assert len(numbers) > 80
    assert all("+46701740605" <= n <= "+46701740699" and len(n) == 12 for n in numbers)


def test_each_duty_officer_role_has_its_own_24_7_number(app):
    load_demo(TODAY)

    round_the_clock = db.session.scalars(
        select(ContactPoint.value)
        .join(Role, ContactPoint.role_id == Role.id)
        .where(ContactPoint.kind == ContactKind.MOBILE, ContactPoint.label == "Dygnet runt")
    ).all()
    assert len(round_the_clock) == db.session.scalar(select(func.count(Role.id)))
    assert len(set(round_the_clock)) == len(round_the_clock)


def test_demo_users_have_their_roles_and_the_editor_edits_haninge(app, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-lösenord-2026")

    report = load_demo(TODAY)

    assert find_user("admin@demo.example").role == UserRole.ADMIN
    assert find_user("viewer@demo.example").role == UserRole.VIEWER
    editor = find_user("editor@demo.example")
    assert editor.role == UserRole.EDITOR
    assert [a.slug for a in editor.actors] == ["haninge-kommun"]
    assert verify_password(editor, "demo-lösenord-2026")
    assert report.password is None  # it came from the environment: not echoed


def test_call_trees_one_per_mode_reach_haninges_local_actors(app):
    load_demo(TODAY)
    scenario = db.session.scalar(
        select(Scenario).where(Scenario.slug == "trafikstorningar-sno-halka")
    )

    trees = db.session.scalars(select(CallTree).where(CallTree.scenario_id == scenario.id)).all()

    assert sorted(t.mode for t in trees) == [Mode.ACTIVATED, Mode.ORDINARY]
    for tree in trees:
        assert tree.actor_id is None and tree.revision == 1
        root = next(n for n in tree.nodes if n.parent_id is None)
        assert root.target.actor.slug == "lansstyrelsen-stockholm"
        haninge = next(
            n for n in tree.nodes if n.target_role and n.target_role.actor.slug == "haninge-kommun"
        )
        below_haninge = {n.target.actor.name for n in tree.nodes if n.parent_id == haninge.id}
        assert below_haninge == HANINGE_LOCAL_ACTORS
    activated = next(t for t in trees if t.mode == Mode.ACTIVATED)
    assert all("detta är inte en övning" in n.instructions for n in activated.nodes)


def test_load_command_refuses_when_demo_not_allowed(app, runner):
    app.config["DEMO_ALLOWED"] = False

    result = runner.invoke(args=["demo", "load"])

    assert result.exit_code != 0
    assert "DEMO_ALLOWED" in result.output
    assert row_counts()["actor"] == 0
    assert row_counts()["user_account"] == 0


def test_duty_officer_roles_of_key_actors_have_rotations(app):
    load_demo(TODAY)

    for slug, size in (("haninge-kommun", 4), ("lansstyrelsen-stockholm", 3)):
        roles = actor(slug).roles
        assert roles
        for role in roles:
            assert [len(r.members) for r in role.rotations] == [size]
            rotation = role.rotations[0]
            assert rotation.starts_on == date(2026, 11, 16)  # the Monday a week before
            assert rotation.ends_on is None


def test_every_duty_officer_role_has_a_rotation_with_members(app):
    load_demo(TODAY)

    roles = db.session.scalars(select(Role)).all()
    assert len(roles) == db.session.scalar(select(func.count(Actor.id)))
    for role in roles:
        assert role.rotations, f"{role.actor.name}: {role.name} has no rotation"
        assert all(len(r.members) >= 2 for r in role.rotations)


def test_load_command_commits_and_prints_the_logins(app, runner, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)

    result = runner.invoke(args=["demo", "load"])

    assert result.exit_code == 0, result.output
    for email in ("admin@demo.example", "editor@demo.example", "viewer@demo.example"):
        assert email in result.output
    password = re.search(r"Password for the new demo logins: (\S+)", result.output).group(1)
    db.session.rollback()  # whatever was not committed is gone now
    assert verify_password(find_user("admin@demo.example"), password)


def test_load_command_if_empty_leaves_a_filled_database_alone(app, runner):
    db.session.add(
        Actor(slug="egen", name="Egen aktör", kind=ActorKind.OTHER, level=ActorLevel.LOCAL)
    )
    db.session.commit()

    result = runner.invoke(args=["demo", "load", "--if-empty"])

    assert result.exit_code == 0, result.output
    assert "not loaded" in result.output
    assert row_counts()["actor"] == 1

