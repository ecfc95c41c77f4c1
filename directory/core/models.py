"""The domain model: who can be reached, how, when and in which order.

Read top to bottom: column types and enums, the shared mixins, then the
directory (actors, persons, roles, contact points), schedules, call trees,
collaboration patterns and scenarios, mode state, users, and the records kept
about everything else (audit, print revisions, drills).

Rules that protect data live in the database as constraints, so that no code
path (a form, the API, an import, a shell) can break them: a contact point has
exactly one owner, a call-tree node's parent is in the same tree and no tree
has a cycle, a shift ends after it starts, slugs and e-mails are unique.
"""

import enum
from datetime import UTC, date, datetime, time

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from directory.core.extensions import db
from directory.core.text import search_key


def utcnow() -> datetime:
    """The current moment, timezone-aware, in UTC (a callable for defaults)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A moment in time, always timezone-aware UTC in Python.

    SQLite keeps no time zone, so values are stored as naive UTC there and
    given their zone back when read; PostgreSQL stores `timestamptz`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_class: type[enum.Enum], name: str) -> SqlEnum:
    """A portable enum column: a VARCHAR with a named CHECK constraint."""
    return SqlEnum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def exactly_one_of(*columns: str) -> str:
    """SQL that is true when exactly one of the columns is set."""
    terms = " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in columns)
    return f"{terms} = 1"


class Mode(enum.StrEnum):
    """The mode in force for a scope."""

    ORDINARY = "ordinary"
    ACTIVATED = "activated"


class PathMode(enum.StrEnum):
    """When a contact path or pattern applies."""

    BOTH = "both"
    ORDINARY = "ordinary"
    ACTIVATED = "activated"

    def applies_in(self, mode: Mode) -> bool:
        return self is PathMode.BOTH or self.value == mode.value


class ActorKind(enum.StrEnum):
    MUNICIPALITY = "municipality"
    MUNICIPAL_ADMINISTRATION = "municipal_administration"
    COUNTY_BOARD = "county_board"
    POLICE = "police"
    ARMED_FORCES = "armed_forces"
    RESCUE_SERVICE = "rescue_service"
    REGION = "region"
    AGENCY = "agency"
    EMERGENCY_CENTRE = "emergency_centre"
    COMPANY = "company"
    VOLUNTEER = "volunteer"
    OTHER = "other"


class ActorLevel(enum.StrEnum):
    REGIONAL = "regional"
    LOCAL = "local"


class ContactKind(enum.StrEnum):
    MOBILE = "mobile"
    LANDLINE = "landline"
    SWITCHBOARD = "switchboard"
    SMS = "sms"
    SATELLITE = "satellite"
    BRIDGE = "bridge"
    EMAIL = "email"
    RAKEL_GROUP = "rakel_group"
    RAKEL_ISSI = "rakel_issi"
    WEB = "web"
    ADDRESS = "address"
    OTHER = "other"

    @property
    def is_phone(self) -> bool:
        return self in PHONE_KINDS


PHONE_KINDS = frozenset(
    {
        ContactKind.MOBILE,
        ContactKind.LANDLINE,
        ContactKind.SWITCHBOARD,
        ContactKind.SMS,
        ContactKind.SATELLITE,
        ContactKind.BRIDGE,
    }
)


class RotationKind(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    CUSTOM = "custom"


class Phase(enum.StrEnum):
    PREPARATORY = "preparatory"
    HANDLING = "handling"


class UserRole(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"


class AuditAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESTORE = "restore"
    REVIEW = "review"


class TokenKind(enum.StrEnum):
    API = "api"
    CALENDAR = "calendar"


def related(obj, relationship_name: str, model, foreign_key: str):
    """A many-to-one, even on a row created with only its foreign key set.

    Rows made with `actor_id=...` rather than `actor=...` do not load the
    relationship while they are being flushed; the flush hooks need it.
    """
    value = getattr(obj, relationship_name)
    if value is None and getattr(obj, foreign_key) is not None:
        value = db.session.get(model, getattr(obj, foreign_key))
    return value


# --- Mixins -----------------------------------------------------------------


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )


class Entry(Timestamped):
    """A directory entry: soft-deleted, versioned against lost updates.

    `deleted_at` keeps a deleted entry with all its values, so it can be
    restored exactly; `version` is checked on every UPDATE, so a save based on
    an old read fails instead of silently overwriting someone else's edit.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Searchable:
    """A row found by search: its own words, and words it is found by too.

    `search_text()` names its own words (kept folded in `search_key`);
    `context_text()` names the words of what it belongs to, so "haninge tib"
    finds the TiB role of Haninge kommun. Flush hooks (see `database` and
    `search`) keep both the key and the search index current, so no code
    path can forget them.
    """

    search_key: Mapped[str] = mapped_column(String(400), default="", index=True)

    def search_text(self) -> tuple[str | None, ...]:
        raise NotImplementedError

    def context_text(self) -> tuple[str | None, ...]:
        return ()

    def refresh_search_key(self) -> None:
        self.search_key = search_key(*self.search_text())[:400]


# --- The directory ----------------------------------------------------------


class Actor(Entry, Searchable, db.Model):
    """An organisation taking part in the region's cooperation."""

    __tablename__ = "actor"
    __table_args__ = (
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint("review_interval_days > 0", name="review_interval_positive"),
        CheckConstraint("slug <> ''", name="slug_not_empty"),
    )

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(60), default="")
    kind: Mapped[ActorKind] = mapped_column(enum_type(ActorKind, "actor_kind"))
    level: Mapped[ActorLevel] = mapped_column(enum_type(ActorLevel, "actor_level"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("actor.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    review_interval_days: Mapped[int] = mapped_column(Integer, default=180)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    parent: Mapped["Actor | None"] = relationship(
        remote_side="Actor.id", back_populates="children"
    )
    children: Mapped[list["Actor"]] = relationship(back_populates="parent")
    persons: Mapped[list["Person"]] = relationship(back_populates="actor")
    roles: Mapped[list["Role"]] = relationship(back_populates="actor")
    contact_points: Mapped[list["ContactPoint"]] = relationship(
        back_populates="actor", order_by="ContactPoint.priority"
    )

    def search_text(self):
        return (self.name, self.short_name)

    @property
    def owning_actor_id(self) -> int:
        return self.id

    def __repr__(self) -> str:
        return f"<Actor {self.slug}>"


class Person(Entry, Searchable, db.Model):
    """Someone who works for an actor and can be reached."""

    __tablename__ = "person"
    __table_args__ = (CheckConstraint("name <> ''", name="name_not_empty"),)

    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actor.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[Actor] = relationship(back_populates="persons")
    contact_points: Mapped[list["ContactPoint"]] = relationship(
        back_populates="person", order_by="ContactPoint.priority"
    )

    def search_text(self):
        return (self.name, self.title)

    def context_text(self):
        actor = related(self, "actor", Actor, "actor_id")
        return (actor.name, actor.short_name) if actor else ()

    @property
    def owning_actor_id(self) -> int:
        return self.actor_id

    def __repr__(self) -> str:
        return f"<Person {self.name}>"


class Role(Entry, Searchable, db.Model):
    """An on-call function of an actor, such as "TiB" of Haninge kommun."""

    __tablename__ = "role"
    __table_args__ = (
        UniqueConstraint("actor_id", "name"),
        CheckConstraint("name <> ''", name="name_not_empty"),
    )

    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actor.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[Actor] = relationship(back_populates="roles")
    contact_points: Mapped[list["ContactPoint"]] = relationship(
        back_populates="role", order_by="ContactPoint.priority"
    )
    rotations: Mapped[list["Rotation"]] = relationship(back_populates="role")

    def search_text(self):
        return (self.name, self.short_name)

    def context_text(self):
        actor = related(self, "actor", Actor, "actor_id")
        return (actor.name, actor.short_name) if actor else ()

    @property
    def owning_actor_id(self) -> int:
        return self.actor_id

    def __repr__(self) -> str:
        return f"<Role {self.short_name or self.name}>"


class ContactPoint(Entry, Searchable, db.Model):
    """One way to reach an owner: a number, an address or a radio channel.

    Owned by exactly one actor, role, person or collaboration pattern (a
    pattern's channels: its bridge number and talk group). `value` is
    normalised (phones in E.164, short numbers as digits), so reverse lookup
    is an indexed equality. `priority` is the PACE order (1 = primary).
    """

    __tablename__ = "contact_point"
    __table_args__ = (
        CheckConstraint(
            exactly_one_of("actor_id", "role_id", "person_id", "pattern_id"),
            name="exactly_one_owner",
        ),
        CheckConstraint("priority >= 1", name="priority_positive"),
        CheckConstraint("value <> ''", name="value_not_empty"),
        CheckConstraint(
            "(available_from IS NULL) = (available_until IS NULL)",
            name="hours_complete",
        ),
        CheckConstraint("weekdays BETWEEN 1 AND 127", name="weekdays_mask"),
    )

    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actor.id", ondelete="CASCADE"), index=True
    )
    role_id: Mapped[int | None] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    pattern_id: Mapped[int | None] = mapped_column(
        ForeignKey("collaboration_pattern.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ContactKind] = mapped_column(enum_type(ContactKind, "contact_kind"))
    value: Mapped[str] = mapped_column(String(300), index=True)
    pin: Mapped[str] = mapped_column(String(40), default="")
    label: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[PathMode] = mapped_column(
        enum_type(PathMode, "path_mode"), default=PathMode.BOTH
    )
    priority: Mapped[int] = mapped_column(Integer, default=1)
    # Hours of validity, local time; both empty means around the clock.
    available_from: Mapped[time | None] = mapped_column(Time)
    available_until: Mapped[time | None] = mapped_column(Time)
    # Days of validity as a bit mask, Monday = 1 ... Sunday = 64; 127 = every day.
    weekdays: Mapped[int] = mapped_column(Integer, default=127)
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)

    actor: Mapped[Actor | None] = relationship(back_populates="contact_points")
    role: Mapped[Role | None] = relationship(back_populates="contact_points")
    person: Mapped[Person | None] = relationship(back_populates="contact_points")
    pattern: Mapped["CollaborationPattern | None"] = relationship(
        back_populates="channels"
    )

    def search_text(self):
        return (self.label,)

    def context_text(self):
        owner = self.owner
        if owner is None:
            return ()
        words = list(owner.search_text())
        if isinstance(owner, Role | Person):
            words += owner.context_text()
        return tuple(words)

    @property
    def owner(self):
        return (
            related(self, "actor", Actor, "actor_id")
            or related(self, "role", Role, "role_id")
            or related(self, "person", Person, "person_id")
            or related(self, "pattern", CollaborationPattern, "pattern_id")
        )

    @property
    def owning_actor_id(self) -> int | None:
        return self.owner.owning_actor_id if self.owner else None

    def __repr__(self) -> str:
        # No value: a repr ends up in logs and, printed by mistake, on pages.
        return f"<ContactPoint {self.id} {self.kind}>"


# --- Schedules --------------------------------------------------------------


class Rotation(Entry, db.Model):
    """Members of a role take turns, handing over at a local wall-clock time.

    The first member's turn starts on `starts_on` at `handover_time` in the
    region's time zone; each turn lasts `length_days` calendar days, so a
    handover stays at 08:00 across daylight-saving changes.
    """

    __tablename__ = "rotation"
    __table_args__ = (
        CheckConstraint("length_days >= 1", name="length_positive"),
        CheckConstraint("ends_on IS NULL OR ends_on > starts_on", name="ends_after_start"),
    )

    role_id: Mapped[int] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[RotationKind] = mapped_column(
        enum_type(RotationKind, "rotation_kind"), default=RotationKind.WEEKLY
    )
    length_days: Mapped[int] = mapped_column(Integer, default=7)
    handover_time: Mapped[time] = mapped_column(Time, default=time(8, 0))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    role: Mapped[Role] = relationship(back_populates="rotations")
    members: Mapped[list["RotationMember"]] = relationship(
        back_populates="rotation",
        order_by="RotationMember.position",
        cascade="all, delete-orphan",
    )

    @property
    def owning_actor_id(self) -> int:
        return self.role.actor_id


class RotationMember(db.Model):
    """A person's place in a rotation's order."""

    __tablename__ = "rotation_member"
    __table_args__ = (
        UniqueConstraint("rotation_id", "position"),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rotation_id: Mapped[int] = mapped_column(
        ForeignKey("rotation.id", ondelete="CASCADE")
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)

    rotation: Mapped[Rotation] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()


class Shift(Entry, db.Model):
    """A single stretch of on-call duty: a person staffs a role from..to."""

    __tablename__ = "shift"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_shift_role_period", "role_id", "starts_at", "ends_at"),
    )

    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(String(300), default="")

    role: Mapped[Role] = relationship()
    person: Mapped[Person] = relationship()

    @property
    def owning_actor_id(self) -> int:
        return self.role.actor_id


class Override(Entry, db.Model):
    """Someone takes over a role for a while, on top of shifts and rotations.

    Where overrides overlap, the latest created wins.
    """

    __tablename__ = "override"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_override_role_period", "role_id", "starts_at", "ends_at"),
    )

    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    replaces_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL")
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(300), default="")

    role: Mapped[Role] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    replaces_person: Mapped[Person | None] = relationship(
        foreign_keys=[replaces_person_id]
    )

    @property
    def owning_actor_id(self) -> int:
        return self.role.actor_id


# --- Scenarios, call trees, collaboration patterns --------------------------


class Scenario(Entry, Searchable, db.Model):
    """A risk and the regional direction agreed for it."""

    __tablename__ = "scenario"

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    facts: Mapped[str] = mapped_column(Text, default="")
    assumptions: Mapped[str] = mapped_column(Text, default="")
    goal: Mapped[str] = mapped_column(Text, default="")

    measures: Mapped[list["ScenarioMeasure"]] = relationship(
        back_populates="scenario",
        order_by="(ScenarioMeasure.phase, ScenarioMeasure.position)",
        cascade="all, delete-orphan",
    )

    def search_text(self):
        return (self.name,)

    owning_actor_id = None  # regional: coordinators keep it


class ScenarioMeasure(db.Model):
    """A prioritised measure of a scenario for one phase."""

    __tablename__ = "scenario_measure"
    __table_args__ = (UniqueConstraint("scenario_id", "phase", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("scenario.id", ondelete="CASCADE")
    )
    phase: Mapped[Phase] = mapped_column(enum_type(Phase, "phase"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    responsible_actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actor.id", ondelete="SET NULL")
    )

    scenario: Mapped[Scenario] = relationship(back_populates="measures")
    responsible_actor: Mapped[Actor | None] = relationship()


class CallTree(Entry, db.Model):
    """Who calls whom, in which order, for one mode (larmkedja)."""

    __tablename__ = "call_tree"
    __table_args__ = (CheckConstraint("revision >= 1", name="revision_positive"),)

    name: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(  # NULL: regional
        ForeignKey("actor.id", ondelete="RESTRICT"), index=True
    )
    mode: Mapped[Mode] = mapped_column(enum_type(Mode, "mode"))
    scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("scenario.id", ondelete="SET NULL"), index=True
    )
    revision: Mapped[int] = mapped_column(Integer, default=1)
    valid_from: Mapped[date] = mapped_column(Date)
    next_review_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[Actor | None] = relationship()
    scenario: Mapped[Scenario | None] = relationship()
    nodes: Mapped[list["CallTreeNode"]] = relationship(
        back_populates="tree",
        order_by="(CallTreeNode.depth, CallTreeNode.position)",
        cascade="all, delete-orphan",
    )

    @property
    def owning_actor_id(self) -> int | None:
        return self.actor_id


class CallTreeNode(Entry, db.Model):
    """A step of a call tree: a target to call, then its children in order.

    The parent is referenced together with its tree and depth, and a node's
    depth must be its parent's plus one. So the database itself refuses a
    parent from another tree, and refuses cycles: along a cycle the depth
    would have to grow forever. The reference is checked at commit, so a
    subtree can be moved within one transaction.
    """

    __tablename__ = "call_tree_node"
    __table_args__ = (
        UniqueConstraint("tree_id", "id", "depth"),
        ForeignKeyConstraint(
            ["tree_id", "parent_id", "parent_depth"],
            ["call_tree_node.tree_id", "call_tree_node.id", "call_tree_node.depth"],
            name="fk_call_tree_node_parent_same_tree",
            ondelete="CASCADE",
            deferrable=True,
            initially="DEFERRED",
        ),
        CheckConstraint(
            "(parent_id IS NULL AND parent_depth IS NULL AND depth = 0)"
            " OR (parent_id IS NOT NULL AND depth = parent_depth + 1)",
            name="depth_follows_parent",
        ),
        CheckConstraint(
            exactly_one_of("target_role_id", "target_person_id", "target_actor_id"),
            name="exactly_one_target",
        ),
        CheckConstraint(
            "escalate_after_minutes IS NULL OR escalate_after_minutes >= 0",
            name="escalation_not_negative",
        ),
        Index("ix_call_tree_node_tree_parent", "tree_id", "parent_id", "position"),
    )

    tree_id: Mapped[int] = mapped_column(ForeignKey("call_tree.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(Integer)
    parent_depth: Mapped[int | None] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    target_role_id: Mapped[int | None] = mapped_column(
        ForeignKey("role.id", ondelete="RESTRICT"), index=True
    )
    target_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT"), index=True
    )
    target_actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actor.id", ondelete="RESTRICT"), index=True
    )
    instructions: Mapped[str] = mapped_column(Text, default="")
    # Minutes without an answer before the first alternate is called.
    escalate_after_minutes: Mapped[int | None] = mapped_column(Integer)

    tree: Mapped[CallTree] = relationship(back_populates="nodes")
    target_role: Mapped[Role | None] = relationship()
    target_person: Mapped[Person | None] = relationship()
    target_actor: Mapped[Actor | None] = relationship()
    alternates: Mapped[list["CallTreeAlternate"]] = relationship(
        back_populates="node",
        order_by="CallTreeAlternate.position",
        cascade="all, delete-orphan",
    )

    @property
    def target(self):
        return self.target_role or self.target_person or self.target_actor

    @property
    def owning_actor_id(self) -> int | None:
        return self.tree.actor_id


class CallTreeAlternate(db.Model):
    """Who to call next when a node's target does not answer."""

    __tablename__ = "call_tree_alternate"
    __table_args__ = (
        UniqueConstraint("node_id", "position"),
        CheckConstraint(
            exactly_one_of("target_role_id", "target_person_id", "target_actor_id"),
            name="exactly_one_target",
        ),
        CheckConstraint("escalate_after_minutes >= 0", name="escalation_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[int] = mapped_column(
        ForeignKey("call_tree_node.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    target_role_id: Mapped[int | None] = mapped_column(
        ForeignKey("role.id", ondelete="RESTRICT")
    )
    target_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="RESTRICT")
    )
    target_actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actor.id", ondelete="RESTRICT")
    )
    # Minutes without an answer before moving on from this alternate.
    escalate_after_minutes: Mapped[int] = mapped_column(Integer, default=5)
    note: Mapped[str] = mapped_column(String(300), default="")

    node: Mapped[CallTreeNode] = relationship(back_populates="alternates")
    target_role: Mapped[Role | None] = relationship()
    target_person: Mapped[Person | None] = relationship()
    target_actor: Mapped[Actor | None] = relationship()

    @property
    def target(self):
        return self.target_role or self.target_person or self.target_actor


class CollaborationPattern(Entry, Searchable, db.Model):
    """How actors meet: a conference, bridge or talk group on a cadence.

    `recurrence` is an RFC 5545 RRULE (e.g. `FREQ=DAILY;BYHOUR=9,15;BYMINUTE=0`)
    read in the region's time zone from `starts_on`; channels are contact
    points owned by the pattern.
    """

    __tablename__ = "collaboration_pattern"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    name: Mapped[str] = mapped_column(String(200))
    convener_actor_id: Mapped[int] = mapped_column(
        ForeignKey("actor.id", ondelete="RESTRICT"), index=True
    )
    convener_role_id: Mapped[int | None] = mapped_column(
        ForeignKey("role.id", ondelete="SET NULL")
    )
    mode: Mapped[PathMode] = mapped_column(
        enum_type(PathMode, "path_mode"), default=PathMode.BOTH
    )
    scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("scenario.id", ondelete="SET NULL"), index=True
    )
    recurrence: Mapped[str] = mapped_column(String(300), default="")
    starts_on: Mapped[date] = mapped_column(Date)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=30)
    meeting_place: Mapped[str] = mapped_column(String(300), default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    mandate: Mapped[str] = mapped_column(Text, default="")

    convener_actor: Mapped[Actor] = relationship()
    convener_role: Mapped[Role | None] = relationship()
    scenario: Mapped[Scenario | None] = relationship()
    participants: Mapped[list["PatternParticipant"]] = relationship(
        back_populates="pattern", cascade="all, delete-orphan"
    )
    channels: Mapped[list[ContactPoint]] = relationship(
        back_populates="pattern", order_by="ContactPoint.priority"
    )

    def search_text(self):
        return (self.name,)

    def context_text(self):
        actor = related(self, "convener_actor", Actor, "convener_actor_id")
        return (actor.name, actor.short_name) if actor else ()

    @property
    def owning_actor_id(self) -> int:
        return self.convener_actor_id


class PatternParticipant(db.Model):
    """An actor (optionally through one of its roles) taking part in a pattern."""

    __tablename__ = "pattern_participant"

    pattern_id: Mapped[int] = mapped_column(
        ForeignKey("collaboration_pattern.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actor.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role_id: Mapped[int | None] = mapped_column(
        ForeignKey("role.id", ondelete="SET NULL")
    )

    pattern: Mapped[CollaborationPattern] = relationship(back_populates="participants")
    actor: Mapped[Actor] = relationship()
    role: Mapped[Role | None] = relationship()


# --- Mode state -------------------------------------------------------------


class ModeState(db.Model):
    """The mode in force for one scope: the region, or one actor.

    `scope` is `region` or `actor:<id>`, unique, so there is one state per
    scope; an actor without a row of its own follows the region.
    """

    __tablename__ = "mode_state"
    __table_args__ = (
        CheckConstraint(
            "(scope = 'region' AND actor_id IS NULL)"
            " OR (scope <> 'region' AND actor_id IS NOT NULL)",
            name="scope_matches_actor",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), unique=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actor.id", ondelete="CASCADE"), unique=True
    )
    mode: Mapped[Mode] = mapped_column(enum_type(Mode, "mode"), default=Mode.ORDINARY)
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("scenario.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    actor: Mapped[Actor | None] = relationship()
    scenario: Mapped[Scenario | None] = relationship()
    changed_by: Mapped["User | None"] = relationship()


class ModeChange(db.Model):
    """The log of every mode switch: who, when, why, from what to what."""

    __tablename__ = "mode_change"
    __table_args__ = (Index("ix_mode_change_scope_at", "scope", "changed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actor.id", ondelete="SET NULL")
    )
    from_mode: Mapped[Mode] = mapped_column(enum_type(Mode, "from_mode"))
    to_mode: Mapped[Mode] = mapped_column(enum_type(Mode, "to_mode"))
    scenario_id: Mapped[int | None] = mapped_column(
        ForeignKey("scenario.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    changed_by: Mapped["User | None"] = relationship()
    scenario: Mapped[Scenario | None] = relationship()


# --- Users and access -------------------------------------------------------


class UserActor(db.Model):
    """An actor an editor may edit."""

    __tablename__ = "user_actor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("actor.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class User(UserMixin, Timestamped, db.Model):
    """Someone who signs in: an admin (coordinator), editor or viewer."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("email <> ''", name="email_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[UserRole] = mapped_column(
        enum_type(UserRole, "user_role"), default=UserRole.VIEWER
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8))
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    actors: Mapped[list[Actor]] = relationship(
        secondary="user_actor", order_by="Actor.name"
    )

    @property
    def is_active(self) -> bool:  # flask-login refuses inactive users
        return self.active

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class AccessToken(db.Model):
    """A secret for the API or a calendar feed; only its hash is stored."""

    __tablename__ = "access_token"
    __table_args__ = (
        CheckConstraint(
            "kind <> 'calendar' OR person_id IS NOT NULL OR role_id IS NOT NULL"
            " OR all_patterns",
            name="calendar_has_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TokenKind] = mapped_column(enum_type(TokenKind, "token_kind"))
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE")
    )
    role_id: Mapped[int | None] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"))
    all_patterns: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginSession(db.Model):
    """One signed-in browser. Its random id is in the (signed) session cookie;
    every request checks the row, so ending it signs that browser out even
    if someone kept a copy of the cookie."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Setting(db.Model):
    """A setting the coordinators change at run time (not deployment config)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)


class SearchTerm(db.Model):
    """The search index: one row per word an entry is found by.

    Words are folded (lower case, no diacritics, a-z and 0-9 only) and
    compared byte-wise, so a prefix is an index range scan on SQLite and
    PostgreSQL alike. `weight` is 2 for the entry's own words and 1 for the
    words of what it belongs to.
    """

    __tablename__ = "search_term"
    __table_args__ = (Index("ix_search_term_entity", "entity_type", "entity_id"),)

    term: Mapped[str] = mapped_column(
        String(60).with_variant(String(60, collation="C"), "postgresql"), primary_key=True
    )
    entity_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    entity_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weight: Mapped[int] = mapped_column(Integer, default=2)


# --- Records: audit, print revisions, drills --------------------------------


class AuditEvent(db.Model):
    """Who changed which entry when, with the values before and after."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity_type", "entity_id"),
        Index("ix_audit_event_actor_at", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    action: Mapped[AuditAction] = mapped_column(enum_type(AuditAction, "audit_action"))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[int] = mapped_column(Integer)
    # The actor the entry belongs to, so an actor's history is one query;
    # no foreign key: the record outlives anything it describes.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(400), default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    user: Mapped[User | None] = relationship()


class PrintRevision(db.Model):
    """A printed binder or call tree: its number and a snapshot of its content."""

    __tablename__ = "print_revision"
    __table_args__ = (
        UniqueConstraint("scope", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(120))  # "binder", "binder:<slug>", ...
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300), default="")
    printed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    printed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    snapshot: Mapped[dict] = mapped_column(JSON)

    printed_by: Mapped[User | None] = relationship()


class Drill(db.Model):
    """A practice run of a call tree, from start to close."""

    __tablename__ = "drill"
    __table_args__ = (
        CheckConstraint("closed_at IS NULL OR closed_at >= started_at", name="closes_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_tree_id: Mapped[int] = mapped_column(
        ForeignKey("call_tree.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")

    call_tree: Mapped[CallTree] = relationship()
    entries: Mapped[list["DrillEntry"]] = relationship(
        back_populates="drill", cascade="all, delete-orphan"
    )


class DrillEntry(db.Model):
    """One node's outcome in a drill: reached at a time, or not reached."""

    __tablename__ = "drill_entry"
    __table_args__ = (
        UniqueConstraint("drill_id", "node_id"),
        CheckConstraint(
            "NOT (reached_at IS NOT NULL AND not_reached)", name="reached_or_not"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"))
    node_id: Mapped[int] = mapped_column(
        ForeignKey("call_tree_node.id", ondelete="CASCADE")
    )
    reached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_reached: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(String(300), default="")

    drill: Mapped[Drill] = relationship(back_populates="entries")
    node: Mapped[CallTreeNode] = relationship()


class VCardCache(db.Model):
    """An entry's vCard 3.0 as last rendered, once per distinct variant.

    Rendering a card with vobject takes about 0.3 ms, too slow to do for every
    card of a whole-directory export, so `directory.phones.vcards` keeps each
    person's, role's and actor's rendered text here, current through a flush
    hook (as the search index is). `variants` is a bit mask of the (mode in
    force, confidential paths shown) combinations the text serves;
    `entity_version` is the entry's version when it was rendered, so a card
    left behind by a write that bypassed the ORM is never served as current.
    No foreign keys: like the search index, rows are derived and rebuilt.
    """

    __tablename__ = "vcard_cache"

    entity_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    entity_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    variants: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_version: Mapped[int] = mapped_column(Integer)
    card: Mapped[str] = mapped_column(Text)


class PendingImport(db.Model):
    """An uploaded file waiting between its import preview and its commit.

    In the database, not on one server's disk, so the commit may land on any
    app server. Only its uploader may commit it, into the actor it was
    previewed for; it expires after `imports.UPLOAD_LIFETIME` and expired
    rows are swept whenever a file is uploaded. Not carried by back-ups.
    """

    __tablename__ = "pending_import"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int] = mapped_column(ForeignKey("actor.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    meta: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
