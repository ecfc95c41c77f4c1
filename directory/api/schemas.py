"""What the API takes and answers, once, as pydantic models.

SpecTree (`directory.api.spec`) validates every request against these models
and every answer against its response model, and generates
/api/v1/openapi.json from the same models: the description cannot say one
thing while the app does another.

Answers are written out here field by field; what requests take (query
parameters, and bodies made from the pages' forms) is `directory.api.inputs`.
"""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    create_model,
)

from directory.core.models import (
    ActorKind,
    ActorLevel,
    CheckSource,
    ContactKind,
    Mode,
    PathMode,
    RotationKind,
)

DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 50, 200, 100_000
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns
MAX_SEARCH_RESULTS = 50
TIME_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"

OWNER_TYPES = ("actor", "role", "person", "pattern")


def one_of(values):
    return Literal[tuple(values)]


def values_of(enum_class) -> list[str]:
    return [member.value for member in enum_class]


ActorKindValue = one_of(values_of(ActorKind))
ActorLevelValue = one_of(values_of(ActorLevel))
ContactKindValue = one_of(values_of(ContactKind))
ModeValue = one_of(values_of(Mode))
PathModeValue = one_of(values_of(PathMode))
OwnerTypeValue = one_of(OWNER_TYPES)
Moment = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Day = Annotated[str, Field(json_schema_extra={"format": "date"})]
Clock = Annotated[str, Field(pattern=TIME_PATTERN)]


class Answer(BaseModel):
    """An answer's body: exactly these fields, each present (null where allowed)."""

    model_config = ConfigDict(extra="forbid")


# --- Answers ------------------------------------------------------------------


class Problem(BaseModel):
    """An RFC 9457 problem; `errors` lists the fields that failed."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list["FieldError"] | None = None
    current_version: int | None = None
    changed_fields: list[str] | None = None


class FieldError(Answer):
    field: str
    message: str


class Entry(Answer):
    id: int
    version: int
    updated_at: datetime


class Actor(Entry):
    """An organisation taking part in the region's cooperation."""

    slug: str
    name: str
    short_name: str
    kind: ActorKindValue
    level: ActorLevelValue
    parent_id: int | None
    notes: str
    review_interval_days: int
    last_reviewed_at: datetime | None
    review_due_at: datetime | None
    is_demo: bool


class Person(Entry):
    """Someone who works for an actor and can be reached."""

    actor_id: int
    name: str
    title: str
    notes: str


class EscalationTarget(Answer):
    type: one_of(["role", "person", "switchboard"])
    id: int
    name: str


class EscalationStep(Answer):
    """No answer within `after_minutes` → call `target`: a role, a person or a switchboard."""

    position: int
    after_minutes: int
    target: EscalationTarget
    dead_end: bool = Field(description="The target has no phone number for the mode in force.")


class Role(Entry):
    """An on-call function of an actor, such as TiB."""

    actor_id: int
    name: str
    short_name: str
    description: str
    escalation: list[EscalationStep] = Field(
        description="Escalation outside call trees, in order; the targets' numbers are "
                    "their own contact points.")


class Verification(Answer):
    """When a call on this path last reached someone, and whether the latest call failed."""

    verified_at: datetime | None
    verified_how: one_of(values_of(CheckSource)) | None
    failed: bool
    failed_at: datetime | None


class ContactPoint(Entry):
    """One way to reach an owner: a number, an address or a radio channel."""

    owner_type: OwnerTypeValue
    owner_id: int
    kind: ContactKindValue
    value: str = Field(description="Phones in E.164, short numbers as digits.")
    display: str = Field(description="The value as people read it.")
    uri: str | None = Field(description="tel:, mailto: or web address.")
    pin: str
    label: str
    mode: PathModeValue
    priority: int
    available_from: Clock | None
    available_until: Clock | None
    weekdays: int = Field(description="Bit mask, Monday = 1 … Sunday = 64.")
    confidential: bool
    verification: Verification


class Shift(Entry):
    """A single stretch of on-call duty."""

    role_id: int
    person_id: int
    starts_at: datetime
    ends_at: datetime
    note: str


class Override(Entry):
    """Someone takes over a role for a while (beats shifts and rotations)."""

    role_id: int
    person_id: int
    replaces_person_id: int | None
    starts_at: datetime
    ends_at: datetime
    reason: str


class Rotation(Entry):
    """Members of a role take turns, handing over at a local time."""

    role_id: int
    name: str
    kind: one_of(values_of(RotationKind))
    length_days: int
    handover_time: Clock
    starts_on: Day
    ends_on: Day | None
    members: list[int] = Field(description="The persons' ids, in turn order.")


class Ref(Answer):
    """A short reference to an actor, role, person or pattern."""

    type: OwnerTypeValue
    id: int
    name: str
    label: str
    actor_id: int


class OnCall(Answer):
    """Who is on call, why (override > shift > rotation), from when to when."""

    source: Literal["override", "shift", "rotation", "nobody"]
    person: Ref | None
    starts_at: datetime | None
    ends_at: datetime | None


class RoleOnCall(Answer):
    """Who is on call for a role, with the paths for the mode in force (PACE order)."""

    role: Ref
    at: datetime
    mode: ModeValue
    on_call: OnCall
    role_contact_points: list[ContactPoint]
    person_contact_points: list[ContactPoint]


class OnCallItem(Answer):
    role: Ref
    at: datetime
    on_call: OnCall


class ModeState(Answer):
    """The mode in force for a scope (`region` or `actor:<id>`)."""

    mode: ModeValue
    scope: str
    since: datetime | None
    reason: str
    scenario_id: int | None


class ActorModeState(ModeState):
    actor_id: int


class ModeOverview(Answer):
    region: ModeState
    actors: list[ActorModeState]


class CallTree(Entry):
    """Who calls whom, in which order, for one mode; actor_id null: regional."""

    name: str
    actor_id: int | None
    mode: ModeValue
    scenario_id: int | None
    revision: int
    valid_from: Day
    next_review_on: Day | None
    notes: str


class Reach(Answer):
    """A target resolved: who is on call and the paths for the tree's mode."""

    target: Ref
    on_call: OnCall | None
    contact_points: list[ContactPoint]
    escalate_after_minutes: int | None


class CallTreeNode(Reach):
    """A step of a call tree, its alternates in order, then its children."""

    id: int
    depth: int
    instructions: str
    alternates: list[Reach]
    warnings: list[Literal["no_path", "alternate_no_path", "nobody_on_call",
                           "review_overdue"]]
    children: list["CallTreeNode"]


class ResolvedCallTree(CallTree):
    """A call tree resolved at a moment, for the tree's mode."""

    at: datetime
    nodes: list[CallTreeNode]


class StepAlternate(Answer):
    target: str = Field(description="role-<id>, person-<id> or actor-<id>.")
    minutes: int = Field(description="Minutes without an answer before moving on.")


class StepWarning(Answer):
    """What placing a target means: `no_path`, nobody running the tree can reach them
    in its mode (a dead end); `confidential_shown`, their hidden numbers are shown to
    everyone who may run or print the tree."""

    target: str
    warning: Literal["no_path", "confidential_shown"]


class CallTreeStep(Entry):
    """A step of a call tree as stored: whom it calls, where it sits, who next."""

    tree_id: int
    parent_id: int | None
    depth: int
    position: int
    target: str = Field(description="role-<id>, person-<id> or actor-<id>.")
    instructions: str
    escalate_after_minutes: int | None
    alternates: list[StepAlternate]
    warnings: list[StepWarning]


class Participant(Answer):
    actor_id: int
    role_id: int | None


class Pattern(Entry):
    """How actors meet: a conference, bridge or talk group on a cadence."""

    name: str
    convener_actor_id: int
    convener_role_id: int | None
    mode: PathModeValue
    scenario_id: int | None
    recurrence: str = Field(description="An RFC 5545 RRULE, local time.")
    starts_on: Day
    duration_minutes: int
    meeting_place: str
    purpose: str
    mandate: str
    participants: list[Participant]
    channels: list[ContactPoint]
    next_meetings: list[datetime]


class Measures(Answer):
    preparatory: list[str]
    handling: list[str]


class Scenario(Entry):
    """A risk and the regional direction agreed for it."""

    slug: str
    name: str
    facts: str
    assumptions: str
    goal: str
    measures: Measures


class SearchHit(Answer):
    type: Literal["actor", "role", "person", "pattern", "contact_point", "scenario"]
    id: int
    name: str
    owner: Ref | None
    actor: Ref | None
    mode: ModeValue
    contact_points: list[ContactPoint]
    on_call: OnCall | None


class SearchResults(Answer):
    query: str
    results: list[SearchHit]


class LookupHit(Answer):
    contact_point: ContactPoint
    owner: Ref
    actor: Ref | None


class Caller(Answer):
    """Whose hidden number it is: actor and role; the person only when the
    coordinators allow it. The path itself is not given."""

    actor: Ref | None
    roles: list[Ref]
    person: Ref | None
    pattern: Ref | None


class LookupResults(Answer):
    query: str
    number: str = Field(description="The number as stored: E.164 or short digits.")
    is_short: bool
    national: str | None = Field(description="The name of a national number.")
    results: list[LookupHit]
    callers: list[Caller]


class OpenAPIDocument(BaseModel):
    """This description (OpenAPI 3.1)."""

    model_config = ConfigDict(extra="allow")
    openapi: str


def page_of(model: type[BaseModel]) -> type[BaseModel]:
    """One page of `model` entries, in id order."""
    return create_model(
        f"{model.__name__}Page", __base__=Answer, __doc__=f"One page of {model.__name__}"
        " entries, in id order.", items=(list[model], ...), page=(int, ...),
        per_page=(int, ...), total=(int, ...), pages=(int, ...))


PAGES = {model: page_of(model) for model in (
    Actor, Person, Role, ContactPoint, Shift, Override, Rotation, OnCallItem, CallTree, Pattern,
    Scenario)}


Problem.model_rebuild()
CallTreeNode.model_rebuild()
