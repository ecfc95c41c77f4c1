"""The domain model: who can be reached, how, when and in which order.

One module per concern, each read top to bottom: `base` (column types,
enums, the shared mixins), `directory` (actors, persons, roles, contact
points), `schedules` (rotations, shifts, overrides), `coordination`
(scenarios, call trees, collaboration patterns, mode state), `accounts`
(users, tokens, sessions, settings) and `records` (audit, print revisions,
drills, caches, waiting uploads). Import models from here.

Rules that protect data live in the database as constraints, so that no code
path (a form, the API, an import, a shell) can break them: a contact point has
exactly one owner, a call-tree node's parent is in the same tree and no tree
has a cycle, a shift ends after it starts, slugs and e-mails are unique.
"""

from directory.core.models.accounts import (
    AccessToken,
    LoginSession,
    SearchSynonym,
    SearchTerm,
    SearchWord,
    Setting,
    User,
    UserActor,
)
from directory.core.models.base import (
    PHONE_KINDS,
    ActorKind,
    ActorLevel,
    AuditAction,
    CallOutcome,
    CheckSource,
    ContactKind,
    Entry,
    Mode,
    PathMode,
    Phase,
    ReminderFrequency,
    RotationKind,
    Searchable,
    Timestamped,
    TokenKind,
    UserRole,
    UTCDateTime,
    enum_type,
    exactly_one_of,
    related,
    utcnow,
)
from directory.core.models.coordination import (
    CallTree,
    CallTreeAlternate,
    CallTreeNode,
    CollaborationPattern,
    ModeChange,
    ModeState,
    PatternParticipant,
    Scenario,
    ScenarioMeasure,
)
from directory.core.models.directory import (
    Actor,
    ContactPoint,
    Person,
    Role,
)
from directory.core.models.records import (
    AuditEvent,
    Drill,
    DrillEntry,
    PathCheck,
    PendingImport,
    PrintRevision,
    ReminderSent,
    VCardCache,
)
from directory.core.models.schedules import (
    Override,
    Rotation,
    RotationMember,
    Shift,
)

__all__ = [
    "ActorKind",
    "ActorLevel",
    "AuditAction",
    "CallOutcome",
    "CheckSource",
    "ContactKind",
    "Entry",
    "Mode",
    "PHONE_KINDS",
    "PathMode",
    "Phase",
    "ReminderFrequency",
    "RotationKind",
    "Searchable",
    "Timestamped",
    "TokenKind",
    "UTCDateTime",
    "UserRole",
    "enum_type",
    "exactly_one_of",
    "related",
    "utcnow",
    "Actor",
    "ContactPoint",
    "Person",
    "Role",
    "Override",
    "Rotation",
    "RotationMember",
    "Shift",
    "CallTree",
    "CallTreeAlternate",
    "CallTreeNode",
    "CollaborationPattern",
    "ModeChange",
    "ModeState",
    "PatternParticipant",
    "Scenario",
    "ScenarioMeasure",
    "AccessToken",
    "LoginSession",
    "SearchSynonym",
    "SearchTerm",
    "SearchWord",
    "Setting",
    "User",
    "UserActor",
    "AuditEvent",
    "Drill",
    "DrillEntry",
    "PathCheck",
    "PendingImport",
    "PrintRevision",
    "ReminderSent",
    "VCardCache",
]
