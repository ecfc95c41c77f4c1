"""The demo region: fictitious actors, people and numbers for Stockholm County.

`flask demo load` fills an empty database with Samverkan Stockholmsregionen
as a demo: the county's 26 municipalities and regional actors, Haninge's
local actors, on-call roles with PACE contact paths, rotations, a scenario
for snow and ice with a call tree per mode, and the regional collaboration
conference. Everything is marked as demo data, and every phone number comes
from the range PTS reserves for fiction (070-174 06 05 to 070-174 06 99), so
no demo entry can ever ring a real phone.

Loading is idempotent: each entry is found by its natural key and created
only when missing; existing rows are never changed. Production refuses it.

The data is in `demo_data`. Read this module top to bottom: the number plan,
small get-or-create helpers, `load_demo`, then the command.
"""

import os
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from directory.accounts.users import UserError, create_user, find_user
from directory.calltrees.rules import add_node
from directory.core import entries as services
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    CallTree,
    CollaborationPattern,
    ContactKind,
    ContactPoint,
    Mode,
    ModeState,
    Override,
    PathMode,
    PatternParticipant,
    Person,
    Role,
    Rotation,
    RotationKind,
    RotationMember,
    Scenario,
    ScenarioMeasure,
    SearchSynonym,
    Shift,
    UserRole,
    utcnow,
)
from directory.core.numbers import display_phone, normalise_phone
from directory.core.text import slugify
from directory.operations.demo_data import (
    ACTOR_KEYWORDS,
    ACTOR_NOTES,
    ALTERNATE_MINUTES,
    BRIDGE_KEY,
    CALL_TREE,
    CONVENER,
    DEFAULT_INSTRUCTIONS,
    DEMO_NOTE,
    ESCALATE_AFTER,
    EXTRA_ALTERNATES,
    FICTION_FIRST,
    FICTION_LAST,
    FICTION_SUFFIXES,
    INSTRUCTIONS,
    KEY_ACTORS,
    LOCAL_ACTORS,
    MEASURES,
    MUNICIPAL_ROLE,
    MUNICIPALITIES,
    NEVER_REVIEWED,
    NOT_A_DRILL,
    OVERRIDE,
    PERSON_NOTES,
    PERSONS,
    REGIONAL_ACTORS,
    ROLE_KEYWORDS,
    ROTATIONS,
    RSK,
    SCENARIO,
    SCENARIO_SLUG,
    SHIFT,
    STANDBY_FIRST_NAMES,
    STANDBY_LAST_NAMES,
    SWITCHBOARD_MUNICIPALITIES,
    SYNONYMS,
    TREE_NAMES,
    USERS,
    WEEKLY,
    WEEKLY_PARTICIPANTS,
    municipality_name,
)
from directory.phones.card_cache import cards_rendered_once


class DemoError(Exception):
    """The demo cannot be loaded; the message says why."""


@dataclass(frozen=True)
class DemoActor:
    name: str
    short_name: str
    kind: ActorKind
    level: ActorLevel
    parent: str | None
    role_name: str
    role_short_name: str


def demo_actors() -> list[DemoActor]:
    """Every demo actor in load order: parents before their children."""
    actors = [
        DemoActor(municipality_name(town), town, ActorKind.MUNICIPALITY,
                  ActorLevel.REGIONAL, None, *MUNICIPAL_ROLE)
        for town in MUNICIPALITIES
    ]
    actors += [
        DemoActor(name, short, kind, ActorLevel.REGIONAL, None, role, role_short)
        for name, short, kind, role, role_short in REGIONAL_ACTORS
    ]
    actors += [
        DemoActor(name, short, kind, ActorLevel.LOCAL, parent, role, role_short)
        for name, short, kind, parent, role, role_short in LOCAL_ACTORS
    ]
    return actors


def switchboard_actors() -> list[str]:
    return [municipality_name(town) for town in SWITCHBOARD_MUNICIPALITIES] + [
        row[0] for row in REGIONAL_ACTORS
    ]


def number_plan() -> dict[str, str]:
    """Every demo phone number, by what it is for, from the fiction range.

    Numbers are handed out in a fixed order, so the same tables always give
    each entry the same number, and a rerun finds what it made before.
    """
    keys = [f"role:{actor.name}" for actor in demo_actors()]
    keys += [f"switchboard:{name}" for name in switchboard_actors()]
    keys += [f"staff:{row[0]}" for row in KEY_ACTORS]
    keys.append(BRIDGE_KEY)
    keys += [f"person:{actor}:{name}" for actor, rows in PERSONS.items() for name, _ in rows]
    if len(set(keys)) != len(keys):
        raise DemoError("The demo number plan names an entry twice.")
    if len(keys) > len(FICTION_SUFFIXES):
        raise DemoError(
            f"The demo needs {len(keys)} phone numbers, but the fiction range "
            f"070-174 06 05 to 99 has only {len(FICTION_SUFFIXES)}."
        )
    plan = {}
    for key, suffix in zip(keys, FICTION_SUFFIXES[: len(keys)], strict=True):
        number = normalise_phone(f"070-174 06 {suffix:02d}")
        if not FICTION_FIRST <= number <= FICTION_LAST:  # never a real number
            raise DemoError(f"{number} is outside the fiction range.")
        plan[key] = number
    return plan


# --- Get or create: find by natural key, create only what is missing ------------


@dataclass
class DemoLogin:
    email: str
    role: UserRole
    created: bool


@dataclass
class DemoReport:
    """What a load created (nothing, on a rerun) and the demo logins."""

    created: Counter = field(default_factory=Counter)
    logins: list[DemoLogin] = field(default_factory=list)
    password: str | None = None  # set when users were made with a generated one

    @property
    def changed(self) -> bool:
        return bool(self.created)


def _get_or_create(report: DemoReport, model, key: dict, **values):
    """The row matching `key` (deleted ones too, so none is made twice), or a new one."""
    row = db.session.scalar(select(model).filter_by(**key).limit(1))
    if row is None:
        row = services.save(model(), {**key, **values})
        report.created[model.__name__] += 1
    return row


def _owner_column(owner) -> str:
    return {
        Actor: "actor_id",
        Role: "role_id",
        Person: "person_id",
        CollaborationPattern: "pattern_id",
    }[type(owner)]


def _get_or_create_contact(report, owner, kind: ContactKind, value: str, **values):
    key = {_owner_column(owner): owner.id, "kind": kind, "value": value}
    return _get_or_create(report, ContactPoint, key, **values)


def _get_or_create_actor(report, spec: DemoActor, actors: dict[str, Actor], now) -> Actor:
    parent = actors[spec.parent] if spec.parent else None
    reviewed = None if spec.name in NEVER_REVIEWED else now
    return _get_or_create(
        report,
        Actor,
        {"slug": slugify(spec.name)},
        name=spec.name,
        short_name=spec.short_name,
        kind=spec.kind,
        level=spec.level,
        parent_id=parent.id if parent else None,
        notes=ACTOR_NOTES,
        keywords=ACTOR_KEYWORDS.get(spec.name, ""),
        is_demo=True,
        last_reviewed_at=reviewed,
    )


def _get_or_create_rotation(report, role, name, kind, days, handover, starts_on, members):
    """A rotation and its members; `starts_on` is set only when it is created."""
    rotation = db.session.scalar(
        select(Rotation).where(Rotation.role_id == role.id, Rotation.name == name).limit(1)
    )
    if rotation is None:
        rotation = Rotation(
            role_id=role.id, name=name, kind=kind, length_days=days,
            handover_time=handover, starts_on=starts_on,
            members=[RotationMember(person=p, position=i) for i, p in enumerate(members)],
        )
        services.save(rotation, {})
        report.created["Rotation"] += 1
        report.created["RotationMember"] += len(members)
    return rotation


def _on_duty(rotation: Rotation, day: date) -> Person | None:
    """Who the rotation has on duty at noon of `day` (before any override)."""
    if not rotation.members:
        return None
    turn = (day - rotation.starts_on).days // rotation.length_days
    return rotation.members[turn % len(rotation.members)].person


def _local_to_utc(day: date, at: time) -> datetime:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _get_or_create_call_tree(report, mode, scenario, today, actors, roles, persons, numbers):
    """One regional call tree for the mode; its nodes are made with the tree only."""
    name = TREE_NAMES[mode]
    if db.session.scalar(select(CallTree).where(CallTree.name == name).limit(1)):
        return
    tree = services.save(
        CallTree(),
        {
            "name": name,
            "actor_id": None,
            "mode": mode,
            "scenario_id": scenario.id,
            "revision": 1,
            "valid_from": today,
            "next_review_on": today + timedelta(days=180),
            "notes": f"{DEMO_NOTE}.",
        },
    )
    report.created["CallTree"] += 1
    staff_numbers = {row[0]: (row[1], numbers[f"staff:{row[0]}"]) for row in KEY_ACTORS}
    switchboards = set(switchboard_actors())

    def instructions(actor_name: str) -> str:
        text = INSTRUCTIONS.get(actor_name, DEFAULT_INSTRUCTIONS)
        if mode is Mode.ORDINARY:
            return text
        staff = staff_numbers.get(actor_name)
        if staff:
            text = f"Ring i första hand: {staff[0]}, {display_phone(staff[1])}. {text}"
        return f"{NOT_A_DRILL} {text}"

    def alternates(actor_name: str) -> list:
        found = []
        for kind, owner, person in EXTRA_ALTERNATES.get(actor_name, ()):
            if kind == "person":
                target = persons[owner, person]
            elif kind == "role":
                target = roles[owner]
            else:
                target = actors[owner]
            found.append((target, ALTERNATE_MINUTES))
        if actor_name in switchboards:  # calling an actor means its switchboard
            found.append((actors[actor_name], ALTERNATE_MINUTES))
        return found

    def add(entry, parent):
        actor_name, children = entry
        node = add_node(
            tree,
            roles[actor_name],
            parent=parent,
            instructions=instructions(actor_name),
            escalate_after_minutes=ESCALATE_AFTER[mode],
            alternates=alternates(actor_name),
        )
        report.created["CallTreeNode"] += 1
        report.created["CallTreeAlternate"] += len(node.alternates)
        for child in children:
            add(child, node)

    add(CALL_TREE, None)


def _get_or_create_pattern(report, spec, scenario, today, actors, roles, participants, numbers):
    convener = actors[CONVENER]
    pattern = _get_or_create(
        report, CollaborationPattern, {"name": spec["name"]},
        convener_actor_id=convener.id, convener_role_id=roles[CONVENER].id,
        mode=spec["mode"], scenario_id=scenario.id if scenario else None,
        recurrence=spec["recurrence"], starts_on=today,
        duration_minutes=spec["duration_minutes"], meeting_place=spec["meeting_place"],
        purpose=spec["purpose"], mandate=spec["mandate"],
    )
    _get_or_create_contact(
        report, pattern, ContactKind.BRIDGE, numbers[BRIDGE_KEY],
        pin=spec["pin"], label="Telefonbrygga", mode=PathMode.BOTH, priority=1,
    )
    if spec["rakel"]:
        _get_or_create_contact(
            report, pattern, ContactKind.RAKEL_GROUP, spec["rakel"],
            label="Rakel talgrupp för samverkan", mode=PathMode.BOTH, priority=2,
        )
    missing = [
        {"pattern_id": pattern.id, "actor_id": actor.id, "role_id": roles[actor.name].id}
        for actor in participants
        if db.session.get(PatternParticipant, (pattern.id, actor.id)) is None
    ]
    if missing:
        db.session.add_all(PatternParticipant(**row) for row in missing)
        db.session.flush()
        report.created["PatternParticipant"] += len(missing)


def _get_or_create_users(report: DemoReport, actors: dict[str, Actor]) -> None:
    """The demo logins; existing accounts (and their passwords) are left alone."""
    password = None
    for email, role, name, editable in USERS:
        if find_user(email) is not None:
            report.logins.append(DemoLogin(email, role, created=False))
            continue
        if password is None:
            password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(12)
            if not os.environ.get("DEMO_PASSWORD"):
                report.password = password
        create_user(email, password, role, name=name, actors=[actors[a] for a in editable])
        report.created["User"] += 1
        report.logins.append(DemoLogin(email, role, created=True))


# --- Loading ---------------------------------------------------------------------


def demo_allowed() -> bool:
    return bool(current_app.config.get("DEMO_ALLOWED"))


def _ensure_demo_allowed() -> None:
    if not demo_allowed():
        raise DemoError(
            "Demo data is not allowed here (DEMO_ALLOWED is off, as in production)."
        )


def _load_actors(report, numbers, now) -> tuple[dict[str, Actor], dict[str, Role]]:
    """Every actor with its duty-officer role and the role's 24/7 number."""
    actors: dict[str, Actor] = {}
    roles: dict[str, Role] = {}  # each actor's duty-officer role, by actor name
    for spec in demo_actors():
        actor = actors[spec.name] = _get_or_create_actor(report, spec, actors, now)
        role = roles[spec.name] = _get_or_create(
            report, Role, {"actor_id": actor.id, "name": spec.role_name},
            short_name=spec.role_short_name,
            description=f"{DEMO_NOTE}. Nås dygnet runt.",
            keywords=ROLE_KEYWORDS.get(spec.name, ""),
        )
        _get_or_create_contact(
            report, role, ContactKind.MOBILE, numbers[f"role:{spec.name}"],
            label="Dygnet runt", mode=PathMode.BOTH, priority=1,
        )
    for name in switchboard_actors():
        _get_or_create_contact(
            report, actors[name], ContactKind.SWITCHBOARD, numbers[f"switchboard:{name}"],
            label="Växel", mode=PathMode.BOTH, priority=1,
        )
    return actors, roles


def _load_pace_paths(report, roles, numbers) -> None:
    """The key actors' further paths: staff number, switchboard, Rakel, meeting point."""
    for name, staff, mailbox, talk_group, meeting_point in KEY_ACTORS:
        role = roles[name]
        short = role.short_name or role.name
        paths = (
            (ContactKind.MOBILE, numbers[f"staff:{name}"], f"{staff} (aktiverat läge)",
             PathMode.ACTIVATED, 1),
            (ContactKind.SWITCHBOARD, numbers[f"switchboard:{name}"],
             f"Växel – be att få {short}", PathMode.BOTH, 2),
            (ContactKind.RAKEL_GROUP, talk_group, "Rakel talgrupp", PathMode.BOTH, 3),
            (ContactKind.ADDRESS, meeting_point,
             "Samlingsplats om telefoni och Rakel ligger nere", PathMode.BOTH, 4),
            (ContactKind.EMAIL, mailbox, "Funktionsbrevlåda (inte för brådskande ärenden)",
             PathMode.BOTH, 5),
        )  # fmt: skip
        for kind, value, label, mode, priority in paths:
            _get_or_create_contact(
                report, role, kind, value, label=label, mode=mode, priority=priority
            )


def _load_persons(report, actors, numbers) -> dict[tuple[str, str], Person]:
    persons: dict[tuple[str, str], Person] = {}
    for actor_name, rows in PERSONS.items():
        for name, title in rows:
            person = persons[actor_name, name] = _get_or_create(
                report, Person, {"actor_id": actors[actor_name].id, "name": name},
                title=title, notes=PERSON_NOTES,
            )
            # Personal mobiles are sensitive; the functional numbers are not.
            _get_or_create_contact(
                report, person, ContactKind.MOBILE, numbers[f"person:{actor_name}:{name}"],
                label="Mobil", mode=PathMode.BOTH, priority=1, confidential=True,
            )
    return persons


def _load_standby_rotations(report, actors, roles, first_monday: date) -> None:
    """Give every duty-officer role without a rotation two officers taking turns."""
    staffed = {actor_name for actor_name, *_ in ROTATIONS}
    for index, (actor_name, actor) in enumerate(sorted(actors.items())):
        if actor_name in staffed:
            continue
        members = []
        for turn in range(2):
            n = 2 * index + turn
            name = (
                f"{STANDBY_FIRST_NAMES[n % len(STANDBY_FIRST_NAMES)]} "
                f"{STANDBY_LAST_NAMES[(n * 7) % len(STANDBY_LAST_NAMES)]}"
            )
            members.append(_get_or_create(
                report, Person, {"actor_id": actor.id, "name": name},
                title=roles[actor_name].name, notes=PERSON_NOTES,
            ))
        _get_or_create_rotation(
            report, roles[actor_name], "Veckorotation", RotationKind.WEEKLY, 7,
            time(8, 0), first_monday, members,
        )


def _load_schedules(report, actors, roles, persons, today: date) -> None:
    """Rotations from the Monday a week before this one (no end), one override, one shift."""
    first_monday = today - timedelta(days=today.weekday(), weeks=1)
    rotations: dict[str, Rotation] = {}
    for actor_name, name, kind, days, handover, members in ROTATIONS:
        rotations[actor_name] = _get_or_create_rotation(
            report, roles[actor_name], name, kind, days, handover, first_monday,
            [persons[actor_name, member] for member in members],
        )

    _load_standby_rotations(report, actors, roles, first_monday)

    next_monday = first_monday + timedelta(weeks=2)
    actor_name, person_name, weekday, reason = OVERRIDE
    rotation = rotations[actor_name]
    day = next_monday + timedelta(days=weekday)
    replaced = _on_duty(rotation, day)
    _get_or_create(
        report, Override,
        {"role_id": roles[actor_name].id, "person_id": persons[actor_name, person_name].id},
        replaces_person_id=replaced.id if replaced else None,
        starts_at=_local_to_utc(day, rotation.handover_time),
        ends_at=_local_to_utc(day + timedelta(days=1), rotation.handover_time),
        reason=reason.format(replaced=replaced.name if replaced else "ordinarie TiB"),
    )

    actor_name, person_name, weekday, note = SHIFT
    day = next_monday + timedelta(days=weekday)
    _get_or_create(
        report, Shift,
        {"role_id": roles[actor_name].id, "person_id": persons[actor_name, person_name].id,
         "note": note},
        starts_at=_local_to_utc(day, time(8, 0)),
        ends_at=_local_to_utc(day + timedelta(days=1), time(8, 0)),
    )


def _load_scenario(report, actors) -> Scenario:
    scenario = _get_or_create(report, Scenario, {"slug": SCENARIO_SLUG}, **SCENARIO)
    positions = Counter()
    for phase, text, responsible in MEASURES:
        positions[phase] += 1
        _get_or_create(
            report, ScenarioMeasure,
            {"scenario_id": scenario.id, "phase": phase, "position": positions[phase]},
            text=text, responsible_actor_id=actors[responsible].id if responsible else None,
        )
    return scenario


def load_demo(today: date | None = None) -> DemoReport:
    """Create whatever part of the demo region is missing; flush, do not commit.

    Its entries' vCards are rendered once, at the end (`cards_rendered_once`).
    """
    _ensure_demo_allowed()
    with cards_rendered_once(db.session()):
        return _load_demo(today)


def _load_demo(today: date | None) -> DemoReport:
    if today is None:
        today = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
    numbers = number_plan()
    report = DemoReport()
    now = utcnow()

    actors, roles = _load_actors(report, numbers, now)
    _load_pace_paths(report, roles, numbers)
    persons = _load_persons(report, actors, numbers)
    _load_schedules(report, actors, roles, persons, today)
    scenario = _load_scenario(report, actors)
    for mode in (Mode.ORDINARY, Mode.ACTIVATED):
        _get_or_create_call_tree(report, mode, scenario, today, actors, roles, persons, numbers)
    regional = [a for a in actors.values() if a.level == ActorLevel.REGIONAL]
    _get_or_create_pattern(report, RSK, scenario, today, actors, roles, regional, numbers)
    weekly = [actors[name] for name in WEEKLY_PARTICIPANTS]
    _get_or_create_pattern(report, WEEKLY, None, today, actors, roles, weekly, numbers)
    _get_or_create(
        report, ModeState, {"scope": "region"},
        actor_id=None, mode=Mode.ORDINARY, since=now, reason="Demo: ordinarie läge",
    )
    _get_or_create_users(report, actors)
    _load_synonyms(report)
    return report


def _load_synonyms(report) -> None:
    """The region's synonyms, unless coordinators already keep some."""
    if db.session.scalar(select(SearchSynonym.id).limit(1)) is not None:
        return
    db.session.add_all(SearchSynonym(terms=terms) for terms in SYNONYMS)
    report.created["SearchSynonym"] += len(SYNONYMS)


# --- The command -----------------------------------------------------------------

demo_cli = AppGroup("demo", help="The fictitious demo region.")


def _echo_report(report: DemoReport) -> None:
    if report.changed:
        made = ", ".join(f"{n} {model}" for model, n in sorted(report.created.items()))
        click.echo(f"Loaded the demo region ({made}).")
    else:
        click.echo("The demo region is already loaded; nothing changed.")
    click.echo("Demo logins:")
    for login in report.logins:
        state = "created" if login.created else "exists, password unchanged"
        click.echo(f"  {login.email:<22} {login.role.value:<7} ({state})")
    if report.password:
        click.echo(f"Password for the new demo logins: {report.password}")
    elif any(login.created for login in report.logins):
        click.echo("Password for the new demo logins: the one in DEMO_PASSWORD.")
    _echo_reset_hint([login.email for login in report.logins if not login.created])


def _echo_reset_hint(emails: list[str]) -> None:
    """How to get into a demo login whose generated password was printed long ago."""
    if not emails:
        return
    click.echo("Forgot the demo password? Set a new one (it asks for it):")
    for email in emails:
        click.echo(f"  .venv/bin/flask --app wsgi users set-password {email}")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing if any actor exists already.")
def load_command(if_empty: bool) -> None:
    """Load the fictitious demo region (refused in production)."""
    try:
        _ensure_demo_allowed()
    except DemoError as error:
        raise click.ClickException(str(error)) from None
    if if_empty and db.session.scalar(select(Actor.id).limit(1)) is not None:
        click.echo("The database already has actors; the demo region was not loaded.")
        demo_logins = [email for email, *_ in USERS if find_user(email) is not None]
        if demo_logins:
            click.echo(f"Demo logins: {', '.join(demo_logins)}.")
        _echo_reset_hint(demo_logins)
        return
    try:
        report = load_demo()
    except (DemoError, UserError) as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    _echo_report(report)


def init_app(app: Flask) -> None:
    """Register the `flask demo` command group (with `synth`, the bulk generator)."""
    from directory.operations.synth import synth_command

    demo_cli.add_command(synth_command)
    app.cli.add_command(demo_cli)
