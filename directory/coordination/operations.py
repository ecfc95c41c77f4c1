"""Writes to collaboration patterns and scenarios, shared by the pages and the API.

They flush and leave the commit to the caller. Who may convene a pattern is
the one rule (`security.can_edit` on the convening actor); scenarios are the
coordinators' (regional entries).
"""

from directory.core import entries as services
from directory.core.extensions import db
from directory.core.models import Actor, CollaborationPattern, Role, Scenario
from directory.core.security import can_edit


class NotAllowed(Exception):
    """The user may not place the entry under this actor."""


def save_pattern(pattern: CollaborationPattern, values: dict, convener_actor_id: int, user,
                 expected_version: int | None = None) -> CollaborationPattern:
    """Create or change a pattern convened by one of the user's actors.

    A convening role of another actor than the convener is dropped, as the
    page has always done (its list offers every role).
    """
    convener = db.session.get(Actor, convener_actor_id)
    if convener is None or convener.deleted_at is not None or not can_edit(user, convener):
        raise NotAllowed
    columns = dict(values)
    participants = columns.pop("participants")
    role = db.session.get(Role, columns["convener_role_id"]) \
        if columns["convener_role_id"] else None
    columns["convener_role_id"] = role.id if role and role.actor_id == convener.id else None
    services.save(pattern, {**columns, "convener_actor_id": convener.id}, expected_version)
    services.set_participants(pattern, participants)
    return pattern


def save_scenario(scenario: Scenario, values: dict,
                  expected_version: int | None = None) -> Scenario:
    """Create or change a scenario and its prioritised measures per phase."""
    columns = dict(values)
    measures = columns.pop("measures")
    if scenario.id is None:
        columns["slug"] = services.unique_slug(Scenario, columns["name"], "scenario")
    services.save(scenario, columns, expected_version)
    services.set_measures(scenario, measures)
    return scenario
