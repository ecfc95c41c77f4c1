"""The API's answers: each entry kind as JSON, as its schema (`schemas`) describes it."""

from datetime import UTC, date, datetime, time

from flask import current_app

from directory.api.common import NEXT_MEETINGS, answer, entry_etag, region_tz
from directory.calltrees import rules as calltrees
from directory.calltrees.operations import placing_notes
from directory.core import escalations
from directory.core.models import (
    Actor,
    CallTree,
    CallTreeNode,
    CollaborationPattern,
    ContactKind,
    ContactPoint,
    Override,
    Person,
    Role,
    Rotation,
    Scenario,
    Shift,
    utcnow,
)
from directory.core.numbers import display_phone, tel_uri
from directory.core.patterns import occurrences
from directory.core.security import visible
from directory.core.targets import target_value
from directory.core.verification import status_of
from directory.review.rules import review_due_at


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def clock(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def _entry_fields(entry) -> dict:
    return {"id": entry.id, "version": entry.version, "updated_at": iso(entry.updated_at)}


def actor_json(actor: Actor) -> dict:
    return {
        **_entry_fields(actor),
        "slug": actor.slug,
        "name": actor.name,
        "short_name": actor.short_name,
        "kind": actor.kind.value,
        "level": actor.level.value,
        "parent_id": actor.parent_id,
        "notes": actor.notes,
        "review_interval_days": actor.review_interval_days,
        "last_reviewed_at": iso(actor.last_reviewed_at),
        "review_due_at": iso(review_due_at(actor)),
        "is_demo": actor.is_demo,
    }


def person_json(person: Person) -> dict:
    return {**_entry_fields(person), "actor_id": person.actor_id, "name": person.name,
            "title": person.title, "notes": person.notes}


def role_json(role: Role, states=None) -> dict:
    return {**_entry_fields(role), "actor_id": role.actor_id, "name": role.name,
            "short_name": role.short_name, "description": role.description,
            "escalation": escalations.escalation_data(role, states)}


OWNERS = ("actor", "role", "person", "pattern")  # what a contact path may belong to


def owner_type(point: ContactPoint) -> str:
    for kind in OWNERS:
        if getattr(point, f"{kind}_id") is not None:
            return kind
    raise ValueError("a contact point without an owner")


def _display(point: ContactPoint) -> str:
    if not point.kind.is_phone:
        return point.value
    try:
        return display_phone(point.value, current_app.config["DEFAULT_REGION"])
    except Exception:  # an old, unparsed value is shown as stored
        return point.value


def _uri(point: ContactPoint) -> str | None:
    if point.kind.is_phone:
        return tel_uri(point.value)
    if point.kind is ContactKind.EMAIL:
        return f"mailto:{point.value}"
    if point.kind is ContactKind.WEB:
        return point.value
    return None


def point_json(point: ContactPoint) -> dict:
    kind = owner_type(point)
    return {
        **_entry_fields(point),
        "owner_type": kind,
        "owner_id": getattr(point, f"{kind}_id"),
        "kind": point.kind.value,
        "value": point.value,
        "display": _display(point),
        "uri": _uri(point),
        "pin": point.pin,
        "label": point.label,
        "mode": point.mode.value,
        "priority": point.priority,
        "available_from": clock(point.available_from),
        "available_until": clock(point.available_until),
        "weekdays": point.weekdays,
        "confidential": point.confidential,
        "verification": verification_json(point),
    }


def verification_json(point: ContactPoint) -> dict:
    status = status_of(point)
    return {"verified_at": iso(status.verified_at),
            "verified_how": status.verified_how.value if status.verified_how else None,
            "failed": status.failed, "failed_at": iso(status.failed_at)}


def shift_json(shift: Shift) -> dict:
    return {**_entry_fields(shift), "role_id": shift.role_id, "person_id": shift.person_id,
            "starts_at": iso(shift.starts_at), "ends_at": iso(shift.ends_at),
            "note": shift.note}


def override_json(override: Override) -> dict:
    return {**_entry_fields(override), "role_id": override.role_id,
            "person_id": override.person_id, "replaces_person_id": override.replaces_person_id,
            "starts_at": iso(override.starts_at), "ends_at": iso(override.ends_at),
            "reason": override.reason}


def rotation_json(rotation: Rotation) -> dict:
    return {**_entry_fields(rotation), "role_id": rotation.role_id, "name": rotation.name,
            "kind": rotation.kind.value, "length_days": rotation.length_days,
            "handover_time": clock(rotation.handover_time),
            "starts_on": day(rotation.starts_on), "ends_on": day(rotation.ends_on),
            "members": [m.person_id for m in rotation.members]}


def ref_json(entry) -> dict | None:
    """A short reference to an actor, role, person or pattern."""
    if entry is None:
        return None
    kind = {Actor: "actor", Role: "role", Person: "person",
            CollaborationPattern: "pattern"}[type(entry)]
    actor_id = entry.id if isinstance(entry, Actor) else entry.owning_actor_id
    return {"type": kind, "id": entry.id, "name": entry.name, "actor_id": actor_id,
            "label": calltrees.target_label(entry) if kind != "pattern" else entry.name}


def on_call_json(on_call) -> dict:
    return {"source": on_call.source, "person": ref_json(on_call.person),
            "starts_at": iso(on_call.starts_at), "ends_at": iso(on_call.ends_at)}


def mode_json(state) -> dict:
    scenario = state.scenario
    return {
        "mode": state.mode.value,
        "scope": state.scope,
        "since": iso(state.since),
        "reason": state.reason,
        "scenario_id": scenario.id if scenario else None,
    }


def tree_json(tree: CallTree) -> dict:
    return {**_entry_fields(tree), "name": tree.name, "actor_id": tree.actor_id,
            "mode": tree.mode.value, "scenario_id": tree.scenario_id,
            "revision": tree.revision, "valid_from": day(tree.valid_from),
            "next_review_on": day(tree.next_review_on), "notes": tree.notes}


def _reach_json(reach) -> dict:
    return {
        "target": ref_json(reach.target),
        "on_call": on_call_json(reach.on_call) if reach.on_call is not None else None,
        "contact_points": [point_json(p) for p in reach.paths],
        "escalate_after_minutes": reach.escalate_after_minutes,
    }


def resolved_node_json(resolved) -> dict:
    return {
        "id": resolved.node.id,
        "depth": resolved.depth,
        "instructions": resolved.node.instructions,
        **_reach_json(resolved.reach),
        "alternates": [_reach_json(a) for a in resolved.alternates],
        "warnings": list(resolved.warnings),
        "children": [resolved_node_json(child) for child in resolved.children],
    }


def node_json(node: CallTreeNode) -> dict:
    """A step as stored (the tree's read resolves it), with what placing it means."""
    notes = placing_notes(node.tree, [node.target, *(a.target for a in node.alternates)])
    return {
        **_entry_fields(node),
        "tree_id": node.tree_id,
        "parent_id": node.parent_id,
        "depth": node.depth,
        "position": node.position,
        "target": target_value(node.target),
        "instructions": node.instructions,
        "escalate_after_minutes": node.escalate_after_minutes,
        "alternates": [{"target": target_value(a.target), "minutes": a.escalate_after_minutes}
                       for a in node.alternates],
        "warnings": [{"target": target_value(n.target), "warning": n.kind} for n in notes],
    }


def pattern_json(pattern: CollaborationPattern, now: datetime) -> dict:
    return {
        **_entry_fields(pattern),
        "name": pattern.name,
        "convener_actor_id": pattern.convener_actor_id,
        "convener_role_id": pattern.convener_role_id,
        "mode": pattern.mode.value,
        "scenario_id": pattern.scenario_id,
        "recurrence": pattern.recurrence,
        "starts_on": day(pattern.starts_on),
        "duration_minutes": pattern.duration_minutes,
        "meeting_place": pattern.meeting_place,
        "purpose": pattern.purpose,
        "mandate": pattern.mandate,
        "participants": [{"actor_id": p.actor_id, "role_id": p.role_id}
                         for p in sorted(pattern.participants, key=lambda p: p.actor_id)],
        "channels": [point_json(p) for p in visible(
            sorted((c for c in pattern.channels if c.deleted_at is None),
                   key=lambda c: (c.priority, c.id)))],
        "next_meetings": [iso(m) for m in occurrences(pattern, now, region_tz(), NEXT_MEETINGS)],
    }


def scenario_json(scenario: Scenario) -> dict:
    measures = {"preparatory": [], "handling": []}
    for measure in sorted(scenario.measures, key=lambda m: (m.phase.value, m.position)):
        measures[measure.phase.value].append(measure.text)
    return {**_entry_fields(scenario), "slug": scenario.slug, "name": scenario.name,
            "facts": scenario.facts, "assumptions": scenario.assumptions,
            "goal": scenario.goal, "measures": measures}


SERIALIZERS = {Actor: actor_json, Person: person_json, Role: role_json,
               ContactPoint: point_json, Shift: shift_json, Override: override_json,
               Rotation: rotation_json, CallTree: tree_json, CallTreeNode: node_json,
               CollaborationPattern: lambda pattern: pattern_json(pattern, utcnow()),
               Scenario: scenario_json}


def entry_answer(entry, *, status=200, headers=None):
    return answer(SERIALIZERS[type(entry)](entry), status=status, etag=entry_etag(entry),
                   headers=headers)
