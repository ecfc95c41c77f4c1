"""The rendered cards behind the directory export and the address books.

Rendering costs about 0.3 ms a card, too slow for the whole directory at
national scale (100 000 cards), so 3.0 cards are kept in `VCardCache`: a
flush hook re-renders an entry's cards whenever the entry, one of its paths
or its actor changes, once for every combination of mode and confidential
visibility that gives a different card (a variant). A card missing from the
cache (data bulk-loaded and not rebuilt yet) or rendered for an older version
of the entry is rendered on the fly instead (`card_exports`), so the cache
makes the export faster, never different; `tests/test_exports.py` proves the
texts byte-identical. Each change is logged as a `CardChange` under one
sequence number: what a CardDAV sync reads.
"""

from collections.abc import Iterable
from contextlib import contextmanager

import click
from flask.cli import AppGroup
from sqlalchemy import delete, event, insert, inspect, select, update
from sqlalchemy.orm import Session

from directory.core.database import live_id_chunks
from directory.core.extensions import db
from directory.core.models import (
    CardChange,
    CardSequence,
    ContactPoint,
    Mode,
    VCardCache,
    utcnow,
)
from directory.phones.vcards import (
    CARD_KINDS,
    CARD_MODELS,
    CHUNK,
    CardSource,
    PathRow,
    card_paths,
    load_sources,
    render,
)

# --- Variants: what the cache holds ------------------------------------------------

MODES = (Mode.ORDINARY, Mode.ACTIVATED)


def variant_bit(mode: Mode, confidential: bool) -> int:
    """The bit of one (mode in force, confidential paths shown) combination."""
    return 1 << (MODES.index(Mode(mode)) * 2 + int(confidential))


def seen_in_variant(source: CardSource, confidential: bool) -> list[PathRow]:
    # The same choice `visible` makes for a reader who may (or may not) see
    # this actor's confidential paths: `may_see` depends on nothing else.
    return [p for p in source.paths if confidential or not p.confidential]


def render_variants(source: CardSource) -> list[tuple[int, str]]:
    """(variant mask, card) for each different card the four combinations give."""
    groups: dict[tuple, list] = {}
    for mode in MODES:
        for confidential in (False, True):
            seen = seen_in_variant(source, confidential)
            paths = card_paths(seen, mode)
            key = (tuple(p.id for p in paths), source.rev(seen))
            group = groups.setdefault(key, [0, paths, seen])
            group[0] |= variant_bit(mode, confidential)
    return [(mask, render(source, paths, seen=seen)) for mask, paths, seen in groups.values()]


def _cache_rows(sources: Iterable[CardSource]) -> list[dict]:
    return [
        {"entity_type": s.entity_type, "entity_id": s.id, "variants": mask,
         "entity_version": s.version, "card": card}
        for s in sources
        if not s.deleted
        for mask, card in render_variants(s)
    ]  # fmt: skip


VARIANT_BITS = tuple(1 << n for n in range(len(MODES) * 2))


def _cached_texts(connection, kind: str, ids: list[int]) -> dict[int, dict[int, str]]:
    """{entity id: {variant bit: card}} as the cache holds them now."""
    table = VCardCache.__table__
    found: dict[int, dict[int, str]] = {}
    for row in connection.execute(select(table.c.entity_id, table.c.variants, table.c.card)
                                  .where(table.c.entity_type == kind,
                                         table.c.entity_id.in_(ids))):  # fmt: skip
        texts = found.setdefault(row.entity_id, {})
        for bit in VARIANT_BITS:
            if row.variants & bit:
                texts[bit] = row.card
    return found


def _changes(kind: str, ids: list[int], sources: dict[int, CardSource],
             before: dict[int, dict[int, str]], rows: list[dict]) -> list[dict]:
    """A `CardChange` row for each entry whose card changed in some variant."""
    after: dict[int, dict[int, str]] = {}
    for row in rows:
        texts = after.setdefault(row["entity_id"], {})
        for bit in VARIANT_BITS:
            if row["variants"] & bit:
                texts[bit] = row["card"]
    changes = []
    for entity_id in ids:
        old, new = before.get(entity_id, {}), after.get(entity_id, {})
        mask = sum(bit for bit in VARIANT_BITS if old.get(bit) != new.get(bit))
        if mask:
            source = sources.get(entity_id)
            changes.append({"entity_type": kind, "entity_id": entity_id, "variants": mask,
                            "actor_id": source.actor_id if source else -1})  # fmt: skip
    return changes


def next_change(connection, *, floor: bool = False) -> int:
    """Raise the card-change sequence (in this transaction) and return it.

    `floor`: also make every sync token given before it invalid.
    """
    table = CardSequence.__table__
    values = {"seq": table.c.seq + 1}
    if floor:
        values["floor"] = table.c.seq + 1
    if connection.execute(update(table).where(table.c.id == 1).values(values)).rowcount == 0:
        connection.execute(insert(table).values(id=1, seq=1, floor=1 if floor else 0))
    return connection.execute(select(table.c.seq).where(table.c.id == 1)).scalar_one()


def refresh_cards(connection, keys: set[tuple[str, int]]) -> int:
    """Re-render the cached cards of these (kind, id) entries; returns rows written.

    Each entry whose card changed for some variant gets a `CardChange` row,
    all under one new sequence number: what a CardDAV sync reads.
    """
    table = VCardCache.__table__
    written = 0
    changes: list[dict] = []
    for kind in CARD_MODELS:
        ids = sorted(entity_id for k, entity_id in keys if k == kind)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            before = _cached_texts(connection, kind, chunk)
            connection.execute(
                delete(table).where(table.c.entity_type == kind, table.c.entity_id.in_(chunk))
            )
            sources = load_sources(connection, kind, chunk)
            rows = _cache_rows(sources.values())
            if rows:
                connection.execute(insert(table), rows)
            written += len(rows)
            changes.extend(_changes(kind, chunk, sources, before, rows))
    if changes:
        seq, now = next_change(connection), utcnow()
        connection.execute(insert(CardChange.__table__),
                           [{**change, "seq": seq, "changed_at": now} for change in changes])
    return written


_OWNER_COLUMNS = (("actor", "actor_id"), ("role", "role_id"), ("person", "person_id"))


def _touched(session: Session) -> set[tuple[str, int]]:
    """The cards a flush changes: its entries', their paths' owners', an actor's all."""
    keys: set[tuple[str, int]] = set()
    actors: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        kind = CARD_KINDS.get(type(obj))
        if kind is not None:
            keys.add((kind, obj.id))
            # An actor's name and last change are on all its cards; a change
            # of its collections only (a person added) is not.
            if kind == "actor" and (
                obj in session.new or obj in session.deleted
                or session.is_modified(obj, include_collections=False)
            ):  # fmt: skip
                actors.add(obj.id)
        elif isinstance(obj, ContactPoint):
            state = inspect(obj)
            for owner_kind, column in _OWNER_COLUMNS:
                history = state.attrs[column].history
                for value in (*history.added, *history.unchanged, *history.deleted):
                    if value is not None:
                        keys.add((owner_kind, value))
    if actors:
        connection = session.connection()
        for kind in ("role", "person"):
            model = CARD_MODELS[kind]
            keys.update(
                (kind, entity_id)
                for entity_id in connection.execute(
                    select(model.id).where(model.actor_id.in_(sorted(actors)))
                ).scalars()
            )
    return keys


_PENDING = "cards_pending"  # session.info: the cards a bulk load's flushes changed


def _refresh_after_flush(session: Session, flush_context) -> None:
    keys = _touched(session)
    pending = session.info.get(_PENDING)
    if pending is not None:
        pending.update(keys)
    elif keys:
        refresh_cards(session.connection(), keys)


@contextmanager
def cards_rendered_once(session: Session):
    """Within the block, flushes note the cards they change; the cards are
    rendered once, when the block ends.

    For a load that flushes entry by entry to get ids (the demo region: 400
    flushes, an actor's cards rendered again after each of its paths). On an
    exception nothing is rendered: the caller rolls the load back. Nested
    blocks render once, at the outermost end.
    """
    if session.info.get(_PENDING) is not None:
        yield
        return
    session.info[_PENDING] = keys = set()
    try:
        yield
        session.flush()
        if keys:
            refresh_cards(session.connection(), keys)
    finally:
        session.info.pop(_PENDING, None)


def rebuild_all() -> int:
    """Render every live entry's cards again (after a bulk load); returns rows."""
    connection = db.session.connection()
    connection.execute(delete(VCardCache.__table__))
    written = 0
    for kind, model in CARD_MODELS.items():
        for chunk in live_id_chunks(model, CHUNK):
            rows = _cache_rows(load_sources(connection, kind, chunk).values())
            if rows:
                connection.execute(insert(VCardCache.__table__), rows)
            written += len(rows)
    # Bulk loads and restores bypass the flush hook: no sync token given
    # before this rebuild can say what changed, so clients sync anew.
    next_change(connection, floor=True)
    return written


cards_cli = AppGroup("cards", help="The rendered vCards behind the directory export.")


@cards_cli.command("rebuild")
def rebuild_command():
    """Render every entry's vCards again (after a bulk load or a restore)."""
    count = rebuild_all()
    db.session.commit()
    click.echo(f"Rendered {count} cards.")


def init_app(app) -> None:
    """Keep the rendered cards current on every flush; add `flask cards`."""
    if not event.contains(Session, "after_flush", _refresh_after_flush):
        event.listen(Session, "after_flush", _refresh_after_flush)
    app.cli.add_command(cards_cli)
