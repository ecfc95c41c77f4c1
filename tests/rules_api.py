"""Who may use each API route that changes data (merged into test_permissions).

The matrix sends JSON with the signed-in session and its CSRF token; the
success codes are the API's: 200 for a change, 201 for a new entry, 204 for
a deletion.
"""

from datetime import timedelta

from directory.core.extensions import db
from directory.core.models import Rotation, RotationMember, Shift, utcnow

API = "/api/v1"
CHANGE = {"json": True, "method": "PATCH", "success": (200,)}
CREATE = {"json": True, "method": "POST", "success": (201,)}
DELETE = {"json": True, "method": "DELETE", "success": (204,)}
ACTION = {"json": True, "method": "POST", "success": (200,)}


def shift_of(w) -> Shift:
    """The world has no shift of its own: one is made the first time a rule asks."""
    if "shift" not in w.__dict__:
        shift = Shift(role=w.role, person=w.person, starts_at=utcnow() + timedelta(days=1),
                      ends_at=utcnow() + timedelta(days=2))
        db.session.add(shift)
        db.session.commit()
        w.__dict__["shift"] = shift
    return w.__dict__["shift"]


def rotation_of(w) -> Rotation:
    """The world has no rotation of its own: one is made the first time a rule asks."""
    if "rotation" not in w.__dict__:
        rotation = Rotation(role=w.role, starts_on=utcnow().date())
        rotation.members = [RotationMember(person=w.person, position=0)]
        db.session.add(rotation)
        db.session.commit()
        w.__dict__["rotation"] = rotation
    return w.__dict__["rotation"]


def period(w) -> dict:
    return {"role_id": w.role.id, "person_id": w.person.id,
            "starts_at": "2026-12-24T08:00:00+01:00", "ends_at": "2026-12-25T08:00:00+01:00"}


RULES = {
    "api.actor_update": (lambda w: f"{API}/actors/{w.own.id}",
                         lambda w: {"short_name": "HK"}, True, CHANGE),
    "api.actor_review": (lambda w: f"{API}/actors/{w.own.id}/review", lambda w: {}, True,
                         ACTION),
    "api.person_create": (lambda w: f"{API}/persons",
                          lambda w: {"actor_id": w.own.id, "name": "Ny Person"}, True, CREATE),
    "api.person_update": (lambda w: f"{API}/persons/{w.person.id}",
                          lambda w: {"title": "TiB"}, True, CHANGE),
    "api.person_delete": (lambda w: f"{API}/persons/{w.person.id}", lambda w: {}, True, DELETE),
    "api.role_create": (lambda w: f"{API}/roles",
                        lambda w: {"actor_id": w.own.id, "name": "Kommunikatör i beredskap"},
                        True, CREATE),
    "api.role_update": (lambda w: f"{API}/roles/{w.role.id}",
                        lambda w: {"description": "Dygnet runt"}, True, CHANGE),
    "api.role_delete": (lambda w: f"{API}/roles/{w.role.id}", lambda w: {}, True, DELETE),
    "api.contact_point_create": (lambda w: f"{API}/contact-points",
                                 lambda w: {"owner_type": "role", "owner_id": w.role.id,
                                            "kind": "mobile", "value": "070-174 06 20"},
                                 True, CREATE),
    "api.contact_point_update": (lambda w: f"{API}/contact-points/{w.point.id}",
                                 lambda w: {"value": "070-174 06 21"}, True, CHANGE),
    "api.contact_point_delete": (lambda w: f"{API}/contact-points/{w.point.id}",
                                 lambda w: {}, True, DELETE),
    "api.shift_create": (lambda w: f"{API}/shifts", period, True, CREATE),
    "api.shift_update": (lambda w: f"{API}/shifts/{shift_of(w).id}",
                         lambda w: {"note": "Julafton"}, True, CHANGE),
    "api.shift_delete": (lambda w: f"{API}/shifts/{shift_of(w).id}", lambda w: {}, True,
                         DELETE),
    "api.override_create": (lambda w: f"{API}/overrides",
                            lambda w: {**period(w), "reason": "Julafton"}, True, CREATE),
    "api.override_update": (lambda w: f"{API}/overrides/{w.override.id}",
                            lambda w: {"reason": "Sjukdom"}, True, CHANGE),
    "api.override_delete": (lambda w: f"{API}/overrides/{w.override.id}", lambda w: {}, True,
                            DELETE),
    "api.rotation_create": (lambda w: f"{API}/rotations",
                            lambda w: {"role_id": w.role.id, "kind": "weekly",
                                       "handover_time": "08:00", "starts_on": "2026-01-05",
                                       "members": [w.person.id]}, True, CREATE),
    "api.rotation_update": (lambda w: f"{API}/rotations/{rotation_of(w).id}",
                            lambda w: {"name": "Vinter"}, True, CHANGE),
    "api.rotation_delete": (lambda w: f"{API}/rotations/{rotation_of(w).id}",
                            lambda w: {}, True, DELETE),
    "api.call_tree_create": (lambda w: f"{API}/call-trees",
                             lambda w: {"actor_id": w.own.id, "name": "Larmkedja storm",
                                        "mode": "activated", "valid_from": "2026-12-01"},
                             True, CREATE),
    "api.call_tree_update": (lambda w: f"{API}/call-trees/{w.tree.id}",
                             lambda w: {"revision": 2}, True, CHANGE),
    "api.call_tree_delete": (lambda w: f"{API}/call-trees/{w.tree.id}", lambda w: {}, True,
                             DELETE),
    "api.call_tree_node_create": (lambda w: f"{API}/call-tree-nodes",
                                  lambda w: {"tree_id": w.tree.id, "parent_id": w.node.id,
                                             "target": f"person-{w.person.id}"},
                                  True, CREATE),
    "api.call_tree_node_update": (lambda w: f"{API}/call-tree-nodes/{w.node.id}",
                                  lambda w: {"instructions": "Ring två gånger.",
                                             "alternates": [{"target": f"person-{w.person.id}",
                                                             "minutes": 5}]}, True, CHANGE),
    "api.call_tree_node_delete": (lambda w: f"{API}/call-tree-nodes/{w.node.id}",
                                  lambda w: {}, True, DELETE),
    "api.pattern_create": (lambda w: f"{API}/patterns",
                           lambda w: {"convener_actor_id": w.own.id, "name": "Samverkan",
                                      "times": "09:00, 15:00", "starts_on": "2026-12-01",
                                      "participants": [w.other.id]}, True, CREATE),
    "api.pattern_update": (lambda w: f"{API}/patterns/{w.pattern.id}",
                           lambda w: {"frequency": "weekly", "weekdays": ["MO"],
                                      "times": "10:00"}, True, CHANGE),
    "api.pattern_delete": (lambda w: f"{API}/patterns/{w.pattern.id}", lambda w: {}, True,
                           DELETE),
    # Scenarios are regional: the coordinators' (admins'), as on the scenario pages.
    "api.scenario_create": (lambda w: f"{API}/scenarios",
                            lambda w: {"name": "Översvämning", "preparatory": "Varna"},
                            False, CREATE),
    "api.scenario_update": (lambda w: f"{API}/scenarios/{w.scenario.id}",
                            lambda w: {"facts": "Höga flöden"}, False, CHANGE),
    "api.scenario_delete": (lambda w: f"{API}/scenarios/{w.scenario.id}", lambda w: {},
                            False, DELETE),
    # The register of actors is the coordinators' (admins'), as on the pages.
    "api.actor_create": (lambda w: f"{API}/actors", lambda w: {"name": "Tyresö kommun"},
                         False, CREATE),
    "api.actor_move": (lambda w: f"{API}/actors/{w.own.id}/move",
                       lambda w: {"parent_id": w.other.id}, False, ACTION),
    "api.actor_delete": (lambda w: f"{API}/actors/{w.other.id}", lambda w: {}, False, DELETE),
    # Switching modes is the coordinators' (admins') alone, as on the mode page.
    "api.mode_switch": (lambda w: f"{API}/mode",
                        lambda w: {"mode": "activated", "reason": "Snöstorm"}, False, ACTION),
}
