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
            add(obj, AuditAction.CREATE, None, snapshot(obj))
    for obj in session.dirty:
        if isinstance(obj, AUDITED) and session.is_modified(obj):
            before, after = _changes(obj)
            if after or before:
                action = _action_for_update(before, after)
                # The version this change created, so a conflicting save can
                # be shown exactly the changes made since the version it read.
                after["_version"] = getattr(obj, "version", None)
                add(obj, action, before, after)
    for obj in session.deleted:
        if isinstance(obj, AUDITED):
            add(obj, AuditAction.DELETE, snapshot(obj), None)
    if rows:
        session.connection().execute(insert(AuditEvent.__table__), rows)


def init_app(app) -> None:
    """Record every flushed change of directory data."""
    if not event.contains(Session, "after_flush", _record):
        event.listen(Session, "after_flush", _record)
