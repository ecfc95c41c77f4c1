"""Users, what they may edit, tokens, sessions and settings."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from directory.core.extensions import db
from directory.core.models.base import (
    ReminderFrequency,
    Timestamped,
    TokenKind,
    UserRole,
    UTCDateTime,
    enum_type,
    utcnow,
)
from directory.core.models.directory import Actor

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
    # How often the reminder digest comes, and whether mode switches are mailed.
    reminder_frequency: Mapped[ReminderFrequency] = mapped_column(
        enum_type(ReminderFrequency, "reminder_frequency"), default=ReminderFrequency.WEEKLY
    )
    mode_notices: Mapped[bool] = mapped_column(Boolean, default=True)
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


class DevicePassword(db.Model):
    """A password for one device's address-book app (CardDAV), never the user's own.

    Made by its user, shown once, stored as a salted hash like a user's
    password; named ("iPhone jobb") so the user knows which to revoke. It
    works only while it is not revoked and its user is active.
    """

    __tablename__ = "device_password"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
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
    # Covering: an entry's words and weights are read from the index alone
    # when search checks and scores the entries of the rarest word.
    # By weight and kind of entry: a common word's best candidates (own words,
    # roles and actors first) are read a few hundred rows into a range, not
    # every row sharing the word.
    __table_args__ = (
        Index("ix_search_term_entity", "entity_type", "entity_id", "term", "weight"),
        Index("ix_search_term_tier", "weight", "entity_type", "term", "entity_id"),
    )

    term: Mapped[str] = mapped_column(
        String(60).with_variant(String(60, collation="C"), "postgresql"), primary_key=True
    )
    entity_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    entity_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weight: Mapped[int] = mapped_column(Integer, default=2)


class SearchWord(db.Model):
    """Every folded word the index has held: what compounds and typos are sought in.

    Far smaller than `search_term` (each word once), so looking for a word
    inside a compound or one edit away scans a few thousand rows, not the
    whole index. A word whose entries are gone stays; it only finds nothing.
    """

    __tablename__ = "search_word"

    word: Mapped[str] = mapped_column(
        String(60).with_variant(String(60, collation="C"), "postgresql"), primary_key=True
    )


# Words inside compounds ("röjning" in "snoröjning") are found through a
# trigram index of the word list, the database's own: PostgreSQL's pg_trgm
# (a GIN index that serves LIKE '%...%') and SQLite's FTS5 trigram tokenizer
# (a table of its own, kept by triggers). Both are made here for a schema
# built from the models and by migration 3b8e5f2a9d61 for a migrated one;
# neither is part of the models, so comparing schemas leaves out what starts
# with SEARCH_WORD_TRIGRAM.
SEARCH_WORD_TRIGRAM = "search_word_trigram"
SEARCH_WORD_TRIGRAM_SQLITE = (
    "CREATE VIRTUAL TABLE search_word_trigram USING fts5("
    "word, content='search_word', tokenize='trigram')",
    "CREATE TRIGGER search_word_trigram_insert AFTER INSERT ON search_word BEGIN "
    "INSERT INTO search_word_trigram (rowid, word) VALUES (new.rowid, new.word); END",
    "CREATE TRIGGER search_word_trigram_delete AFTER DELETE ON search_word BEGIN "
    "INSERT INTO search_word_trigram (search_word_trigram, rowid, word) "
    "VALUES ('delete', old.rowid, old.word); END",
    "CREATE TRIGGER search_word_trigram_update AFTER UPDATE ON search_word BEGIN "
    "INSERT INTO search_word_trigram (search_word_trigram, rowid, word) "
    "VALUES ('delete', old.rowid, old.word); "
    "INSERT INTO search_word_trigram (rowid, word) VALUES (new.rowid, new.word); END",
)
# The extension goes to `public`, not the schema first in search_path: a
# test's or benchmark's schema is dropped with CASCADE, which would take the
# extension, and every other schema's index with it. Two sessions creating
# it at once is not an error.
SEARCH_WORD_TRIGRAM_POSTGRESQL = (
    "DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public; "
    "EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL; END $$",
    "DO $$ DECLARE home text; BEGIN "
    "SELECT extnamespace::regnamespace::text INTO home FROM pg_extension "
    "WHERE extname = 'pg_trgm'; "
    "EXECUTE 'CREATE INDEX search_word_trigram ON search_word "
    "USING gin (word ' || home || '.gin_trgm_ops)'; END $$",
)


def _trigram_index(target, connection, **kw) -> None:
    statements = {
        "sqlite": SEARCH_WORD_TRIGRAM_SQLITE,
        "postgresql": SEARCH_WORD_TRIGRAM_POSTGRESQL,
    }.get(connection.dialect.name, ())
    for statement in statements:
        connection.exec_driver_sql(statement)


def _drop_trigram_table(target, connection, **kw) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("DROP TABLE IF EXISTS search_word_trigram")


event.listen(SearchWord.__table__, "after_create", _trigram_index)
event.listen(SearchWord.__table__, "before_drop", _drop_trigram_table)


class SearchSynonym(db.Model):
    """Words the region uses for one thing ("TiB, tjänsteman i beredskap, jour").

    Kept by coordinators; search finds each term by any other of the group.
    `terms` holds the terms as written, separated by commas.
    """

    __tablename__ = "search_synonym"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terms: Mapped[str] = mapped_column(Text)
