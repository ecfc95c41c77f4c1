"""The directory: actors, persons, roles and their contact points."""

from datetime import datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.core.extensions import db
from directory.core.models.base import (
    ActorKind,
    ActorLevel,
    ContactKind,
    Entry,
    PathMode,
    Searchable,
    UTCDateTime,
    enum_type,
    exactly_one_of,
    related,
)

if TYPE_CHECKING:
    from directory.core.models.coordination import CollaborationPattern
    from directory.core.models.schedules import Rotation


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
    # Words search finds it by, kept by editors, never printed ("plog, halka").
    keywords: Mapped[str] = mapped_column(Text, default="")
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
    # Words search finds it by, kept by editors, never printed ("jour, tib").
    keywords: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[Actor] = relationship(back_populates="roles")
    contact_points: Mapped[list["ContactPoint"]] = relationship(
        back_populates="role", order_by="ContactPoint.priority"
    )
    rotations: Mapped[list["Rotation"]] = relationship(back_populates="role")
    escalation: Mapped[list["RoleEscalationStep"]] = relationship(
        back_populates="role", foreign_keys="RoleEscalationStep.role_id",
        order_by="RoleEscalationStep.position", cascade="all, delete-orphan",
    )

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
            or related(self, "pattern", _pattern_model(), "pattern_id")
        )

    @property
    def owning_actor_id(self) -> int | None:
        return self.owner.owning_actor_id if self.owner else None

    def __repr__(self) -> str:
        # No value: a repr ends up in logs and, printed by mistake, on pages.
        return f"<ContactPoint {self.id} {self.kind}>"


def _pattern_model():
    """CollaborationPattern, defined later (coordination imports this module)."""
    from directory.core.models.coordination import CollaborationPattern

    return CollaborationPattern



class RoleEscalationStep(db.Model):
    """"No answer within N minutes → call this": one step of a role's escalation.

    The target is another role, a person, or an actor (meaning its
    switchboard). Steps are kept in order; a role's editors replace them all
    at once (`core.escalations.set_steps`), checked there for cycles.
    """

    __tablename__ = "role_escalation_step"
    __table_args__ = (
        UniqueConstraint("role_id", "position"),
        CheckConstraint(
            exactly_one_of("target_role_id", "target_person_id", "target_actor_id"),
            name="exactly_one_target",
        ),
        CheckConstraint("after_minutes BETWEEN 0 AND 1440", name="minutes_in_range"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        CheckConstraint("target_role_id IS NULL OR target_role_id <> role_id",
                        name="not_to_itself"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    after_minutes: Mapped[int] = mapped_column(Integer)
    target_role_id: Mapped[int | None] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), index=True
    )
    target_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE")
    )
    target_actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actor.id", ondelete="CASCADE")
    )

    role: Mapped[Role] = relationship(back_populates="escalation", foreign_keys=[role_id])
    target_role: Mapped[Role | None] = relationship(foreign_keys=[target_role_id])
    target_person: Mapped[Person | None] = relationship()
    target_actor: Mapped[Actor | None] = relationship()

    @property
    def target(self):
        return self.target_role or self.target_person or self.target_actor

    @property
    def owning_actor_id(self) -> int:
        return self.role.actor_id
