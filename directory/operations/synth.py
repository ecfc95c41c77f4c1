"""Synthetic national-scale data: thousands of actors, people and numbers, fast.

`flask demo synth --persons 50000` adds a made-up region of that size on top
of whatever the database holds, for load tests and benchmarks. Per 50 000
persons it makes about 2 000 actors (municipalities with their
administrations, rescue services, local police areas under police regions,
companies, volunteer groups, agencies), one or two on-call roles per actor,
about 100 000 contact paths and about 20 000 shifts over the coming weeks,
plus weekly rotations for some roles. Everything is marked as demo data with
the note "SYNTETISK – genererad testdata".

The numbers are NOT from the fiction range (it has 95 numbers): they are
valid Swedish mobile and Stockholm landline numbers, drawn at random, so some
may belong to real subscribers. Never use synthetic data where someone might
dial from it.

Speed comes from bulk Core inserts: the ORM's flush hooks do not run, so this
module fills `search_key` itself, rebuilds the search index once at the end,
and writes nothing to the audit trail. The same seed gives the same region
(given the same slugs and numbers already taken).

Read top to bottom: the word lists, the plan (pure Python, no database), the
writer, then the command.
"""

import math
import random
import time as clock
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
import phonenumbers
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import insert, select

from directory.core.database import vacuum_analyze
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    ContactKind,
    ContactPoint,
    PathMode,
    Person,
    Role,
    Rotation,
    RotationKind,
    RotationMember,
    SearchTerm,
    Shift,
    utcnow,
)
from directory.core.text import fold, search_key, slugify
from directory.lookup import index

SYNTH_NOTE = "SYNTETISK – genererad testdata"

# Proportions: per 50 000 persons about 2 000 actors and 20 000 shifts.
PERSONS_PER_ACTOR = 25
SHIFTS_PER_PERSON = 0.4
SHIFTS_PER_STAFFED_ROLE = 28  # four weeks of 24-hour shifts, or two of 12-hour ones
ACTORS_PER_PLACE = 6
NATIONAL_SHARE = 40  # one national actor (police region, agency...) per 40 actors
CHUNK = 5000

# Numbers the demo owns (the PTS fiction range) are never handed out here.
FICTION_PREFIX = "+467017406"
MOBILE_PREFIXES = ("70", "72", "73", "76", "79")

# --- Words ------------------------------------------------------------------------

FIRST_NAMES = (
    "Anna", "Åsa", "Agnes", "Alva", "Astrid", "Birgitta", "Britt", "Cecilia", "Ebba",
    "Elin", "Frida", "Gunilla", "Hedvig", "Ingrid", "Josefin", "Kajsa", "Karin",
    "Kerstin", "Lena", "Linnéa", "Maja", "Malin", "Margareta", "Märta", "Signe",
    "Sofia", "Solveig", "Tove", "Ulla", "Ylva", "Anders", "Åke", "Björn", "Erik",
    "Fredrik", "Gösta", "Göran", "Gustav", "Håkan", "Henrik", "Johan", "Jöns",
    "Jörgen", "Karl", "Lars", "Magnus", "Måns", "Mårten", "Mats", "Nils", "Olof",
    "Örjan", "Östen", "Pär", "Per", "Sölve", "Sören", "Stefan", "Torbjörn", "Ulf",
)  # fmt: skip
PATRONYMICS = (
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Pettersson", "Jönsson", "Håkansson",
    "Mårtensson", "Göransson", "Söderlund", "Åberg", "Öberg", "Ängström", "Lövgren",
)  # fmt: skip
SURNAME_HEADS = (
    "Berg", "Lund", "Sjö", "Ström", "Ek", "Åker", "Lind", "Holm", "Nord", "Sand",
    "Öst", "Häll", "Björk", "Gran", "Löv", "Ros", "Dahl", "Fors", "Hag", "Ny",
    "Sköld", "Wall", "Ås", "Hed", "Bäck", "Käll", "Sten", "Söder", "Väst", "Ljung",
)  # fmt: skip
SURNAME_TAILS = (
    "ström", "berg", "lund", "gren", "qvist", "dahl", "blad", "sten", "mark", "hag",
    "vall", "stedt", "man", "ling", "fält", "bäck", "sjö", "holm", "löf", "näs", "ås",
)  # fmt: skip
PLACE_HEADS = (
    "Björk", "Ek", "Sjö", "Ås", "Näs", "Lind", "Hög", "Älv", "Öster", "Väster",
    "Norr", "Söder", "Gran", "Fur", "Berg", "Stor", "Lill", "Kvarn", "Mål", "Tå",
    "Hammar", "Rönn", "Asp", "Säl", "Malm", "Varg", "Ulv", "Orm", "Sten", "Dal",
    "Hägg", "Vik", "Strand", "Öre", "Bro", "Käll", "Hjort", "Tall", "Ljung", "Gull",
)  # fmt: skip
PLACE_TAILS = (
    "by", "berga", "vik", "ås", "ö", "köping", "hamn", "näs", "ryd", "sund", "torp",
    "sjö", "dal", "holm", "stad", "fors", "tuna", "hult", "inge", "åker", "lösa",
    "bro", "hed", "ränna", "mora", "boda", "bäck", "rum", "vall", "säter",
)  # fmt: skip
PLACE_QUALIFIERS = ("Norra", "Södra", "Östra", "Västra", "Övre", "Nedre", "Stora", "Lilla")
TITLES = (
    "Beredskapssamordnare", "Säkerhetschef", "Stabschef", "Kommunikatör",
    "Räddningschef", "Driftansvarig", "Förvaltningschef", "Enhetschef",
    "Handläggare", "Krisberedskapshandläggare", "Biträdande räddningschef",
    "Säkerhetssamordnare", "Verksamhetschef", "Styrkeledare", "Informationsansvarig",
)  # fmt: skip
ADMINISTRATIONS = (
    "Socialförvaltningen", "Samhällsbyggnadsförvaltningen", "Utbildningsförvaltningen",
    "Miljöförvaltningen", "Kulturförvaltningen", "Tekniska förvaltningen",
    "Äldreförvaltningen",
)  # fmt: skip
COMPANIES = ("Energi AB", "Vatten AB", "Buss AB", "Snöröjning AB", "Hamn AB", "Fjärrvärme AB")

# --- On-call roles: (name, short name) -------------------------------------------

TIB = ("Tjänsteman i beredskap", "TiB")
VB = ("Vakthavande befäl", "VB")
RCB = ("Räddningschef i beredskap", "RCB")
IB = ("Inre befäl", "IB")
KIB = ("Kommunikatör i beredskap", "KiB")
SCIB = ("Stabschef i beredskap", "SCiB")
RTIB = ("Regional tjänsteman i beredskap", "RTiB")
SML = ("Smittskyddsläkare i beredskap", "SmL")
DIB = ("Driftledare i beredskap", "DiB")
TL = ("Trafikledare i beredskap", "TL")
OCIB = ("Operativ chef i beredskap", "OCiB")
BEREDSKAP = ("Beredskapsansvarig", "")
CONTACT = ("Kontaktperson", "")
WATCH = ("Vakthavande", "")


@dataclass(frozen=True)
class ActorTemplate:
    """A kind of actor: its name pattern, place in the hierarchy and roles."""

    name: str  # with {place}, and {part} for administrations and companies
    short_name: str
    kind: ActorKind
    level: ActorLevel
    parent: str | None  # "municipality", "police_region" or None
    role: tuple[str, str]
    second_roles: tuple[tuple[str, str], ...]
    weight: float = 1.0


MUNICIPALITY = ActorTemplate(
    "{place} kommun", "{place}", ActorKind.MUNICIPALITY, ActorLevel.REGIONAL, None,
    TIB, (KIB, SCIB, RCB),
)  # fmt: skip
# The actors of a place besides its municipality; some are drawn for each place.
PLACE_ACTORS = (
    *(ActorTemplate(f"{{place}} kommun – {part}", part, ActorKind.MUNICIPAL_ADMINISTRATION,
                    ActorLevel.LOCAL, "municipality", BEREDSKAP, (TIB, KIB), 0.5)
      for part in ADMINISTRATIONS),
    ActorTemplate("Räddningstjänsten {place}", "RT {place}", ActorKind.RESCUE_SERVICE,
                  ActorLevel.REGIONAL, None, RCB, (IB, VB), 1.2),
    ActorTemplate("Lokalpolisområde {place}", "LPO {place}", ActorKind.POLICE,
                  ActorLevel.LOCAL, "police_region", VB, (KIB,), 1.0),
    ActorTemplate("FRG {place}", "FRG {place}", ActorKind.VOLUNTEER, ActorLevel.LOCAL,
                  None, CONTACT, (BEREDSKAP,), 0.8),
    *(ActorTemplate(f"{{place}} {part}", f"{{place}} {part.removesuffix(' AB')}",
                    ActorKind.COMPANY, ActorLevel.LOCAL, None, DIB, (WATCH, BEREDSKAP), 0.4)
      for part in COMPANIES),
    ActorTemplate("{place} sjukhus", "{place} sjukhus", ActorKind.REGION, ActorLevel.LOCAL,
                  None, TIB, (SML, KIB), 0.5),
)  # fmt: skip
NATIONAL_ACTORS = (
    ActorTemplate("Polisregion {place}", "Polisen {place}", ActorKind.POLICE,
                  ActorLevel.REGIONAL, None, VB, (KIB, SCIB)),
    ActorTemplate("Länsstyrelsen i {place} län", "Länsstyrelsen {place}",
                  ActorKind.COUNTY_BOARD, ActorLevel.REGIONAL, None, TIB, (KIB, SCIB)),
    ActorTemplate("Region {place}", "Region {place}", ActorKind.REGION, ActorLevel.REGIONAL,
                  None, RTIB, (SML, KIB)),
    ActorTemplate("Försvarsmakten – {place} garnison", "FM {place}", ActorKind.ARMED_FORCES,
                  ActorLevel.REGIONAL, None, VB, (TIB,)),
    ActorTemplate("Trafikverket region {place}", "TRV {place}", ActorKind.AGENCY,
                  ActorLevel.REGIONAL, None, TL, (TIB,)),
    ActorTemplate("Kustbevakningen {place}", "KBV {place}", ActorKind.AGENCY,
                  ActorLevel.REGIONAL, None, VB, (SCIB,)),
    ActorTemplate("SOS Alarm {place}", "SOS {place}", ActorKind.EMERGENCY_CENTRE,
                  ActorLevel.REGIONAL, None, VB, (OCIB,)),
)  # fmt: skip


class SynthError(Exception):
    """Synthetic data cannot be made here; the message says why."""


# --- The plan: rows with local indices, no database ---------------------------------


@dataclass
class Plan:
    """Rows to insert, linked by list index; the writer turns indices into ids."""

    actors: list[dict] = field(default_factory=list)  # "parent": index or None
    persons: list[dict] = field(default_factory=list)  # "actor": index
    roles: list[dict] = field(default_factory=list)  # "actor": index
    contacts: list[dict] = field(default_factory=list)  # "owner": ("actor"|"role"|"person", i)
    rotations: list[dict] = field(default_factory=list)  # "role", "members": [person index]
    shifts: list[dict] = field(default_factory=list)  # "role", "person"


class NumberPool:
    """Unique, valid Swedish numbers drawn at random, never one already taken."""

    def __init__(self, rng: random.Random, taken: set[str]):
        self.rng = rng
        self.taken = taken

    def _unique(self, draw) -> str:
        while True:
            number = draw()
            if number not in self.taken and not number.startswith(FICTION_PREFIX):
                self.taken.add(number)
                return number

    def mobile(self) -> str:
        """`+4670…`, `+4672…`, `+4673…`, `+4676…` or `+4679…` and 7 digits."""
        rng = self.rng
        return self._unique(
            lambda: f"+46{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
        )

    def landline(self) -> str:
        """A Stockholm number, `+468` and 7 digits."""
        rng = self.rng
        return self._unique(lambda: f"+468{rng.randrange(10**6, 10**7)}")


def place_names(rng: random.Random, count: int) -> list[str]:
    """`count` distinct place names made of Swedish-sounding parts."""
    simple = [
        head + tail
        for head in PLACE_HEADS
        for tail in PLACE_TAILS
        if not tail.startswith(head.lower()[:3]) and not head.lower().endswith(tail)
    ]
    rng.shuffle(simple)
    names = simple[:count]
    if len(names) < count:
        qualified = [f"{q} {name}" for q in PLACE_QUALIFIERS for name in simple]
        rng.shuffle(qualified)
        names += qualified[: count - len(names)]
    number = 2
    while len(names) < count:  # only for absurd sizes
        names += [f"{name} {number}" for name in simple[: count - len(names)]]
        number += 1
    return names


def person_name(rng: random.Random) -> str:
    first = rng.choice(FIRST_NAMES)
    if rng.random() < 0.4:
        return f"{first} {rng.choice(PATRONYMICS)}"
    head, tail = rng.choice(SURNAME_HEADS), rng.choice(SURNAME_TAILS)
    while tail.startswith(head.lower()[:3]):
        tail = rng.choice(SURNAME_TAILS)
    return f"{first} {head}{tail}"


def _weighted_sample(rng: random.Random, templates, k: int):
    """k distinct templates, more likely the heavier ones (Efraimidis–Spirakis)."""
    keyed = sorted(templates, key=lambda t: rng.random() ** (1 / t.weight), reverse=True)
    return keyed[:k]


def _unique_slug(name: str, taken: set[str]) -> str:
    base = slugify(name)[:100] or "aktor"
    slug, number = base, 1
    while slug in taken:
        slug = f"{base}-syn" if number == 1 else f"{base}-syn-{number}"
        number += 1
    taken.add(slug)
    return slug


def _entry(now: datetime) -> dict:
    """The columns every directory entry has (what the ORM would default)."""
    return {"created_at": now, "updated_at": now, "deleted_at": None, "version": 1}


def _plan_actors(plan: Plan, rng, n_actors: int, taken_slugs: set[str], now) -> list:
    """Actors in insert order (parents first); returns each actor's template."""
    n_national = n_actors // NATIONAL_SHARE
    n_places = max(1, math.ceil((n_actors - n_national) / ACTORS_PER_PLACE))
    places = place_names(rng, n_places + n_national)
    specs: list[tuple[ActorTemplate, str, int | None]] = []  # template, place, parent
    for i in range(n_national):
        specs.append((NATIONAL_ACTORS[i % len(NATIONAL_ACTORS)], places[n_places + i], None))
    police_regions = [i for i, (t, _, _) in enumerate(specs) if t.kind == ActorKind.POLICE]
    for place in places[:n_places]:
        if len(specs) >= n_actors:
            break
        municipality = len(specs)
        specs.append((MUNICIPALITY, place, None))
        others = min(ACTORS_PER_PLACE - 1, n_actors - len(specs))
        for template in _weighted_sample(rng, PLACE_ACTORS, others):
            if template.parent == "municipality":
                parent = municipality
            elif template.parent == "police_region" and police_regions:
                parent = rng.choice(police_regions)
            else:
                parent = None
            specs.append((template, place, parent))

    templates = []
    for template, place, parent in specs:
        name = template.name.format(place=place)
        reviewed = None if rng.random() < 0.1 else now - timedelta(days=rng.randrange(400))
        plan.actors.append({
            **_entry(now),
            "slug": _unique_slug(name, taken_slugs),
            "name": name,
            "short_name": template.short_name.format(place=place),
            "kind": template.kind,
            "level": template.level,
            "parent": parent,
            "notes": SYNTH_NOTE,
            "review_interval_days": 180,
            "last_reviewed_at": reviewed,
            "last_reviewed_by_id": None,
            "is_demo": True,
        })  # fmt: skip
        templates.append(template)
    return templates


def _contact(owner, kind, value, label, *, mode=PathMode.BOTH, priority=1,
             confidential=False, hours=None, weekdays=127) -> dict:  # fmt: skip
    return {
        "owner": owner,
        "kind": kind,
        "value": value,
        "pin": "",
        "label": label,
        "mode": mode,
        "priority": priority,
        "available_from": hours[0] if hours else None,
        "available_until": hours[1] if hours else None,
        "weekdays": weekdays,
        "confidential": confidential,
    }


OFFICE_HOURS = (time(8, 0), time(16, 30))
WEEKDAYS = 31  # Monday to Friday


def _plan_roles(plan: Plan, rng, templates, numbers: NumberPool, now) -> None:
    """One or two roles per actor, each with a 24/7 number and further paths."""
    for a, template in enumerate(templates):
        actor = plan.actors[a]
        chosen = [template.role]
        if rng.random() < 0.5:
            chosen.append(rng.choice(template.second_roles))
        if rng.random() < 0.9:
            hours = OFFICE_HOURS if rng.random() < 0.6 else None
            plan.contacts.append(_contact(
                ("actor", a), ContactKind.SWITCHBOARD, numbers.landline(), "Växel",
                hours=hours, weekdays=WEEKDAYS if hours else 127,
            ))  # fmt: skip
        for name, short in chosen:
            r = len(plan.roles)
            plan.roles.append({
                **_entry(now), "actor": a, "name": name, "short_name": short,
                "description": f"{SYNTH_NOTE}. Nås dygnet runt.",
            })  # fmt: skip
            owner = ("role", r)
            call = short or name
            paths = [_contact(owner, ContactKind.MOBILE, numbers.mobile(), "Dygnet runt")]
            if rng.random() < 0.3:
                paths.append(_contact(
                    owner, ContactKind.MOBILE, numbers.mobile(), "Stab (aktiverat läge)",
                    mode=PathMode.ACTIVATED,
                ))  # fmt: skip
            if rng.random() < 0.7:
                paths.append(_contact(
                    owner, ContactKind.SWITCHBOARD, numbers.landline(),
                    f"Ledningscentral – be att få {call}", priority=2,
                ))  # fmt: skip
            if rng.random() < 0.1:
                paths.append(_contact(
                    owner, ContactKind.LANDLINE, numbers.landline(), "Kontorstid",
                    mode=PathMode.ORDINARY, priority=2, hours=OFFICE_HOURS, weekdays=WEEKDAYS,
                ))  # fmt: skip
            if rng.random() < 0.5:
                group = f"{fold(actor['short_name']).upper()[:8]} {call.upper()[:4]}-{r % 9 + 1}"
                paths.append(_contact(owner, ContactKind.RAKEL_GROUP, group, "Rakel talgrupp",
                                      priority=3))  # fmt: skip
            if rng.random() < 0.6:
                mailbox = f"{slugify(call)}@{actor['slug']}.synt.example"
                paths.append(_contact(owner, ContactKind.EMAIL, mailbox,
                                      "Funktionsbrevlåda", priority=5))  # fmt: skip
            plan.contacts += paths


def _plan_persons(plan: Plan, rng, n_persons: int, numbers: NumberPool, now) -> list[list[int]]:
    """Persons spread unevenly over the actors; returns each actor's person indices."""
    n_actors = len(plan.actors)
    base = min(2, n_persons // n_actors)
    owners = [a for a in range(n_actors) for _ in range(base)]
    weights = [rng.uniform(0.2, 1.8) for _ in range(n_actors)]
    owners += rng.choices(range(n_actors), weights=weights, k=n_persons - len(owners))
    by_actor: list[list[int]] = [[] for _ in range(n_actors)]
    for a in owners:
        p = len(plan.persons)
        by_actor[a].append(p)
        plan.persons.append({
            **_entry(now), "actor": a, "name": person_name(rng),
            "title": rng.choice(TITLES), "notes": SYNTH_NOTE,
        })  # fmt: skip
        owner = ("person", p)
        # Personal mobiles are sensitive, as in the demo.
        plan.contacts.append(_contact(owner, ContactKind.MOBILE, numbers.mobile(),
                                      "Tjänstemobil", confidential=True))  # fmt: skip
        if rng.random() < 0.5:
            plan.contacts.append(_contact(owner, ContactKind.MOBILE, numbers.mobile(),
                                          "Mobil", priority=2, confidential=True))  # fmt: skip
        if rng.random() < 0.25:
            plan.contacts.append(_contact(owner, ContactKind.LANDLINE, numbers.landline(),
                                          "Direkt", priority=3))  # fmt: skip
    return by_actor


def _plan_schedules(plan: Plan, rng, n_persons: int, by_actor, today: date, tz, now) -> None:
    """Shifts for some roles over the coming weeks; weekly rotations for others."""
    staffable = [r for r, role in enumerate(plan.roles) if len(by_actor[role["actor"]]) >= 2]
    rng.shuffle(staffable)
    n_staffed = min(len(staffable), round(n_persons * SHIFTS_PER_PERSON / SHIFTS_PER_STAFFED_ROLE))
    staffed, rest = staffable[:n_staffed], staffable[n_staffed:]

    def local(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)

    for r in staffed:
        people = by_actor[plan.roles[r]["actor"]]
        members = rng.sample(people, min(len(people), rng.randint(2, 5)))
        if rng.random() < 0.5:  # 24-hour shifts handing over at 08:00, four weeks
            times = [(d, time(8, 0), d + 1, time(8, 0)) for d in range(28)]
        else:  # day and night shifts, 07:00-19:00-07:00, two weeks
            times = [(d, time(7, 0), d, time(19, 0)) for d in range(14)]
            times += [(d, time(19, 0), d + 1, time(7, 0)) for d in range(14)]
            times.sort()
        for n, (start_day, start, end_day, end) in enumerate(times):
            plan.shifts.append({
                **_entry(now), "role": r, "person": members[n % len(members)],
                "starts_at": local(today + timedelta(days=start_day), start),
                "ends_at": local(today + timedelta(days=end_day), end), "note": "",
            })  # fmt: skip

    monday = today - timedelta(days=today.weekday())
    for r in rest[: len(rest) * 3 // 10]:
        people = by_actor[plan.roles[r]["actor"]]
        plan.rotations.append({
            **_entry(now), "role": r, "name": "Veckorotation", "kind": RotationKind.WEEKLY,
            "length_days": 7, "handover_time": time(8, 0), "starts_on": monday,
            "ends_on": None,
            "members": rng.sample(people, min(len(people), rng.randint(2, 4))),
        })  # fmt: skip


def plan_synthetic(
    persons: int,
    seed: int,
    today: date,
    tz: ZoneInfo,
    taken_slugs: Iterable[str] = (),
    taken_numbers: Iterable[str] = (),
    now: datetime | None = None,
) -> Plan:
    """The rows of a synthetic region of `persons` persons (no database involved)."""
    if persons < 1:
        raise SynthError("Ask for at least one person.")
    rng = random.Random(seed)
    now = now or utcnow()
    numbers = NumberPool(rng, set(taken_numbers))
    plan = Plan()
    n_actors = max(1, round(persons / PERSONS_PER_ACTOR))
    templates = _plan_actors(plan, rng, n_actors, set(taken_slugs), now)
    _plan_roles(plan, rng, templates, numbers, now)
    by_actor = _plan_persons(plan, rng, persons, numbers, now)
    _plan_schedules(plan, rng, persons, by_actor, today, tz, now)
    _check_numbers(plan)
    return plan


def _check_numbers(plan: Plan, every: int = 97) -> None:
    """Check a sample of the generated numbers with `phonenumbers` (all are cheap-made)."""
    phones = [c["value"] for c in plan.contacts if c["kind"].is_phone]
    for value in phones[:20] + phones[::every]:
        parsed = phonenumbers.parse(value, None)
        if not phonenumbers.is_valid_number(parsed) or (
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != value
        ):
            raise SynthError(f"Generated an invalid number: {value}")


# --- Writing: bulk Core inserts ------------------------------------------------------


def _insert(table, rows: list[dict]) -> None:
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(table), rows[start : start + CHUNK])


def _insert_returning_ids(table, rows: list[dict]) -> list[int]:
    """Insert rows in chunks; the new ids in the order of `rows`."""
    ids: list[int] = []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), CHUNK):
        ids += db.session.scalars(statement, rows[start : start + CHUNK]).all()
    return ids


def _without(row: dict, *keys: str) -> dict:
    return {k: v for k, v in row.items() if k not in keys}


def _parent(plan: Plan, index: int) -> int | None:
    return plan.actors[index]["parent"]


def write_plan(plan: Plan) -> None:
    """Insert the plan's rows, parents first, turning indices into ids."""
    actor_ids: list[int | None] = [None] * len(plan.actors)
    # Parents before children: each wave inserts the actors whose parent has an id.
    waiting = list(range(len(plan.actors)))
    while waiting:
        wave = [i for i in waiting if _parent(plan, i) is None or actor_ids[_parent(plan, i)]]
        if not wave:
            raise SynthError("The planned actors' parents form a cycle.")
        rows = [
            {
                **_without(plan.actors[i], "parent"),
                "parent_id": None if _parent(plan, i) is None else actor_ids[_parent(plan, i)],
                "search_key": search_key(
                    plan.actors[i]["name"], plan.actors[i]["short_name"]
                )[:400],
            }
            for i in wave
        ]
        for i, new_id in zip(wave, _insert_returning_ids(Actor.__table__, rows), strict=True):
            actor_ids[i] = new_id
        waiting = [i for i in waiting if actor_ids[i] is None]

    role_ids = _insert_returning_ids(Role.__table__, [
        {**_without(r, "actor"), "actor_id": actor_ids[r["actor"]],
         "search_key": search_key(r["name"], r["short_name"])[:400]}
        for r in plan.roles
    ])  # fmt: skip
    person_ids = _insert_returning_ids(Person.__table__, [
        {**_without(p, "actor"), "actor_id": actor_ids[p["actor"]],
         "search_key": search_key(p["name"], p["title"])[:400]}
        for p in plan.persons
    ])  # fmt: skip

    ids = {"actor": actor_ids, "role": role_ids, "person": person_ids}
    now = plan.actors[0]["created_at"]
    contacts = []
    for c in plan.contacts:
        kind, index = c["owner"]
        row = {**_without(c, "owner"), **_entry(now), "search_key": search_key(c["label"])}
        row.update(actor_id=None, role_id=None, person_id=None, pattern_id=None)
        row[f"{kind}_id"] = ids[kind][index]
        contacts.append(row)
    _insert(ContactPoint.__table__, contacts)

    rotation_ids = _insert_returning_ids(Rotation.__table__, [
        {**_without(r, "role", "members"), "role_id": role_ids[r["role"]]}
        for r in plan.rotations
    ])  # fmt: skip
    _insert(RotationMember.__table__, [
        {"rotation_id": rotation_id, "person_id": person_ids[p], "position": position}
        for rotation_id, r in zip(rotation_ids, plan.rotations, strict=True)
        for position, p in enumerate(r["members"])
    ])  # fmt: skip
    _insert(Shift.__table__, [
        {**_without(s, "role", "person"), "role_id": role_ids[s["role"]],
         "person_id": person_ids[s["person"]]}
        for s in plan.shifts
    ])  # fmt: skip


@dataclass
class SynthReport:
    """What was added, and how long each part took (seconds)."""

    counts: dict[str, int]
    words: int
    plan_seconds: float
    insert_seconds: float
    index_seconds: float

    @property
    def seconds(self) -> float:
        return self.plan_seconds + self.insert_seconds + self.index_seconds


def generate_synthetic(persons: int, seed: int = 1, today: date | None = None) -> SynthReport:
    """Add a synthetic region and rebuild the search index; flush, do not commit.

    Bulk rows bypass the ORM: no audit events are written for them.
    """
    if not current_app.config.get("DEMO_ALLOWED"):
        raise SynthError(
            "Synthetic data is not allowed here (DEMO_ALLOWED is off, as in production)."
        )
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    today = today or datetime.now(tz).date()
    db.session.flush()
    started = clock.perf_counter()
    taken_slugs = set(db.session.scalars(select(Actor.slug)))
    taken_numbers = set(db.session.scalars(
        select(ContactPoint.value).where(ContactPoint.value.startswith("+46"))
    ))  # fmt: skip
    plan = plan_synthetic(persons, seed, today, tz, taken_slugs, taken_numbers)
    planned = clock.perf_counter()
    write_plan(plan)
    written = clock.perf_counter()
    words = index.reindex_all()
    from directory.phones import card_cache
    card_cache.rebuild_all()
    indexed = clock.perf_counter()
    counts = {
        "actors": len(plan.actors),
        "roles": len(plan.roles),
        "persons": len(plan.persons),
        "contact points": len(plan.contacts),
        "shifts": len(plan.shifts),
        "rotations": len(plan.rotations),
        "rotation members": sum(len(r["members"]) for r in plan.rotations),
    }
    return SynthReport(counts, words, planned - started, written - planned, indexed - written)


BULK_TABLES = (Actor, Role, Person, ContactPoint, Rotation, RotationMember, Shift, SearchTerm)


def analyze_tables() -> None:
    """Refresh PostgreSQL's statistics and visibility map after a bulk load (after commit).

    Without them the planner guesses until autovacuum catches up, picks
    parallel scans for what is a small index range, and index-only scans
    visit the table; SQLite needs nothing.
    """
    vacuum_analyze([*(model.__table__ for model in BULK_TABLES), "search_word"])


# --- The command ---------------------------------------------------------------------


@click.command("synth")
@click.option("--persons", type=click.IntRange(min=1), required=True,
              help="How many persons; actors, roles, paths and shifts follow in proportion.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="The same seed gives the same region.")
@with_appcontext
def synth_command(persons: int, seed: int) -> None:
    """Add a synthetic national-scale region (bulk inserts, not in the audit trail).

    Everything is marked as demo data ("SYNTETISK – genererad testdata"), but the
    numbers are random valid Swedish numbers, not the fiction range. Refused in
    production.
    """  # fmt: skip
    try:
        report = generate_synthetic(persons, seed)
    except SynthError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    started = clock.perf_counter()
    db.session.commit()
    analyze_tables()
    commit_seconds = clock.perf_counter() - started
    made = ", ".join(f"{n} {what}" for what, n in report.counts.items())
    click.echo(f"Added a synthetic region: {made}.")
    click.echo(
        f"Took {report.seconds + commit_seconds:.1f} s (plan {report.plan_seconds:.1f} s, "
        f"insert {report.insert_seconds:.1f} s, search index {report.index_seconds:.1f} s "
        f"for {report.words} words, commit and analyze {commit_seconds:.1f} s)."
    )
