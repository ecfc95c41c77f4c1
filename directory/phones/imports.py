"""Importing contacts into an actor from vCard or CSV: preview first, then all or nothing.

An uploaded file is read into one `Incoming` contact per CSV line or vCard,
and each is matched against the actor's persons: a person who already has
one of its numbers or e-mail addresses is the same person, changed rather
than doubled, but only when the names agree. A number that matches a person
of another name is a conflict (a shared duty phone, a number handed to a
successor): the user chooses in the preview to keep the person as is, to
replace their name and details, or to add the contact as a new person;
nothing is renamed unasked. The preview shows what would be created,
changed, in conflict and rejected, with the line or card number and the
reason; nothing is written.

The file waits in the database (`PendingImport`, so any app server can take
the commit) under a random id kept in the session, bound to its uploader and
actor (the preview shown to the browser is never trusted). Committing reads the
file again and plans again; it writes only when that plan is the one the
user saw and nothing in it is rejected, in one transaction, so a file is
imported whole or not at all. Empty, malformed, binary, oversized and hostile
files get a report naming the problem, never an error page.

The files themselves are read by `reading` (formats, encodings, the
clients that write them).
"""

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from directory.core import entries as services
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    ContactKind,
    ContactPoint,
    PathMode,
    PendingImport,
    Person,
    utcnow,
)
from directory.core.numbers import display_phone
from directory.phones.reading import (
    ImportProblem,
    Incoming,
    decode,
    read_csv,
    read_vcards,
)

DEFAULT_MAX_BYTES = 2_000_000
FLUSH_EVERY = 200


# --- Planning: what the import would do -----------------------------------------------


# How a conflict (a number matching a person of another name) is resolved.
KEEP, REPLACE, ADD_NEW = "keep", "replace", "new"
RESOLUTIONS = (KEEP, REPLACE, ADD_NEW)


@dataclass
class Planned:
    """What importing one contact would do: create, update, same, conflict or reject.

    A "conflict" row has the matching `person` and the `changes` replacing
    would make; `ImportPlan.resolve` turns it into "same", "update" or "create".
    """

    incoming: Incoming
    action: str
    person: Person | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        return self.incoming.problems


@dataclass
class ImportPlan:
    file_format: str  # "csv" or "vcard"
    encoding: str
    rows: list[Planned] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    left_out: list[Incoming] = field(default_factory=list)  # roles, actors, other actors

    def _with(self, action: str) -> list[Planned]:
        return [row for row in self.rows if row.action == action]

    @property
    def created(self) -> list[Planned]:
        return self._with("create")

    @property
    def changed(self) -> list[Planned]:
        return self._with("update")

    @property
    def unchanged(self) -> list[Planned]:
        return self._with("same")

    @property
    def rejected(self) -> list[Planned]:
        return self._with("reject")

    @property
    def conflicts(self) -> list[Planned]:
        return self._with("conflict")

    @property
    def can_commit(self) -> bool:
        return not self.rejected and bool(self.created or self.changed or self.conflicts)

    def resolve(self, choices: dict[int, str]) -> list[int]:
        """Apply the user's choice for each conflict (by line or card number).

        Keep: the person stays as is and the contact is left out. Replace: the
        person takes the contact's name and details. New: the contact becomes
        a person of its own (sharing the number). Returns the numbers of the
        conflicts without a valid choice; those rows stay conflicts.
        """
        missing = []
        for row in self.conflicts:
            choice = choices.get(row.incoming.number)
            if choice == KEEP:
                row.action, row.changes = "same", []
            elif choice == REPLACE:
                row.action = "update"
            elif choice == ADD_NEW:
                row.action, row.person, row.changes = "create", None, []
            else:
                missing.append(row.incoming.number)
        return missing

    def fingerprint(self) -> str:
        """Changes when the plan would write anything different (or on other versions)."""
        summary = [
            [row.incoming.number, row.action, row.person.id if row.person else None,
             row.person.version if row.person else None, row.changes,
             row.incoming.name, row.incoming.title, row.incoming.phones, row.incoming.emails,
             row.incoming.extensions, row.incoming.others,
             sorted((k, repr(v)) for k, v in row.incoming.attributes.items())]
            for row in self.rows
        ]  # fmt: skip
        return hashlib.sha256(json.dumps(summary, default=str).encode()).hexdigest()


def read_file(data: bytes, region: str, actor: Actor | None = None) -> ImportPlan:
    """The contacts of an upload, unmatched; ImportProblem for a file that cannot be read.

    `actor`: the one imported into (the app's own CSV holds many actors' lines)."""
    text, encoding = decode(data)
    if text.lstrip().upper().startswith("BEGIN:VCARD"):
        plan = ImportPlan("vcard", encoding)
        incoming = read_vcards(text, region, encoding)
    else:
        plan = ImportPlan("csv", encoding)
        incoming, plan.ignored_columns = read_csv(text, region, actor)
    plan.left_out = [contact for contact in incoming if contact.left_out]
    incoming = [contact for contact in incoming if not contact.left_out]
    if not incoming:
        if plan.left_out:
            raise ImportProblem(_("The file holds no persons of this actor, only roles, actors "
                                  "or other actors' persons, and the import adds persons: a "
                                  "whole export of Kontaktvägar is read back with flask "
                                  "import-directory."))
        raise ImportProblem(_("The file holds no contacts."))
    plan.rows = [Planned(contact, "reject" if contact.problems else "") for contact in incoming]
    return plan


def _live_persons(actor: Actor) -> list[Person]:
    return db.session.scalars(
        select(Person)
        .where(Person.actor_id == actor.id, Person.deleted_at.is_(None))
        .options(selectinload(Person.contact_points))
        .order_by(Person.id)
    ).all()


def _keys_of(person: Person) -> set[str]:
    return {
        p.value.casefold() if p.kind is ContactKind.EMAIL else p.value
        for p in person.contact_points
        if p.deleted_at is None
    }


def plan_import(actor: Actor, data: bytes, region: str) -> ImportPlan:
    """Read an upload and decide, contact by contact, what importing it would do."""
    plan = read_file(data, region, actor)
    owners: dict[str, set[Person]] = {}
    persons = _live_persons(actor)
    for person in persons:
        for key in _keys_of(person):
            owners.setdefault(key, set()).add(person)
    seen: dict[str, int] = {}
    for row in plan.rows:
        contact = row.incoming
        if row.action == "reject":
            continue
        keys = contact.keys()
        earlier = next((seen[k] for k in keys if k in seen), None)
        for key in keys:
            seen.setdefault(key, contact.number)
        if earlier is not None:
            contact.problems.append(
                _("The same number or e-mail address as number %(line)d in this file.",
                  line=earlier)
            )
            row.action = "reject"
            continue
        matches = {person for key in keys for person in owners.get(key, ())}
        if len(matches) > 1:
            names = ", ".join(sorted(p.name for p in matches))
            contact.problems.append(
                _("Its numbers belong to several persons already: %(names)s.", names=names)
            )
            row.action = "reject"
            continue
        if not matches:
            row.action = "create"
            continue
        row.person = matches.pop()
        row.changes = _changes(row.person, contact, region)
        if contact.name and not same_name(contact.name, row.person.name):
            row.action = "conflict"
        else:
            row.action = "update" if row.changes else "same"
    return plan


def same_name(one: str, other: str) -> bool:
    """The same name but for case and spacing ("åsa  öberg" is "Åsa Öberg")."""
    return " ".join(one.casefold().split()) == " ".join(other.casefold().split())


def _changes(person: Person, contact: Incoming, region: str) -> list[str]:
    changes = []
    if contact.name and contact.name != person.name:
        changes.append(_("name: %(old)s → %(new)s", old=person.name, new=contact.name))
    if contact.title and contact.title != person.title:
        changes.append(_("title: %(old)s → %(new)s", old=person.title or "–", new=contact.title))
    if contact.notes and not person.notes:
        changes.append(_("notes added"))
    have = _keys_of(person)
    for _kind, value in contact.phones:
        if value not in have:
            changes.append(_("adds %(number)s", number=display_phone(value, region)))
    for email in contact.emails:
        if email.casefold() not in have:
            changes.append(_("adds %(email)s", email=email))
    for _kind, value in contact.others:
        if value not in have:
            changes.append(_("adds %(email)s", email=value))
    return changes


# --- Writing --------------------------------------------------------------------------


def _new_points(contact: Incoming, have: set[str], first_priority: int,
                confidential_mobiles: bool) -> list[ContactPoint]:
    """The contact's paths the person lacks. A path this app exported keeps
    what it was (mode, order, confidentiality, label, PIN); others follow in
    the file's order, mobiles confidential when the user asked so."""
    points, priority = [], first_priority
    found = [*contact.phones, *((ContactKind.EMAIL, e) for e in contact.emails),
             *contact.others]
    for kind, value in found:
        key = value.casefold() if kind is ContactKind.EMAIL else value
        if key in have:
            continue
        was = contact.attributes.get(key)
        if was is not None:
            points.append(ContactPoint(
                kind=kind, value=value, priority=first_priority - 1 + was.priority,
                mode=was.mode, confidential=was.confidential, label=was.label, pin=was.pin,
            ))  # fmt: skip
            continue
        extension = contact.extensions.get(value)
        points.append(ContactPoint(
            kind=kind, value=value, priority=priority, mode=PathMode.BOTH,
            confidential=confidential_mobiles and kind is ContactKind.MOBILE,
            label=_("ext. %(extension)s", extension=extension) if extension else "",
        ))  # fmt: skip
        priority += 1
    return points


def apply_plan(plan: ImportPlan, actor: Actor, *, confidential_mobiles: bool) -> dict:
    """Write a plan with nothing rejected; flushes, the caller commits or rolls back.

    New persons are added in batches (the audit trail, search index and
    cards are kept by flush hooks, as for any other write); changes to
    existing persons go through `services.save` with the version planned on.
    """
    if plan.rejected:
        raise ImportProblem(_("Nothing is imported while any contact is rejected."))
    if plan.conflicts:
        raise ImportProblem(_("Nothing is imported until every conflict is resolved."))
    created = changed = 0
    for count, row in enumerate(plan.rows, start=1):
        contact = row.incoming
        if row.action == "create":
            person = Person(actor_id=actor.id, name=contact.name, title=contact.title,
                            notes=contact.notes)  # fmt: skip
            person.contact_points = _new_points(contact, set(), 1, confidential_mobiles)
            db.session.add(person)
            created += 1
        elif row.action == "update":
            person = row.person
            values = {}
            if contact.name and contact.name != person.name:
                values["name"] = contact.name
            if contact.title and contact.title != person.title:
                values["title"] = contact.title
            if contact.notes and not person.notes:
                values["notes"] = contact.notes
            services.save(person, values)
            last = max((p.priority for p in person.contact_points), default=0)
            for point in _new_points(contact, _keys_of(person), last + 1, confidential_mobiles):
                person.contact_points.append(point)
            changed += 1
        if count % FLUSH_EVERY == 0:
            db.session.flush()
    db.session.flush()
    return {"created": created, "changed": changed}


# --- The waiting room: uploads between preview and commit ----------------------------

UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
UPLOAD_LIFETIME = timedelta(hours=2)


def max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def stash_upload(data: bytes, *, user_id: int, actor_id: int, filename: str,
                 meta: dict) -> str:
    """Keep an upload (in the database) until committed or expired; returns its id.

    Flushed, not committed: the caller commits.
    """
    sweep_uploads()
    upload_id = secrets.token_urlsafe(24)
    now = utcnow()
    db.session.add(PendingImport(
        id=upload_id, user_id=user_id, actor_id=actor_id, filename=filename[:200],
        data=data, meta=meta, created_at=now, expires_at=now + UPLOAD_LIFETIME,
    ))  # fmt: skip
    db.session.flush()
    return upload_id


def load_upload(upload_id: str | None, *, user_id: int, actor_id: int) -> PendingImport | None:
    """This user's live upload for this actor, or None (unknown, someone else's, expired)."""
    if not upload_id or not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
        return None
    pending = db.session.get(PendingImport, upload_id)
    if pending is None or pending.user_id != user_id or pending.actor_id != actor_id:
        return None
    if pending.expires_at <= utcnow():
        return None
    return pending


def discard_upload(upload_id: str | None, *, user_id: int) -> None:
    """Forget one of this user's uploads (flushed; the caller commits)."""
    if upload_id and isinstance(upload_id, str) and UPLOAD_ID.match(upload_id):
        db.session.execute(delete(PendingImport).where(
            PendingImport.id == upload_id, PendingImport.user_id == user_id))  # fmt: skip


def sweep_uploads() -> int:
    """Remove uploads left behind by previews nobody committed; returns how many."""
    result = db.session.execute(delete(PendingImport).where(PendingImport.expires_at <= utcnow()))
    return result.rowcount or 0
