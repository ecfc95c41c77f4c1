"""Database wiring: SQLite pragmas and the flush hook that keeps derived columns.

SQLite enforces foreign keys only when asked, per connection; we always ask.
"""

import json
from collections.abc import Iterable

from flask import Flask
from sqlalchemy import Integer, String, any_, bindparam, event, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from directory.core.extensions import db
from directory.core.models import Searchable


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _refresh_search_keys(session: Session, flush_context, instances) -> None:
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Searchable):
            obj.refresh_search_key()


def live_id_chunks(model, size: int):
    """The ids of a model's live (not deleted) rows, in order, `size` at a time.

    Rebuilding derived tables (search index, card cache) works through these,
    so memory stays bounded at national scale.
    """
    ids = db.session.scalars(
        select(model.id).where(model.deleted_at.is_(None)).order_by(model.id)
    ).all()
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def among(column, values: Iterable[int] | Iterable[str]):
    """`column IN (values)`, the values sent as one parameter, not one each.

    An IN list is a parameter per value: SQLAlchemy renders each, the SQL's
    text changes with the list's length (so no driver or database keeps it
    prepared), and psycopg parses a statement that long anew each time. A
    word inside compounds is up to 200 words, in each of a dozen ranges of
    one statement: searching "ber" at 200 000 persons made 1 350 parameters
    and half its Python function calls went to them.

    PostgreSQL reads an array (`= ANY`), SQLite a JSON list (`json_each`);
    both seek each value in the column's index, as with an IN list.
    """
    dialect = db.session.get_bind().dialect.name
    return _among(column, None, dialect, value=listed(values, dialect))


def among_param(column, name: str, dialect: str):
    """`among` with the list as the named parameter `name`, for a statement
    built once and run with many lists; its value is `listed(values, dialect)`."""
    return _among(column, name, dialect)


def listed(values: Iterable[int] | Iterable[str], dialect: str):
    """A list as `among_param` takes it on this database."""
    values = list(values)
    return values if dialect == "postgresql" else json.dumps(values)


def _among(column, name: str | None, dialect: str, **value):
    if dialect == "postgresql":
        kind = Integer() if isinstance(column.type, Integer) else String()
        return column == any_(bindparam(name, type_=ARRAY(kind), **value))
    rows = func.json_each(bindparam(name, type_=String(), **value)).table_valued("value")
    return column.in_(select(rows.c.value))


def continue_sequences(models_or_tables) -> None:
    """On PostgreSQL, let new rows continue after ids written explicitly
    (a restore); SQLite takes the highest id + 1 by itself."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in models_or_tables:
        table = getattr(table, "__table__", table)
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and isinstance(pk[0].type, Integer) and pk[0].autoincrement:
            highest = db.session.scalar(select(func.max(pk[0]))) or 0
            db.session.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, :column), :next, false)"),
                {"table": table.name, "column": pk[0].name, "next": highest + 1},
            )


def vacuum_analyze(tables) -> None:
    """After a bulk load on PostgreSQL: VACUUM (ANALYZE) these tables (call after commit).

    ANALYZE gives the planner its statistics; VACUUM sets the visibility map,
    without which an index-only scan (search reads its index alone) visits the
    table for every row: 3-5x slower until autovacuum comes by. VACUUM cannot
    run in a transaction, hence a connection of its own. SQLite needs nothing.
    """
    if db.engine.dialect.name != "postgresql":
        return
    names = ", ".join(getattr(table, "name", table) for table in tables)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM (ANALYZE) {names}"))


def init_app(app: Flask) -> None:
    """Turn on SQLite's foreign keys and keep search keys current on flush."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
    if not event.contains(Session, "before_flush", _refresh_search_keys):
        event.listen(Session, "before_flush", _refresh_search_keys)
