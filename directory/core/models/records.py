"""What is kept about everything else: audit, print revisions, call-outs, caches, uploads."""

import enum
import secrets
from datetime import date, datetime

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.core.extensions import db
from directory.core.models.accounts import User
from directory.core.models.base import (
    AuditAction,
    CallOutcome,
    CheckSource,
    UTCDateTime,
    enum_type,
    related,
    utcnow,
)
from directory.core.models.coordination import CallTree, CallTreeNode
from directory.core.models.directory import ContactPoint

# --- Records: audit, print revisions, call-outs --------------------------------


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


class CallOutKind(enum.StrEnum):
    """A practice run or the real thing: both are logged the same way."""

    DRILL = "drill"
    REAL = "real"


class StepOutcome(enum.StrEnum):
    """What came of calling a step (the order is the log's, not a ranking)."""

    NOT_CALLED = "not_called"
    NO_ANSWER = "no_answer"
    REACHED = "reached"
    MESSAGE_LEFT = "message_left"


class CallOut(db.Model):
    """A call tree run from start to close: a real alarm or a drill.

    The marks of its steps are rows of their own (`CallOutMark`), added and
    never changed, so several people marking at once never lose a mark.
    """

    __tablename__ = "callout"
    __table_args__ = (
        CheckConstraint("closed_at IS NULL OR closed_at >= started_at", name="closes_after_start"),
        Index("ix_callout_open", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CallOutKind] = mapped_column(enum_type(CallOutKind, "callout_kind"))
    title: Mapped[str] = mapped_column(String(300), default="")
    call_tree_id: Mapped[int] = mapped_column(
        ForeignKey("call_tree.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    notes: Mapped[str] = mapped_column(Text, default="")

    call_tree: Mapped[CallTree] = relationship()
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    marks: Mapped[list["CallOutMark"]] = relationship(
        back_populates="callout", cascade="all, delete-orphan",
        order_by="CallOutMark.id",
    )

    @property
    def owning_actor_id(self) -> int | None:
        """Whoever may change the tree may run it (`security.can_edit`)."""
        return self.call_tree.actor_id

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CallOutMark(db.Model):
    """One outcome of one step, as marked: appended, never changed.

    `target_label` and `path_text` keep what was called and on which number as
    it was then, so the log stays the record after the directory changes.
    """

    __tablename__ = "callout_mark"
    __table_args__ = (Index("ix_callout_mark_callout_node", "callout_id", "node_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    callout_id: Mapped[int] = mapped_column(ForeignKey("callout.id", ondelete="CASCADE"))
    node_id: Mapped[int] = mapped_column(ForeignKey("call_tree_node.id", ondelete="CASCADE"))
    outcome: Mapped[StepOutcome] = mapped_column(enum_type(StepOutcome, "step_outcome"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # when the call was made
    path_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_point.id", ondelete="SET NULL")
    )
    target_label: Mapped[str] = mapped_column(String(300), default="")
    path_text: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    marked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    callout: Mapped[CallOut] = relationship(back_populates="marks")
    node: Mapped[CallTreeNode] = relationship()
    marked_by: Mapped[User | None] = relationship()


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


class CardDAVSnapshot(db.Model):
    """What one address book held when a CardDAV sync token was given out.

    The token is the SHA-256 of the listing (each card's name and ETag), so
    every reader who sees the same book shares one row, and a book that did
    not change gives the same token again. A client that syncs with an old
    token is told exactly which cards changed since, by comparing listings.
    In the database, so any app server answers any token. Swept after
    `carddav.SNAPSHOT_DAYS`; an older token asks the client to sync anew.
    """

    __tablename__ = "carddav_snapshot"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    listing: Mapped[bytes] = mapped_column(LargeBinary)


class CardChange(db.Model):
    """One entry's card changed for some readers: the log behind cheap CardDAV syncs.

    Written by the card cache's flush hook (`card_cache.refresh_cards`), the one
    place every edit of a card passes, with `variants` the bit mask of the
    (mode, confidential shown) combinations whose text changed, so a change
    of a confidential path a viewer cannot see is not theirs to hear about.
    `seq` is taken from `CardSequence` in the writing transaction; a sync
    token carries the sequence it was given at, and a sync with it reads only
    the rows after it. Swept with the snapshots (`carddav.books`).
    """

    __tablename__ = "card_change"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity_type: Mapped[str] = mapped_column(String(20), primary_key=True)
    entity_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int] = mapped_column(Integer)
    variants: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class CardSequence(db.Model):
    """The one row counting card changes (`CardChange.seq`).

    Raised by each write that changes a card, in that write's transaction:
    its row lock orders the writers, so a reader who sees `seq` = N has every
    change numbered up to N in view. `floor`: tokens given before it (a full
    rebuild of the cache, a sweep of old changes) are no longer answered.
    """

    __tablename__ = "card_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    floor: Mapped[int] = mapped_column(BigInteger, default=0)


event.listen(CardSequence.__table__, "after_create",
             DDL("INSERT INTO card_sequence (id, seq, floor) VALUES (1, 0, 0)"))  # fmt: skip


class PageVersion(db.Model):
    """The one row counting changes to what pages show (`core.pagecache`).

    Raised by each write of directory data, in that write's transaction, like
    `CardSequence`: a reader who sees `n` has every change up to it in view.
    `epoch` is drawn when the row is made, so a database made anew (its `n`
    back at 0) never matches a page rendered from the old one.
    """

    __tablename__ = "page_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    epoch: Mapped[str] = mapped_column(String(32))
    n: Mapped[int] = mapped_column(BigInteger, default=0)


@event.listens_for(PageVersion.__table__, "after_create")
def _first_page_version(table, connection, **_kw) -> None:
    connection.execute(table.insert().values(id=1, epoch=secrets.token_hex(16), n=0))


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


class PathCheck(db.Model):
    """One call on one contact path and what it came to: the path's verification record.

    Written by drills and call-outs (a step marked reached or not on this
    path) and by editors ("tested, works" / "failed", with a note). The
    latest check that is not withdrawn says whether the path is verified or
    flagged; see `directory.core.verification`. Recorded in the audit trail
    under the path's history; an editor's check is withdrawn (`deleted_at`)
    and restored, never erased.
    """

    __tablename__ = "path_check"
    __table_args__ = (Index("ix_path_check_point_at", "contact_point_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_point_id: Mapped[int] = mapped_column(
        ForeignKey("contact_point.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[CallOutcome] = mapped_column(enum_type(CallOutcome, "call_outcome"))
    source: Mapped[CheckSource] = mapped_column(enum_type(CheckSource, "check_source"))
    note: Mapped[str] = mapped_column(String(300), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact_point: Mapped[ContactPoint] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def owning_actor_id(self) -> int | None:
        point = related(self, "contact_point", ContactPoint, "contact_point_id")
        return point.owning_actor_id if point else None


class ReminderSent(db.Model):
    """A reminder mail the SMTP server accepted: one per person, kind and day.

    Written only after the server took the message, so a run that fails
    leaves no row claiming a mail that never left, and a second run the same
    day sends nothing twice.
    """

    __tablename__ = "reminder_sent"
    __table_args__ = (UniqueConstraint("user_id", "kind", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # "digest"
    day: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
