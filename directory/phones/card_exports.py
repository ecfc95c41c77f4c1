"""Many cards at once: the whole directory, an actor's, a call tree's.

The directory is streamed for one reader (`Reading`: the mode in force and
confidential visibility per actor), from the card cache where it holds the
variant this reader sees, rendered on the fly where it does not; as one .vcf
file or as a ZIP of one card per file.
"""

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import and_, case, literal, select

from directory.core.database import among
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    Mode,
    Role,
    VCardCache,
)
from directory.core.modes import mode_for, mode_states
from directory.core.security import may_see, reader_of
from directory.core.text import slugify
from directory.phones.card_cache import variant_bit
from directory.phones.vcards import (
    CARD_KINDS,
    CARD_MODELS,
    CHUNK,
    load_sources,
    render_for,
    render_seen,
)

# --- Many cards: the directory, an actor, a call tree ---------------------------------


class _ActorIds(NamedTuple):  # what `mode_for` reads of an actor
    id: int
    parent_id: int | None


class _ConfidentialPath(NamedTuple):  # what `may_see` reads of a path
    owning_actor_id: int
    confidential: bool = True


class Reading:
    """One reader reading the directory: the mode and visibility per actor.

    `user` is a `security.Reader` (taken when the request began), never the
    ORM user: the directory is read in a stream, after the request's session.
    """

    def __init__(self, user):
        self.user = reader_of(user)
        self.states = mode_states()
        self._confidential: dict[int, bool] = {}
        self._bits: dict[int, int] | None = None

    def mode(self, actor_id: int, parent_id: int | None) -> Mode:
        return mode_for(_ActorIds(actor_id, parent_id), self.states).mode

    def sees_confidential(self, actor_id: int) -> bool:
        if actor_id not in self._confidential:
            self._confidential[actor_id] = may_see(self.user, _ConfidentialPath(actor_id))
        return self._confidential[actor_id]

    def bit(self, actor_id: int, parent_id: int | None) -> int:
        """The variant of an actor's cards this reader sees (`card_cache.variant_bit`)."""
        return variant_bit(self.mode(actor_id, parent_id), self.sees_confidential(actor_id))

    def bits(self) -> dict[int, int]:
        """{live actor's id: `bit`}, read once."""
        if self._bits is None:
            self._bits = {
                actor_id: self.bit(actor_id, parent_id)
                for actor_id, parent_id in db.session.execute(
                    select(Actor.id, Actor.parent_id).where(Actor.deleted_at.is_(None)))
            }  # fmt: skip
        return self._bits


@dataclass
class Card:
    """One card of an export, with what a file name needs."""

    entity_type: str
    id: int
    actor_slug: str
    name: str
    text: str | None
    mode: Mode | None = None

    @property
    def filename(self) -> str:
        """`haninge-kommun/asa-oberg-person-12.vcf`: the kind and id make it unique
        (a role and a person of one actor may share a name and an id)."""
        stem = "-".join(part for part in (slugify(self.name), self.entity_type) if part)
        return f"{self.actor_slug}/{stem}-{self.id}.vcf"


def _variant_wanted(owner, bits: dict[int, int]):
    """SQL for the variant bit this reader sees of each entry, from its owner's id.

    Most actors share one bit (the region's mode, confidential paths not
    shown), so it is the default and only the others are listed."""
    by_bit: dict[int, list[int]] = {}
    for actor_id, bit in bits.items():
        by_bit.setdefault(bit, []).append(actor_id)
    if not by_bit:
        return literal(0)
    common = max(by_bit, key=lambda bit: (len(by_bit[bit]), bit))
    others = [(among(owner, sorted(ids)), bit) for bit, ids in sorted(by_bit.items())
              if bit != common]  # fmt: skip
    return case(*others, else_=literal(common)) if others else literal(common)


def _directory_query(kind: str, bits: dict[int, int] | None):
    """The live entries of one kind, by id, with what a card and its file name
    need; given `bits` (`Reading.bits`), each with the one cached card this
    reader sees, rendered for the entry's current version, where there is one."""
    model = CARD_MODELS[kind]
    owner = Actor.id if kind == "actor" else model.actor_id
    name = (Role.short_name if kind == "role" else literal("")).label("short_name")
    stmt = select(model.id, owner.label("actor_id"), Actor.parent_id, Actor.slug, model.name,
                  name)  # fmt: skip
    if kind != "actor":
        stmt = stmt.join(Actor, Actor.id == model.actor_id).where(model.deleted_at.is_(None))
    stmt = stmt.where(Actor.deleted_at.is_(None))
    if bits is not None:
        stmt = stmt.add_columns(VCardCache.variants, VCardCache.card).outerjoin(
            VCardCache,
            and_(VCardCache.entity_type == kind, VCardCache.entity_id == model.id,
                 VCardCache.entity_version == model.version,
                 VCardCache.variants.op("&")(_variant_wanted(owner, bits)) != 0),
        )  # fmt: skip
    return stmt.order_by(model.id)


def _fill(kind: str, cards: list[Card], reader: Reading, version: str) -> list[Card]:
    """Render the cards the cache could not give, in one batch."""
    missing = [c for c in cards if c.text is None]
    if missing:
        sources = load_sources(db.session.connection(), kind, [c.id for c in missing])
        for card in missing:
            source = sources[card.id]
            card.text = render_seen(source, card.mode, reader.user, version)
    return cards


def directory_cards(user, version: str = "3.0",
                    only: dict[str, Iterable[int]] | None = None) -> Iterator[Card]:
    """Every live actor's, role's and person's card for this reader, streamed.

    Rows are read with `yield_per` and cards handed on in batches, so memory
    stays flat however large the directory is. `user` should be a
    `security.Reader` taken before the stream starts. `only`: just these
    entries ({kind: ids}; a CardDAV multiget), the same cards.
    """
    reader = Reading(user)
    bits = reader.bits() if version == "3.0" else None
    for kind, model in CARD_MODELS.items():
        if only is None:
            yield from _cards_of_rows(kind, db.session.execute(
                _directory_query(kind, bits).execution_options(yield_per=CHUNK)
            ), reader, bits, version)  # fmt: skip
            continue
        ids = sorted(set(only.get(kind, ())))
        for start in range(0, len(ids), CHUNK):
            stmt = _directory_query(kind, bits).where(among(model.id, ids[start:start + CHUNK]))
            yield from _cards_of_rows(kind, db.session.execute(stmt), reader, bits, version)


def _cards_of_rows(kind: str, rows, reader: Reading, bits: dict[int, int] | None,
                   version: str) -> Iterator[Card]:
    """Cards of `_directory_query`'s rows: the cached text where the row has the
    variant this reader sees, rendered in `_fill` where it has none."""
    batch: list[Card] = []
    last = None
    for entity_id, actor_id, parent_id, slug, name, short_name, *cached in rows:
        if entity_id == last:  # a second cached row: the first served
            continue
        last = entity_id
        text = None
        if cached:
            variants, card = cached
            # an actor made after `bits` was read is not in it, and its row may
            # be another variant's: checked here, not trusted to the SQL
            bit = bits.get(actor_id) or reader.bit(actor_id, parent_id)
            if card is not None and variants & bit:
                text = card
        mode = reader.mode(actor_id, parent_id) if text is None else None
        batch.append(Card(kind, entity_id, slug, short_name or name, text, mode))
        if len(batch) >= CHUNK:
            yield from _fill(kind, batch, reader, version)
            batch = []
    yield from _fill(kind, batch, reader, version)


def entry_cards(entries, user, version: str = "3.0", mode: Mode | None = None,
                *, disclosed: bool = False) -> list[Card]:
    """Fresh cards of loaded entries (an actor's, a call tree's members).

    Each in the mode in force for its actor, unless `mode` says otherwise
    (a call tree's cards follow the tree's mode, and are `disclosed`: every
    path placed in the tree is on them).
    """
    states = mode_states()
    cards = []
    for entry in entries:
        actor = entry if isinstance(entry, Actor) else entry.actor
        kind = CARD_KINDS[type(entry)]
        name = entry.short_name if kind == "role" and entry.short_name else entry.name
        text = render_for(entry, user, mode or mode_for(actor, states).mode, version,
                          disclosed=disclosed)
        cards.append(Card(kind, entry.id, actor.slug, name, text))
    return cards


def vcf_stream(cards: Iterable[Card]) -> Iterator[bytes]:
    """A multi-card .vcf file, UTF-8 without BOM, in chunks of about CHUNK cards."""
    batch: list[str] = []
    for card in cards:
        batch.append(card.text)
        if len(batch) >= CHUNK:
            yield "".join(batch).encode("utf-8")
            batch = []
    if batch:
        yield "".join(batch).encode("utf-8")


class _Sink:
    """A write-only stream for zipfile; what was written is taken in pieces."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


def zip_stream(cards: Iterable[Card], when: datetime) -> Iterator[bytes]:
    """A ZIP with one .vcf per card (for clients that read only a file's first card).

    Streamed; but the ZIP format's central directory comes last, so zipfile
    keeps about 400 bytes a card until the end (some 40 MiB for 100 000).
    """
    sink = _Sink()
    stamp = when.timetuple()[:6]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for card in cards:
            info = zipfile.ZipInfo(card.filename, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, card.text.encode("utf-8"))
            if sink.size >= 256 * 1024:
                yield sink.take()
    yield sink.take()
