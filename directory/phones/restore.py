"""An empty directory filled from its own export: `directory.vcf` or `directory.csv`.

The exports are what a region has on a laptop when its server is gone; a
coordinator setting the app up again (or trying it on another machine) can
start from one of them. `flask --app wsgi import-directory FILE` reads the
file whole, names every problem with its card or line number, and writes all
or nothing, into a directory with no actors yet (an existing one is changed
actor by actor, with each actor's import and its preview).

What comes back is what the export carries, so exporting again gives the
same file byte for byte (`tests/test_restore.py`):
- vCard: each card's `X-KONTAKTVAGAR-ENTRY` and `X-KONTAKTVAGAR-PATH` lines
  (see `vcards`): actors, roles and persons with their ids (so UIDs stay),
  names, short names and titles, and each path's kind, mode, PACE order,
  confidentiality, label, PIN and value; each entry's last change from REV.
  A card only carries the numbers of the other mode, not its e-mail or web
  paths, and no deleted entry.
- CSV: every live path in both modes, with its actor (name and slug), its
  owner (actor, role or person, with the role's short name or the person's
  title) and the same attributes; no ids, so entries are numbered anew, and
  two persons of one actor with the same name and title become one.
Neither carries schedules, call trees, patterns, users, notes or history:
`flask backup` / `flask restore` carries everything.
"""

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

import click
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from directory.core import entries as services
from directory.core.database import continue_sequences
from directory.core.extensions import db
from directory.core.limits import id_from_text
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    ContactKind,
    ContactPoint,
    PathMode,
    Person,
    Role,
)
from directory.core.numbers import PhoneNumberError, normalise_phone
from directory.core.text import unsafe_character
from directory.phones.reading import (
    APP_CSV_COLUMNS,
    ImportProblem,
    app_csv_rows,
    card_properties,
    csv_reader,
    decode,
    exported_value,
    is_app_csv,
    split_cards,
)
from directory.phones.vcards import APP_ENTRY, APP_PATH, split_fields

MAX_PROBLEMS = 20
FLUSH_EVERY = 2000  # entries and paths per flush
# What a restore reads of a card; the rest is for phones.
READ = frozenset({"BEGIN", "END", "VERSION", "ORG", "REV", APP_ENTRY, APP_PATH})
LIMITS = {"name": 200, "detail": 200, "short_name": 40, "value": 300, "label": 200, "pin": 40}


@dataclass
class Path:
    kind: ContactKind
    mode: PathMode
    priority: int
    confidential: bool
    label: str
    pin: str
    value: str


@dataclass
class Owner:
    """An actor, role or person as the file gives it, with its paths."""

    kind: str  # "actor", "role" or "person"
    actor_key: str  # the actor's id (vCard) or slug (CSV)
    name: str
    detail: str = ""  # a role's short name, a person's title
    id: int | None = None
    changed_at: datetime | None = None
    paths: list[Path] = field(default_factory=list)


@dataclass
class Reading:
    """A whole file read: its actors (key -> name, slug), owners and problems."""

    actors: dict[str, tuple[str, str]] = field(default_factory=dict)
    owners: list[Owner] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _checked(where: str, problems: list[str], what: str, value: str, limit_key: str) -> str:
    if len(value) > LIMITS[limit_key]:
        problems.append(_("%(where)s: the %(what)s is longer than %(max)d characters.",
                          where=where, what=what, max=LIMITS[limit_key]))
    elif unsafe_character(value):
        problems.append(_("%(where)s: the %(what)s holds a control character.",
                          where=where, what=what))
    return value


def _path(where: str, problems: list[str], kind, mode, priority, confidential, label, pin,
          value, region: str) -> Path | None:
    """A path from its fields as text, or None with the problem named."""
    count = len(problems)
    try:
        kind, mode = ContactKind(kind), PathMode(mode)
    except ValueError:
        problems.append(_("%(where)s: “%(kind)s” / “%(mode)s” is no kind and mode of path.",
                          where=where, kind=kind, mode=mode))
        return None
    if not re.fullmatch(r"[1-9][0-9]{0,3}", priority):
        problems.append(_("%(where)s: the order “%(order)s” is not a number from 1.",
                          where=where, order=priority))
    if not value.strip():
        problems.append(_("%(where)s: a path has no value.", where=where))
    for what, text, key in ((_("label"), label, "label"), (_("PIN"), pin, "pin"),
                            (_("value"), value, "value")):
        _checked(where, problems, what, text, key)
    if kind.is_phone and value.strip():
        try:
            value = normalise_phone(value, region)
        except PhoneNumberError as error:
            problems.append(f"{where}: {value}: {error}")
    if len(problems) > count:
        return None
    return Path(kind, mode, int(priority), confidential, label, pin, value)


# --- vCard ---------------------------------------------------------------------------


def _rev(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def read_vcards(text: str, region: str) -> Reading:
    reading = Reading()
    problems = reading.problems
    cards = split_cards(text, READ, frozenset({APP_PATH}), bounded=False)
    for number, card_text, problem in cards:
        where = _("Card %(number)d", number=number)
        if card_text is None:
            problems.append(f"{where}: {problem}")
            continue
        properties = card_properties(card_text)
        entries = properties.get(APP_ENTRY, [])
        if len(entries) != 1:
            problems.append(_("%(where)s was not exported by Kontaktvägar (it has no %(line)s "
                              "line): import it into an actor instead.",
                              where=where, line=APP_ENTRY))
            continue
        fields = split_fields(entries[0])
        if len(fields) != 5 or fields[0] not in ("actor", "role", "person") \
                or not all(id_from_text(f) for f in fields[1:3]):
            problems.append(_("%(where)s: the %(line)s line is not as Kontaktvägar writes it.",
                              where=where, line=APP_ENTRY))
            continue
        kind, name, detail = fields[0], fields[3], fields[4]
        entry_id, actor_id = id_from_text(fields[1]), str(id_from_text(fields[2]))  # "12", one way
        owner = Owner(kind, actor_id, _checked(where, problems, _("name"), name, "name"),
                      _checked(where, problems, _("short name") if kind == "role" else _("title"),
                               detail, "short_name" if kind == "role" else "detail"),
                      entry_id, _rev((properties.get("REV") or [""])[0]))
        if not name.strip():
            problems.append(_("%(where)s has no name.", where=where))
        if kind == "actor":
            reading.actors[actor_id] = (name, "")
        else:
            org = split_fields((properties.get("ORG") or [""])[0])[0]
            reading.actors.setdefault(actor_id, (org, ""))
        for value in properties.get(APP_PATH, []):
            parts = split_fields(value)
            if len(parts) != 7 or parts[3] not in ("0", "1"):
                problems.append(_("%(where)s: the %(line)s line is not as Kontaktvägar writes "
                                  "it.", where=where, line=APP_PATH))
                continue
            path = _path(where, problems, *parts[:3], parts[3] == "1", *parts[4:], region)
            if path:
                owner.paths.append(path)
        reading.owners.append(owner)
    return reading


# --- CSV -----------------------------------------------------------------------------


def read_csv(text: str, region: str) -> Reading:
    reading = Reading()
    problems = reading.problems
    rows = csv_reader(text)
    if not is_app_csv(next(rows, [])):
        raise ImportProblem(_("The first line is not the one of Kontaktvägar's directory.csv "
                              "(%(columns)s): import other CSV files into an actor instead.",
                              columns=", ".join(APP_CSV_COLUMNS)))
    owners: dict[tuple, Owner] = {}
    for number, cells, width in app_csv_rows(rows):
        where = _("Line %(number)d", number=number)
        if cells is None:
            problems.append(_("%(where)s has %(count)d cells, not %(expected)d.",
                              where=where, count=width, expected=len(APP_CSV_COLUMNS)))
            continue
        actor, slug, kind = cells["actor"], cells["actor_slug"], cells["owner_type"]
        if kind not in ("actor", "role", "person") or not actor.strip() or not slug.strip():
            problems.append(_("%(where)s: an actor, its slug and an owner type (actor, role or "
                              "person) are needed.", where=where))
            continue
        if reading.actors.setdefault(slug, (actor, slug))[0] != actor:
            problems.append(_("%(where)s: the slug %(slug)s names another actor above.",
                              where=where, slug=slug))
            continue
        name, detail = cells["owner"], cells["title"]
        if kind == "role":  # owner: the short name or, without one, the name
            name, detail = detail, (name if name != detail else "")
        elif kind == "actor":
            name, detail = actor, ""
        if not name.strip():
            problems.append(_("%(where)s has no owner name.", where=where))
            continue
        key = (slug, kind, name, detail)
        if key not in owners:
            owners[key] = Owner(kind, slug, _checked(where, problems, _("name"), name, "name"),
                                detail)
            reading.owners.append(owners[key])
        if cells["confidential"] not in ("yes", "no"):
            problems.append(_("%(where)s: confidential is “yes” or “no”.", where=where))
            continue
        path = _path(where, problems, cells["kind"], cells["mode"], cells["pace"],
                     cells["confidential"] == "yes", cells["label"], cells["pin"],
                     exported_value(cells), region)
        if path:
            owners[key].paths.append(path)
    return reading


# --- Writing ---------------------------------------------------------------------------


def read(data: bytes, region: str) -> tuple[str, Reading]:
    text, _encoding = decode(data)
    if text.lstrip().upper().startswith("BEGIN:VCARD"):
        return "vcard", read_vcards(text, region)
    try:
        return "csv", read_csv(text, region)
    except csv.Error as error:
        raise ImportProblem(_("The file cannot be read as CSV: %(reason)s.",
                              reason=error)) from None


def _check_ids(reading: Reading) -> None:
    seen: set[tuple[str, int]] = set()
    for owner in reading.owners:
        if owner.id is not None:
            if (owner.kind, owner.id) in seen:
                reading.problems.append(_("Two cards are the %(kind)s with id %(id)d.",
                                          kind=owner.kind, id=owner.id))
            seen.add((owner.kind, owner.id))
    names = [name.casefold() for name, _slug in reading.actors.values()]
    for name in {n for n in names if names.count(n) > 1}:
        reading.problems.append(_("Two actors are called “%(name)s”.", name=name))


def _points(owner: Owner, counts: dict[str, int]) -> list[ContactPoint]:
    points = []
    for path in owner.paths:
        point = ContactPoint(kind=path.kind, mode=path.mode, priority=path.priority,
                             confidential=path.confidential, label=path.label, pin=path.pin,
                             value=path.value)  # fmt: skip
        if owner.changed_at:
            point.created_at = point.updated_at = owner.changed_at
        points.append(point)
    counts["paths"] += len(points)
    return points


def restore(data: bytes) -> dict[str, int]:
    """Fill the empty directory from an export; flushed, the caller commits.

    ImportProblem names what stops it (the first MAX_PROBLEMS problems);
    nothing is written then.
    """
    if db.session.scalar(select(Actor.id).limit(1)) is not None:
        raise ImportProblem(_("The directory already has actors: a whole export is read only "
                              "into an empty one. Import into each actor instead, or use "
                              "flask restore with a backup."))
    _format, reading = read(data, current_app.config["DEFAULT_REGION"])
    _check_ids(reading)
    if not reading.owners and not reading.problems:
        raise ImportProblem(_("The file holds no contacts."))
    if reading.problems:
        more = len(reading.problems) - MAX_PROBLEMS
        raise ImportProblem("\n".join(reading.problems[:MAX_PROBLEMS]
                                      + ([_("… and %(count)d more.", count=more)]
                                         if more > 0 else [])))  # fmt: skip
    # An actor's own last change is no later than any of its cards' (REV is
    # the later of the entry's, its actor's and its paths'), so REV comes back.
    first_change: dict[str, datetime] = {}
    for owner in reading.owners:
        if owner.changed_at:
            known = first_change.get(owner.actor_key, owner.changed_at)
            first_change[owner.actor_key] = min(known, owner.changed_at)
    own_paths = {o.actor_key: o for o in reading.owners if o.kind == "actor"}
    counts = {"actors": 0, "roles": 0, "persons": 0, "paths": 0}
    actors: dict[str, Actor] = {}
    slugs: set[str] = set()
    for key, (name, slug) in reading.actors.items():
        with db.session.no_autoflush:  # one flush for every actor
            slug = slug or services.unique_slug(Actor, name, "aktor", slugs)
        slugs.add(slug)
        actor = Actor(name=" ".join(name.split()), kind=ActorKind.OTHER,
                      level=ActorLevel.REGIONAL, slug=slug)
        if not reading.actors[key][1]:  # from vCard: the actor's own id
            actor.id = int(key)
        if key in first_change:
            actor.created_at = actor.updated_at = first_change[key]
        if key in own_paths:  # before the first flush: a new actor, not a changed one
            actor.contact_points = _points(own_paths[key], counts)
        db.session.add(actor)
        actors[key] = actor
        counts["actors"] += 1
    db.session.flush()
    actor_ids = {key: actor.id for key, actor in actors.items()}
    batch: list = []
    for owner in reading.owners:
        if owner.kind == "actor":
            continue
        model = Role if owner.kind == "role" else Person
        entry = model(id=owner.id, actor_id=actor_ids[owner.actor_key], name=owner.name,
                      **{"short_name" if owner.kind == "role" else "title": owner.detail})
        if owner.changed_at:
            entry.created_at = entry.updated_at = owner.changed_at
        entry.contact_points = _points(owner, counts)
        db.session.add(entry)
        counts[f"{owner.kind}s"] += 1
        batch += [entry, *entry.contact_points]
        if len(batch) >= FLUSH_EVERY:  # memory stays flat for a whole region
            db.session.flush()
            for done in batch:  # the actors stay: the flush hooks read them
                db.session.expunge(done)
            batch = []
    db.session.flush()
    continue_sequences([Actor, Role, Person])
    return counts


@click.command("import-directory")
@click.argument("file", type=click.File("rb"))
def import_directory_command(file):
    """Fill an empty directory from its own export (directory.vcf or directory.csv)."""
    try:
        counts = restore(file.read())
        db.session.commit()
    except ImportProblem as problem:
        db.session.rollback()
        raise click.ClickException(str(problem)) from None
    click.echo(", ".join(f"{count} {what}" for what, count in counts.items()))


def init_app(app) -> None:
    app.cli.add_command(import_directory_command)
