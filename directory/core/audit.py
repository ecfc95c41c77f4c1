"""The audit trail: every change to directory data, with who, when, before, after.

It is recorded by a flush hook, not by each view, so no code path (a form,
the API, an import, the shell) can change an entry without leaving a record.
The records are written on the same connection, in the same transaction, as
the change they describe: both land or neither does.
"""

import enum
from datetime import date, datetime, time

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from directory.core.models import (
    Actor,
    AuditAction,
    AuditEvent,
    CallTree,
    CallTreeAlternate,
    CallTreeNode,
    CollaborationPattern,
    ContactPoint,
    Override,
    PathCheck,
    PatternParticipant,
    Person,
    Role,
    Rotation,
    RotationMember,
    Scenario,
    ScenarioMeasure,
    Shift,
    utcnow,
)

# Entries with a history page of their own (and soft delete / restore).
ENTRY_TYPES = {
    model.__tablename__: model
    for model in (
        Actor,
        Person,
        Role,
        ContactPoint,
        Rotation,
        Shift,
        Override,
        CallTree,
        CallTreeNode,
        CollaborationPattern,
        Scenario,
    )
}
# Parts of an entry, recorded too, but shown in their entry's history.
PART_TYPES = {
    RotationMember: "rotation_id",
    CallTreeAlternate: "node_id",
    ScenarioMeasure: "scenario_id",
    PatternParticipant: "pattern_id",
    PathCheck: "contact_point_id",
}
AUDITED = tuple(ENTRY_TYPES.values()) + tuple(PART_TYPES)

# Bookkeeping columns: they change with every edit and tell nobody anything.
IGNORED = frozenset({"created_at", "updated_at", "version", "search_key"})
REVIEW_COLUMNS = frozenset({"last_reviewed_at", "last_reviewed_by_id"})


def to_json(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def snapshot(obj) -> dict:
    """The entry's column values, JSON-ready (bookkeeping columns left out)."""
    mapper = inspect(obj).mapper
    return {
        column.key: to_json(getattr(obj, column.key))
        for column in mapper.column_attrs
        if column.key not in IGNORED
    }


def acting_user_id() -> int | None:
    """The signed-in user, or whoever a command said it acts for (None: system)."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return g.get("acting_user_id") if g else None


def describe(obj) -> str:
    for attribute in ("name", "value", "slug"):
        value = getattr(obj, attribute, None)
        if value:
            return f"{type(obj).__name__} {to_json(value)}"[:400]
    identity = inspect(obj).identity or ()
    return f"{type(obj).__name__} #{'/'.join(str(part) for part in identity)}"


def _changes(obj) -> tuple[dict, dict]:
    """The columns that changed in this flush: their values before and after."""
    state = inspect(obj)
    before, after = {}, {}
    for column in state.mapper.column_attrs:
        if column.key in IGNORED:
            continue
        history = state.attrs[column.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[column.key] = to_json(old)
        after[column.key] = to_json(new)
    return before, after


def _action_for_update(before: dict, after: dict) -> AuditAction:
    if "deleted_at" in after:
        return AuditAction.DELETE if after["deleted_at"] else AuditAction.RESTORE
    if set(after) <= REVIEW_COLUMNS:
        return AuditAction.REVIEW
    return AuditAction.UPDATE


def _entity_of(obj) -> tuple[str, int]:
    """Parts are filed under the entry they belong to."""
    parent_column = PART_TYPES.get(type(obj))
    if parent_column is None:
        return type(obj).__tablename__, obj.id
    parent_table = {
        "rotation_id": "rotation",
        "node_id": "call_tree_node",
        "scenario_id": "scenario",
        "pattern_id": "collaboration_pattern",
        "contact_point_id": "contact_point",
    }[parent_column]
    return parent_table, getattr(obj, parent_column)


def _owning_actor_id(obj) -> int | None:
    try:
        return getattr(obj, "owning_actor_id", None)
    except AttributeError:  # a part whose parent is not loaded
        return None


def _record(session: Session, flush_context) -> None:
    rows = []
    user_id = acting_user_id()
    now = utcnow()

    def add(obj, action, before, after):
        entity_type, entity_id = _entity_of(obj)
        if isinstance(obj, tuple(PART_TYPES)):
            before = {"part": type(obj).__tablename__, **before} if before else before
            after = {"part": type(obj).__tablename__, **after} if after else after
        rows.append(
            {
                "at": now,
                "user_id": user_id,
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "actor_id": _owning_actor_id(obj),
                "summary": describe(obj),
                "before": before,
                "after": after,
            }
        )

    for obj in session.new:
        if isinstance(obj, AUDITED):
            after = snapshot(obj)
            entry = _entry_of_part(session, obj)
            if entry is not None:  # a part added: its entry's version moved with it
                after["_version"] = entry.version
            add(obj, AuditAction.CREATE, None, after)
    for obj in session.dirty:
        if isinstance(obj, AUDITED) and session.is_modified(obj):
            before, after = _changes(obj)
            if after or before:
                action = _action_for_update(before, after)
                # The version this change created, so a conflicting save can
                # be shown exactly the changes made since the version it read.
                # A part has no version of its own: its entry's, which moved with it.
                entry = _entry_of_part(session, obj)
                after["_version"] = getattr(entry if entry is not None else obj, "version", None)
                add(obj, action, before, after)
    for obj in session.deleted:
        if isinstance(obj, AUDITED):
            add(obj, AuditAction.DELETE, snapshot(obj), None)
    if rows:
        session.connection().execute(insert(AuditEvent.__table__), rows)


# Parts whose change is a change of their entry: the entry's version must move,
# or two people saving the same pattern's participants (or a rotation's order,
# a step's alternates, a scenario's measures) from the same read would both
# pass the version check and the second would silently undo the first. A
# number's verification is not an edit of the number, so PathCheck is left out.
VERSIONED_PARTS = {
    RotationMember: ("rotation", Rotation),
    CallTreeAlternate: ("node", CallTreeNode),
    ScenarioMeasure: ("scenario", Scenario),
    PatternParticipant: ("pattern", CollaborationPattern),
}


def _entry_of_part(session: Session, obj):
    """The entry a versioned part belongs to (None for other rows)."""
    part = VERSIONED_PARTS.get(type(obj))
    if part is None:
        return None
    relationship_name, model = part
    entry = getattr(obj, relationship_name)
    if entry is None:  # taken out of its entry's list: the key still names it
        key = getattr(obj, PART_TYPES[type(obj)])
        entry = session.get(model, key) if isinstance(key, int) else None
    return entry


def _parts_change_their_entry(session: Session, flush_context, instances) -> None:
    """Before a flush: an entry whose parts were added, changed or removed gets
    an UPDATE of its own, which raises its version."""
    entries = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        part = VERSIONED_PARTS.get(type(obj))
        if part is None or (obj in session.dirty and not session.is_modified(obj)):
            continue
        entry = _entry_of_part(session, obj)
        if entry is not None and entry not in session.new:
            entries.add(entry)
    for entry in entries:
        entry.updated_at = utcnow()


def init_app(app) -> None:
    """Record every flushed change of directory data."""
    if not event.contains(Session, "after_flush", _record):
        event.listen(Session, "after_flush", _record)
    if not event.contains(Session, "before_flush", _parts_change_their_entry):
        event.listen(Session, "before_flush", _parts_change_their_entry)
