"""Writes to the directory: the operations views, API, CLI and importers share.

They validate and flush; the caller commits once, and rolls back on error.
A save names the version it was based on: if someone else saved in between,
it is refused with what they changed, so no edit is silently overwritten.
"""

from sqlalchemy import select

from directory.core.audit import ENTRY_TYPES
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    AuditAction,
    AuditEvent,
    CallTreeNode,
    ContactPoint,
    Entry,
    Rotation,
    RotationMember,
    User,
    utcnow,
)
from directory.core.text import slugify


class ConflictError(Exception):
    """The entry changed since the version the user read."""

    def __init__(self, entry: Entry, events: list[AuditEvent]):
        super().__init__(f"{type(entry).__name__} {entry.id} changed meanwhile")
        self.entry = entry
        self.events = events


def changes_since(entry: Entry, version: int) -> list[AuditEvent]:
    """The recorded changes that made the entry newer than `version`."""
    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.entity_type == entry.__tablename__,
            AuditEvent.entity_id == entry.id,
            AuditEvent.action != AuditAction.CREATE,
        )
        .order_by(AuditEvent.id)
    ).all()
    return [e for e in events if ((e.after or {}).get("_version") or 0) > version]


def check_version(entry: Entry, expected_version: int | None) -> None:
    if expected_version is not None and entry.version != expected_version:
        raise ConflictError(entry, changes_since(entry, expected_version))


# Words that are pages of their own beside an entry's slug (`/actors/new`).
RESERVED_SLUGS = frozenset({"new"})


def unique_slug(model, name: str, fallback: str, pending: set[str] | None = None) -> str:
    """A slug for a new entry's URL: from its name, never empty, not yet taken.

    A name of only punctuation or non-Latin letters gives no slug of its own,
    so the fallback word stands in; a taken or reserved slug gets -2, -3, ...
    (an actor named "New" gets `new-2`, since `/actors/new` creates one).
    A name as long as its column allows gives a slug cut to fit the slug's.
    `pending`: slugs given to entries not flushed yet (many made at once).
    """
    room = model.slug.type.length - 6  # a long name leaves room for "-99999"
    base = slugify(name or "")[:room].strip("-") or fallback
    taken = set(db.session.scalars(
        select(model.slug).where(model.slug.like(f"{base}%"))
    )) | RESERVED_SLUGS | (pending or set())
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


def save(entry: Entry, values: dict, expected_version: int | None = None) -> Entry:
    """Create (when new) or update an entry from already validated values."""
    check_version(entry, expected_version)
    for key, value in values.items():
        setattr(entry, key, value)
    db.session.add(entry)
    db.session.flush()
    return entry


def soft_delete(entry: Entry, expected_version: int | None = None) -> None:
    """Hide an entry, keeping every value, so it can be restored exactly."""
    check_version(entry, expected_version)
    entry.deleted_at = utcnow()
    db.session.flush()


def restore(entry: Entry) -> None:
    """Bring a deleted entry back with the values it had.

    A call-tree step brings back the steps above it that were deleted with
    it: a step under a deleted one would be in no visible place of the tree.
    """
    entry.deleted_at = None
    if isinstance(entry, CallTreeNode):
        by_id = {node.id: node for node in entry.tree.nodes}
        parent = by_id.get(entry.parent_id)
        while parent is not None:
            parent.deleted_at = None
            parent = by_id.get(parent.parent_id)
    db.session.flush()


def move_contact_point(point: ContactPoint, direction: str, expected_version=None) -> None:
    """Swap a path with its neighbour in the owner's PACE order.

    The owner's live paths are renumbered 1..n on the way, so gaps and ties
    left by earlier edits disappear.
    """
    check_version(point, expected_version)
    owner = point.owner
    paths = owner.channels if hasattr(owner, "channels") else owner.contact_points
    siblings = sorted(
        (p for p in paths if p.deleted_at is None),
        key=lambda p: (p.priority, p.id),
    )
    index = siblings.index(point)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(siblings):
        siblings[index], siblings[other] = siblings[other], siblings[index]
    for priority, sibling in enumerate(siblings, start=1):
        if sibling.priority != priority:
            sibling.priority = priority
    db.session.flush()


def set_rotation_members(rotation: Rotation, person_ids: list[int]) -> None:
    """Put persons in a rotation's order, reusing its member rows in place.

    Rows are updated rather than replaced, so positions never clash in the
    middle of a save.
    """
    members = list(rotation.members)
    for position, person_id in enumerate(person_ids):
        if position < len(members):
            members[position].person_id = person_id
        else:
            rotation.members.append(RotationMember(person_id=person_id, position=position))
    for extra in members[len(person_ids):]:
        rotation.members.remove(extra)
    db.session.flush()


def set_participants(pattern, actor_ids: list[int]) -> None:
    """Make these actors a pattern's participants (in place, keeping the rest)."""
    from directory.core.models import PatternParticipant

    wanted = set(actor_ids)
    for participant in list(pattern.participants):
        if participant.actor_id not in wanted:
            pattern.participants.remove(participant)
    have = {p.actor_id for p in pattern.participants}
    for actor_id in actor_ids:
        if actor_id not in have:
            pattern.participants.append(PatternParticipant(actor_id=actor_id))
    db.session.flush()


def set_measures(scenario, measures_by_phase: dict) -> None:
    """Replace a scenario's prioritised measures, phase by phase, rows in place."""
    from directory.core.models import ScenarioMeasure

    for phase, texts in measures_by_phase.items():
        existing = [m for m in scenario.measures if m.phase == phase]
        existing.sort(key=lambda m: m.position)
        for position, text in enumerate(texts, start=1):
            if position <= len(existing):
                existing[position - 1].text = text
            else:
                scenario.measures.append(
                    ScenarioMeasure(phase=phase, position=position, text=text)
                )
        for extra in existing[len(texts):]:
            scenario.measures.remove(extra)
    db.session.flush()


def confirm_review(actor: Actor, user: User | None) -> None:
    """Record that the actor's entries were reviewed and are still correct."""
    actor.last_reviewed_at = utcnow()
    actor.last_reviewed_by_id = user.id if user else None
    db.session.flush()


def history(entity_type: str, entity_id: int) -> list[AuditEvent]:
    """An entry's recorded changes, newest first."""
    if entity_type not in ENTRY_TYPES:
        raise KeyError(entity_type)
    return db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id.desc())
    ).all()
