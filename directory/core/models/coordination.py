"""Scenarios, call trees, collaboration patterns, and the mode in force."""

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.core.extensions import db
from directory.core.models.base import (
    Entry,
    Mode,
    PathMode,
    Phase,
    Searchable,
    UTCDateTime,
    enum_type,
    exactly_one_of,
    related,
    utcnow,
)
from directory.core.models.directory import Actor, ContactPoint, Person, Role

if TYPE_CHECKING:
    from directory.core.models.accounts import User


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
    # Words search finds it by, kept by editors, never printed.
    keywords: Mapped[str] = mapped_column(Text, default="")
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
