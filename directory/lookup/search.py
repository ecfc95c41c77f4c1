"""Search and reverse lookup: what a duty officer types, and what it finds.

Every searchable entry has its words in the `search_term` index, kept
current by a flush hook. A query's words must each be the start of one of an
entry's words ("hani ti" finds the TiB role of Haninge kommun); case and
diacritics do not matter. Entries rank by how much of the query names them
rather than what they belong to, so the role or actor named comes first.

A query that looks like a phone number is looked up as one instead: any
common way of writing it finds the contact paths with that number.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import case, delete, event, func, insert, inspect, literal, select, union_all
from sqlalchemy.orm import Session, selectinload

from directory.core.database import live_id_chunks
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CollaborationPattern,
    ContactPoint,
    Person,
    Role,
    Searchable,
    SearchTerm,
    related,
)
from directory.core.numbers import PhoneNumberError, normalise_phone
from directory.core.text import fold, swedish_sort_key

MAX_TOKENS = 6
MIN_PREFIX = 2  # shorter words must match a whole word
MAX_RESULTS = 50
OWN_WEIGHT, CONTEXT_WEIGHT, EXACT_BONUS = 2, 1, 1
# Among equally good matches: roles and actors first, as people ask for them.
TYPE_ORDER = {"role": 0, "actor": 1, "person": 2, "collaboration_pattern": 3, "contact_point": 4}
SEARCHED = {
    "actor": Actor,
    "role": Role,
    "person": Person,
    "contact_point": ContactPoint,
    "collaboration_pattern": CollaborationPattern,
}
_PHONE_LIKE = re.compile(r"^[\d\s()+\-./]{3,}$")


# --- Keeping the index current -------------------------------------------


def terms_of(entry: Searchable) -> dict[str, int]:
    """The words an entry is found by, with their weights."""
    terms: dict[str, int] = {}
    for text in entry.context_text():
        for word in fold(text).split():
            terms[word[:60]] = CONTEXT_WEIGHT
    for text in entry.search_text():
        for word in fold(text).split():
            terms[word[:60]] = OWN_WEIGHT
    return terms


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
                {"term": t, "entity_type": entity_type, "entity_id": entry.id, "weight": w}
                for entry in entries
                if not is_hidden(entry)
                for t, w in terms_of(entry).items()
            ]
            if rows:
                db.session.execute(insert(table), rows)
            count += len(rows)
            db.session.expunge_all()
    return count


search_cli = AppGroup("search", help="The search index.")


@search_cli.command("reindex")
def reindex_command():
    """Rebuild the search index from the directory."""
    count = reindex_all()
    db.session.commit()
    click.echo(f"Indexed {count} words.")


def init_app(app) -> None:
    """Keep the search index current on every flush; add `flask search`."""
    if not event.contains(Session, "after_flush", _reindex):
        event.listen(Session, "after_flush", _reindex)
    app.cli.add_command(search_cli)


# --- Searching -----------------------------------------------------------


@dataclass
class Hit:
    entity_type: str
    entry: object
    score: int


@dataclass
class NumberLookup:
    """What a number typed in was taken as, and who has it."""

    typed: str
    number: str | None = None
    is_short: bool = False
    error: str | None = None
    points: list[ContactPoint] = field(default_factory=list)


def looks_like_number(query: str) -> bool:
    return bool(_PHONE_LIKE.match(query.strip())) and sum(c.isdigit() for c in query) >= 3


def _token_query(term, index: int, token: str):
    """Entries with a word starting with `token` (one letter: the word itself).

    A single letter would match most of the index at national scale, and
    nobody means "everything starting with s"; it still finds "i" or "ö".
    """
    condition = (
        term.term == token
        if len(token) < MIN_PREFIX
        else (term.term >= token) & (term.term < token + "{")
    )
    return (
        select(
            term.entity_type,
            term.entity_id,
            func.max(term.weight + case((term.term == token, EXACT_BONUS), else_=0)).label(
                "score"
            ),
            literal(index).label("token"),
        )
        .where(condition)
        .group_by(term.entity_type, term.entity_id)
    )


def search(query: str, limit: int = MAX_RESULTS) -> list[Hit]:
    """Entries matching every word of the query, best first."""
    tokens = list(dict.fromkeys(fold(query).split()))[:MAX_TOKENS]
    if not tokens:
        return []
    term = SearchTerm.__table__.c
    per_token = [
        _token_query(term, i, token) for i, token in enumerate(tokens)
    ]
    matches = union_all(*per_token).subquery()
    ranked = db.session.execute(
        select(matches.c.entity_type, matches.c.entity_id, func.sum(matches.c.score))
        .group_by(matches.c.entity_type, matches.c.entity_id)
        .having(func.count() == len(tokens))
        .order_by(func.sum(matches.c.score).desc())
        .limit(limit * 4)
    ).all()
    entries = _load(ranked)
    hits = [
        Hit(entity_type, entries[entity_type][entity_id], score)
        for entity_type, entity_id, score in ranked
        if entity_id in entries.get(entity_type, {})
    ]
    hits.sort(
        key=lambda h: (-h.score, TYPE_ORDER[h.entity_type], swedish_sort_key(_name(h.entry)))
    )
    # A path whose owner is found too is shown inside its owner's result.
    found = {(h.entity_type, h.entry.id) for h in hits}
    hits = [
        h for h in hits
        if h.entity_type != "contact_point"
        or (h.entry.owner.__tablename__, h.entry.owner.id) not in found
    ]
    return hits[:limit]


def _name(entry) -> str:
    return getattr(entry, "name", None) or getattr(entry, "label", None) or ""


_LOADERS = {
    "actor": [selectinload(Actor.contact_points)],
    "role": [selectinload(Role.actor), selectinload(Role.contact_points)],
    "person": [selectinload(Person.actor), selectinload(Person.contact_points)],
    "contact_point": [
        selectinload(ContactPoint.actor),
        selectinload(ContactPoint.pattern).selectinload(CollaborationPattern.convener_actor),
        selectinload(ContactPoint.role).selectinload(Role.actor),
        selectinload(ContactPoint.person).selectinload(Person.actor),
    ],
    "collaboration_pattern": [
        selectinload(CollaborationPattern.convener_actor),
        selectinload(CollaborationPattern.channels),
    ],
}


def _load(ranked) -> dict[str, dict[int, object]]:
    """Load the ranked entries, one query per kind, with what the result shows."""
    wanted = defaultdict(set)
    for entity_type, entity_id, _score in ranked:
        wanted[entity_type].add(entity_id)
    loaded: dict[str, dict[int, object]] = {}
    for entity_type, ids in wanted.items():
        model = SEARCHED.get(entity_type)
        if model is None:  # indexed by an older version, not a kind shown
            continue
        rows = db.session.scalars(
            select(model)
            .where(model.id.in_(ids), model.deleted_at.is_(None))
            .options(*_LOADERS[entity_type])
        ).all()
        loaded[entity_type] = {row.id: row for row in rows}
    return loaded


def lookup_number(typed: str) -> NumberLookup:
    """Who has this number? Any common way of writing it is understood."""
    result = NumberLookup(typed=typed)
    try:
        result.number = normalise_phone(typed, current_app.config["DEFAULT_REGION"])
    except PhoneNumberError as error:
        result.error = str(error)
        return result
    result.is_short = result.number.isdigit()
    result.points = db.session.scalars(
        select(ContactPoint)
        .where(ContactPoint.value == result.number, ContactPoint.deleted_at.is_(None))
        .options(*_LOADERS["contact_point"])
        .order_by(ContactPoint.id)
    ).all()
    return result
