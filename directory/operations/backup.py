"""Back-up and restore of every table, audit trail included, as portable JSON.

`flask --app wsgi backup FILE` writes each table's rows with their values in
plain JSON (moments as ISO 8601 in UTC, dates and times as ISO, enums as the
strings the database stores), so a back-up taken on SQLite restores on
PostgreSQL and back. `flask --app wsgi restore FILE` refuses a database that
already holds data or has another schema revision, and restores everything
in one transaction: all of it, or nothing.

Uploads waiting between an import's preview and its commit (`pending_import`)
are not carried: they are someone's half-done work that expires in two hours,
and a file nobody decided to import has no place in a back-up. Nor is the sync
state of phones' address books (`carddav_snapshot`, `card_change`,
`card_sequence`): it describes the database it was given out from, so after a
restore every phone is told to sync its books anew instead of trusting a
token from another history. Nor is the page cache's change counter
(`page_version`): the restored database keeps its own, raised by the restore.
"""

import json
import os
from datetime import date, datetime, time
from pathlib import Path

import click
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import Date, DateTime, Enum, Time, func, insert, select, update

from directory.core.database import continue_sequences
from directory.core.extensions import db
from directory.core.models import utcnow

FORMAT = "kontaktvagar-backup"
FORMAT_VERSION = 1


NOT_BACKED_UP = frozenset({"pending_import", "carddav_snapshot", "card_change", "card_sequence",
                           "page_version"})


def backed_up_tables() -> list:
    """The tables a back-up holds, parents before children."""
    return [t for t in db.metadata.sorted_tables if t.name not in NOT_BACKED_UP]


class RestoreError(Exception):
    """The back-up cannot be restored here; the message says why."""


def _encode(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, bool | int | float | str):
        return value.value  # an enum: the string the database stores
    return value


def _decoder(column):
    kind = column.type
    if isinstance(kind, Enum):
        return lambda v: v
    if isinstance(kind, DateTime) or isinstance(getattr(kind, "impl", None), DateTime):
        return datetime.fromisoformat
    if isinstance(kind, Date):
        return date.fromisoformat
    if isinstance(kind, Time):
        return time.fromisoformat
    return lambda v: v


def schema_revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def dump(path: Path) -> dict[str, int]:
    """Write every table to `path`; returns the row count per table."""
    counts = {}
    tables = {}
    for table in backed_up_tables():
        key = [c for c in table.primary_key.columns]
        rows = db.session.execute(select(table).order_by(*key)).all()
        tables[table.name] = {
            "columns": [c.name for c in table.columns],
            "rows": [[_encode(v) for v in row] for row in rows],
        }
        counts[table.name] = len(rows)
    document = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "schema_revision": schema_revision(),
        "created_at": utcnow().isoformat(),
        "tables": tables,
    }
    # Readable by its owner only: a back-up holds every confidential number.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an existing file keeps its mode otherwise
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(json.dumps(document, ensure_ascii=False, indent=None))
    return counts


def _self_references(table) -> list[str]:
    """Columns pointing into their own table with a check made at once.

    Their rows are inserted with the column empty and linked afterwards, as a
    parent may come after its child in the file.
    """
    return [
        fk.parent.name
        for fk in table.foreign_keys
        if fk.column.table is table and not fk.constraint.deferrable
    ]


def load(path: Path) -> dict[str, int]:
    """Restore a back-up into this empty database, all or nothing."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RestoreError(f"{path} is not a readable back-up: {error}") from None
    if document.get("format") != FORMAT or document.get("version") != FORMAT_VERSION:
        raise RestoreError(f"{path} is not a Kontaktvägar back-up of version {FORMAT_VERSION}.")
    revision = schema_revision()
    if document.get("schema_revision") != revision:
        raise RestoreError(
            f"The back-up is of schema revision {document.get('schema_revision')}, this "
            f"database is at {revision}: run `flask db upgrade` to the same revision first."
        )
    for table in backed_up_tables():
        if db.session.scalar(select(func.count()).select_from(table)):
            raise RestoreError(f"The database is not empty (table {table.name} has rows).")
    counts = {}
    try:
        for table in backed_up_tables():
            data = document["tables"].get(table.name, {"columns": [], "rows": []})
            columns = [table.c[name] for name in data["columns"]]
            decoders = [_decoder(c) for c in columns]
            later = _self_references(table)
            rows = []
            for number, raw in enumerate(data["rows"], start=1):
                row = {
                    c.name: None if v is None else decode(v)
                    for c, decode, v in zip(columns, decoders, raw, strict=True)
                }
                _check_text(table.name, number, row)
                rows.append(row)
            if rows:
                db.session.execute(
                    insert(table), [{**r, **{c: None for c in later}} for r in rows]
                )
                # Columns that change on every update keep their restored value.
                kept = [c.name for c in table.columns if c.onupdate is not None]
                for column in later:
                    for row in rows:
                        if row[column] is not None:
                            db.session.execute(
                                update(table)
                                .where(table.c.id == row["id"])
                                .values({column: row[column], **{k: row[k] for k in kept}})
                            )
            counts[table.name] = len(rows)
        continue_sequences(backed_up_tables())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return counts


def _check_text(table: str, number: int, row: dict) -> None:
    """Refuse, by name, a row no database can hold (a NUL byte: PostgreSQL refuses it).

    Older versions let such text in through web forms; naming the row lets an
    operator mend the file instead of guessing.
    """
    for column, value in row.items():
        if isinstance(value, str) and "\x00" in value:
            ident = row.get("id", "?")
            raise RestoreError(
                f"Row {number} of table {table} (id {ident}), column {column}, holds a NUL "
                "character, which no database stores: remove it from the file and restore "
                "again."
            )


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(file: Path):
    """Write every table (audit trail included) to a portable JSON file."""
    counts = dump(file)
    click.echo(f"Wrote {sum(counts.values())} rows from {len(counts)} tables to {file}.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(file: Path):
    """Restore a back-up into an empty database at the same schema revision."""
    try:
        counts = load(file)
    except RestoreError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Restored {sum(counts.values())} rows into {len(counts)} tables.")


def init_app(app: Flask) -> None:
    """Register `flask backup` and `flask restore`."""
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
