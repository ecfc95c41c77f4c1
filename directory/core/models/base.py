"""Column types, enums and the mixins every model shares."""

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    TypeDecorator,
)
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

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


class CallOutcome(enum.StrEnum):
    """What a call on one contact path came to."""

    REACHED = "reached"
    FAILED = "failed"


class CheckSource(enum.StrEnum):
    """How a path's outcome became known: a drill, a real call-out, or an editor's test."""

    DRILL = "drill"
    CALL_OUT = "call_out"
    EDITOR = "editor"


class ReminderFrequency(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    OFF = "off"


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
