"""Who is on call: rotations, shifts and overrides."""

from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.core.extensions import db
from directory.core.models.base import Entry, RotationKind, UTCDateTime, enum_type
from directory.core.models.directory import Person, Role

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
