"""The search index: the words each searchable entry is found by.

Every searchable entry (actors, roles, persons, contact paths, patterns) has
its words in `search_term`, with a weight: its own words and its editors'
keywords weigh more than the words of what it belongs to. Every word indexed
is also kept once in `search_word` (the list search seeks words inside
compounds and corrections in). A flush hook keeps both current as entries
change, and the entries below a renamed actor or role with them; `flask
search reindex` rebuilds both. `directory.lookup.search` reads them.
"""

from functools import lru_cache

import click
from flask.cli import AppGroup
from sqlalchemy import delete, event, insert, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from directory.core.database import live_id_chunks, vacuum_analyze
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CollaborationPattern,
    ContactPoint,
    Person,
    Role,
    Searchable,
    SearchTerm,
    SearchWord,
    related,
)
from directory.core.text import fold

OWN_WEIGHT, CONTEXT_WEIGHT = 2, 1
SEARCHED = {
    "actor": Actor,
    "role": Role,
    "person": Person,
    "contact_point": ContactPoint,
    "collaboration_pattern": CollaborationPattern,
}


@lru_cache(maxsize=1 << 16)
def _words(text: str | None) -> tuple[str, ...]:
    """The folded words of a text, as the index holds them.

    Cached: rebuilding the index folds each actor's and role's name once for
    every entry below it, hundreds of thousands of times at national scale.
    """
    return tuple(word[:60] for word in fold(text).split())


def terms_of(entry: Searchable) -> dict[str, int]:
    """The words an entry is found by, with their weights.

    Editors' keywords weigh as the entry's own words.
    """
    terms: dict[str, int] = {}
    for text in entry.context_text():
        for word in _words(text):
            terms[word] = CONTEXT_WEIGHT
    for text in (*entry.search_text(), getattr(entry, "keywords", "")):
        for word in _words(text or ""):
            terms[word] = OWN_WEIGHT
    return terms


def _remember_words(connection, words) -> None:
    """Add words to the word list; those already there are left alone."""
    words = sorted(set(words))
    if not words:
        return
    table = SearchWord.__table__
    insert_ = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    for start in range(0, len(words), 5000):
        connection.execute(
            insert_(table).on_conflict_do_nothing(),
            [{"word": w} for w in words[start : start + 5000]],
        )


def _name_changed(obj, *attributes) -> bool:
    state = inspect(obj)
    return any(state.attrs[a].history.has_changes() for a in attributes)


def _parents(entry) -> list:
    """What an entry belongs to: deleting any of them hides the entry too."""
    if isinstance(entry, ContactPoint):
        owner = entry.owner
        return [owner, *_parents(owner)] if owner is not None else []
    if isinstance(entry, Role | Person):
        actor = related(entry, "actor", Actor, "actor_id")
        return [actor] if actor is not None else []
    if isinstance(entry, CollaborationPattern):
        actor = related(entry, "convener_actor", Actor, "convener_actor_id")
        return [actor] if actor is not None else []
    return []


def is_hidden(entry) -> bool:
    return entry.deleted_at is not None or any(
        parent.deleted_at is not None for parent in _parents(entry)
    )


def _dependents(obj) -> list[Searchable]:
    """Entries found by `obj`'s words or hidden with it, when those changed."""
    if isinstance(obj, Actor) and _name_changed(obj, "name", "short_name", "deleted_at"):
        found = [*obj.roles, *obj.persons, *obj.contact_points]
        for owner in (*obj.roles, *obj.persons):
            found += owner.contact_points
        return found
    if isinstance(obj, Role | Person) and _name_changed(obj, "name", "deleted_at"):
        return list(obj.contact_points)
    return []


def _reindex(session: Session, flush_context) -> None:
    changed: dict[tuple[str, int], Searchable | None] = {}
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Searchable):
            for entry in (obj, *_dependents(obj)):
                if entry.__tablename__ in SEARCHED:  # scenarios are listed, not searched
                    changed[entry.__tablename__, entry.id] = entry
    for obj in session.deleted:
        if isinstance(obj, Searchable) and obj.__tablename__ in SEARCHED:
            changed[obj.__tablename__, obj.id] = None
    if not changed:
        return
    connection = session.connection()
    table = SearchTerm.__table__
    rows = []
    for (entity_type, entity_id), entry in changed.items():
        connection.execute(
            delete(table).where(
                table.c.entity_type == entity_type, table.c.entity_id == entity_id
            )
        )
        if entry is None or is_hidden(entry):
            continue  # deleted entries are not found; restoring indexes them again
        rows += [
            {"term": term, "entity_type": entity_type, "entity_id": entity_id, "weight": w}
            for term, w in terms_of(entry).items()
        ]
    if rows:
        connection.execute(insert(table), rows)
        _remember_words(connection, (row["term"] for row in rows))


# What reindexing needs to know of each kind: only the words' owners.
_INDEX_LOADERS = {
    "actor": [],
    "role": [selectinload(Role.actor)],
    "person": [selectinload(Person.actor)],
    "contact_point": [
        selectinload(ContactPoint.actor),
        selectinload(ContactPoint.role).selectinload(Role.actor),
        selectinload(ContactPoint.person).selectinload(Person.actor),
        selectinload(ContactPoint.pattern).selectinload(CollaborationPattern.convener_actor),
    ],
    "collaboration_pattern": [selectinload(CollaborationPattern.convener_actor)],
}
REINDEX_CHUNK = 5000


def reindex_all() -> int:
    """Rebuild the whole index (after a bulk load or a restore); returns rows.

    Works through each kind in chunks of ids, so memory stays bounded at
    national scale.
    """
    table = SearchTerm.__table__
    db.session.execute(delete(table))
    count = 0
    for entity_type, model in SEARCHED.items():
        for chunk in live_id_chunks(model, REINDEX_CHUNK):
            entries = db.session.scalars(
                select(model).where(model.id.in_(chunk)).options(*_INDEX_LOADERS[entity_type])
            ).all()
            rows = [
                (t, entity_type, entry.id, w)
                for entry in entries
                if not is_hidden(entry)
                for t, w in terms_of(entry).items()
            ]
            if rows:
                _insert_terms(db.session.connection(), rows)
                _remember_words(db.session.connection(), {row[0] for row in rows})
            count += len(rows)
            db.session.expunge_all()
    return count


def _insert_terms(connection, rows: list[tuple[str, str, int, int]]) -> None:
    """Bulk insert of index rows: PostgreSQL's COPY, else one executemany.

    A million rows at national scale: COPY is several times as fast as
    INSERT there.
    """
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(
            "COPY search_term (term, entity_type, entity_id, weight) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(
        "INSERT INTO search_term (term, entity_type, entity_id, weight) VALUES (?, ?, ?, ?)",
        rows,
    )


search_cli = AppGroup("search", help="The search index.")


@search_cli.command("reindex")
def reindex_command():
    """Rebuild the search index from the directory."""
    count = reindex_all()
    db.session.commit()
    vacuum_analyze([SearchTerm.__table__, "search_word"])
    click.echo(f"Indexed {count} words.")


def init_app(app) -> None:
    """Keep the search index current on every flush; add `flask search`."""
    if not event.contains(Session, "after_flush", _reindex):
        event.listen(Session, "after_flush", _reindex)
    app.cli.add_command(search_cli)
