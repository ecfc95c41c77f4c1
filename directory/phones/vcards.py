"""vCards for phones: one entry's card, many cards, and the cache that makes many fast.

A card is rendered with vobject from a `CardSource` (a person, role or actor,
its actor and all its contact paths) and the paths one reader may see:
`security.visible()` and `modes.paths_for_mode()` decide, as on every page.
The paths of the mode in force come first, in PACE order; the other mode's
numbers follow, labelled "Aktiverat läge – ..." or "Ordinarie läge – ...", so
a card saved on a phone in ordinary times still holds the number to call
once the actor is activated (`card_paths`). vCard 3.0 (RFC 2426) by default, which iOS, Android and
Outlook import; 4.0 (RFC 6350) on request. vobject escapes every text value,
so no value can add a property, end the card or break a line; control and
line-separator characters are turned into spaces before it sees them.

Rendering costs about 0.3 ms a card, too slow for the whole directory at
national scale (100 000 cards), so 3.0 cards are also kept in `VCardCache`:
a flush hook re-renders an entry's cards whenever the entry, one of its paths
or its actor changes, once for every combination of mode and confidential
visibility that gives a different card. A card missing from the cache (data
bulk-loaded and not rebuilt yet) or rendered for an older version of the
entry is rendered on the fly instead, so the cache makes the export faster,
never different; `tests/test_exports.py` proves the texts byte-identical.

Every card but a QR code's also says what it is in the app's own words:
`X-KONTAKTVAGAR-ENTRY` (kind of entry, id, actor id, name, short name or
title) and one `X-KONTAKTVAGAR-PATH` per path on it (kind, mode, PACE order,
confidential, label, PIN, value, exactly as stored). Phones keep such
properties and ignore them; `phones.restore` reads them, so a directory
exported as vCard is restored whole into an empty directory and exports
again byte for byte (`tests/test_restore.py`).

Card texts do not depend on the reader's language (the cache is shared), so
the few words in them (the kinds of path in NOTE) are Swedish, the region's
language.
"""

import re
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from itertools import groupby
from operator import attrgetter
from typing import NamedTuple

import click
import segno
import vobject
from flask.cli import AppGroup
from sqlalchemy import and_, delete, event, insert, inspect, literal, select, update
from sqlalchemy.orm import Session

from directory.core.database import live_id_chunks
from directory.core.extensions import db
from directory.core.models import (
    Actor,
    CardChange,
    CardSequence,
    ContactKind,
    ContactPoint,
    Mode,
    PathMode,
    Person,
    Role,
    VCardCache,
    utcnow,
)
from directory.core.modes import mode_for, mode_states, paths_for_mode
from directory.core.security import may_see, reader_of, visible
from directory.core.text import slugify

VERSIONS = ("3.0", "4.0")
# UIDs are name-based UUIDs in this namespace: the same entry keeps its UID
# across exports, so a phone updates a contact instead of adding a second one.
UID_NAMESPACE = uuid.UUID("6f1d0c52-3a0e-5b8e-9c0e-6b6f6e74616b")
CATEGORY = "Kontaktvägar"
APP_ENTRY, APP_PATH = "X-KONTAKTVAGAR-ENTRY", "X-KONTAKTVAGAR-PATH"
CARD_MODELS = {"actor": Actor, "role": Role, "person": Person}
CHUNK = 500

# TYPE parameters per kind of phone path: (vCard 3.0, vCard 4.0).
TEL_TYPES = {
    ContactKind.MOBILE: (["CELL", "VOICE"], ["cell", "voice"]),
    ContactKind.SMS: (["CELL"], ["text", "cell"]),
    ContactKind.SATELLITE: (["CELL", "VOICE"], ["cell", "voice"]),
    ContactKind.LANDLINE: (["WORK", "VOICE"], ["work", "voice"]),
    ContactKind.SWITCHBOARD: (["WORK", "VOICE"], ["work", "voice"]),
    ContactKind.BRIDGE: (["WORK", "VOICE"], ["work", "voice"]),
}
# A number made for one mode is labelled with it, so a person reading the card
# on their phone sees which is which (the card carries both modes' numbers).
MODE_WORDS = {
    PathMode.ORDINARY: "Ordinarie läge",
    PathMode.ACTIVATED: "Aktiverat läge",
}
# Paths a phone has no field for go into NOTE, named in Swedish.
NOTE_WORDS = {
    ContactKind.RAKEL_GROUP: "Rakel talgrupp",
    ContactKind.RAKEL_ISSI: "Rakel ISSI",
    ContactKind.BRIDGE: "Konferensbrygga",
    ContactKind.OTHER: "Annat",
}

# C0 and C1 controls (tab and newline are handled apart) and the Unicode line
# and paragraph separators: some readers break lines on them.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def fold_octets(text: str, limit: int = 75) -> str:
    """Content lines folded at `limit` octets, never inside a UTF-8 character.

    vObject folds at 75 characters, which with å, ä, ö or an emoji is up to
    185 octets, longer than RFC 6350 and RFC 5545 allow. Its output is
    unfolded and folded again by octets (a continuation line's leading space
    counts). Used for every vCard and feed.
    """
    out = []
    for line in text.replace("\r\n ", "").split("\r\n"):
        if len(line.encode("utf-8")) <= limit:
            out.append(line)
            continue
        piece, size, room = [], 0, limit
        for char in line:
            width = len(char.encode("utf-8"))
            if size + width > room:
                out.append(("" if room == limit else " ") + "".join(piece))
                piece, size, room = [], 0, limit - 1
            piece.append(char)
            size += width
        out.append(("" if room == limit else " ") + "".join(piece))
    return "\r\n".join(out)


def uri(component, name: str, value: str):
    """A URI property (URL): written as it is, not escaped as text (`\\,` `\\;`)
    which would break map links with coordinates. `value` is `clean`: one line."""
    line = component.add(name)
    line.value = value
    line.encoded = True  # vObject escapes only what is not encoded yet
    return line


def clean(text: str | None, *, multiline: bool = False) -> str:
    """Text safe to hand to vobject: no controls; one line unless `multiline`."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROLS.sub(" ", text)
    if multiline:
        return "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()
    return " ".join(text.split())


# --- What a card is made of ---------------------------------------------------


class PathRow(NamedTuple):
    """A contact path as a card needs it; `visible()` and `paths_for_mode()` read it."""

    id: int
    kind: ContactKind
    value: str
    label: str
    pin: str
    mode: PathMode
    priority: int
    confidential: bool
    deleted_at: datetime | None
    updated_at: datetime
    owning_actor_id: int


@dataclass
class CardSource:
    """A person, role or actor with its actor and all its paths (deleted ones too)."""

    entity_type: str  # "actor", "role" or "person"
    id: int
    version: int
    name: str
    short_name: str
    title: str
    actor_id: int
    org: str
    updated_at: datetime  # the later of the entry's and its actor's last change
    deleted: bool
    paths: list[PathRow] = field(default_factory=list)

    @property
    def uid(self) -> str:
        return f"urn:uuid:{uuid.uuid5(UID_NAMESPACE, f'{self.entity_type}:{self.id}')}"

    @property
    def display_name(self) -> str:
        """A person's name; "TiB – Haninge kommun" for a role; an actor's name."""
        if self.entity_type == "role":
            return f"{self.short_name or self.name} – {self.org}"
        return self.name

    def rev(self, seen: Iterable[PathRow]) -> str:
        """The last change of the entry, its actor or a path the reader may see (REV).

        Only `seen` counts (the reader's visible paths, deleted ones too): a
        change of a confidential path must not tell a viewer when it happened.
        """
        latest = max([self.updated_at, *(p.updated_at for p in seen)])
        return latest.strftime("%Y%m%dT%H%M%SZ")


def path_of(point: ContactPoint, actor_id: int) -> PathRow:
    return PathRow(
        point.id, ContactKind(point.kind), point.value, point.label or "", point.pin or "",
        PathMode(point.mode), point.priority, bool(point.confidential), point.deleted_at,
        point.updated_at, actor_id,
    )  # fmt: skip


def source_of(entry: Actor | Role | Person) -> CardSource:
    """The card source of a loaded entry (its actor and paths are read through it)."""
    actor = entry if isinstance(entry, Actor) else entry.actor
    kind = {Actor: "actor", Role: "role", Person: "person"}[type(entry)]
    return CardSource(
        entity_type=kind,
        id=entry.id,
        version=entry.version,
        name=entry.name,
        short_name=getattr(entry, "short_name", "") if kind == "role" else "",
        title={"person": getattr(entry, "title", ""), "role": entry.name}.get(kind, "") or "",
        actor_id=actor.id,
        org=actor.name,
        updated_at=max(entry.updated_at, actor.updated_at),
        deleted=entry.deleted_at is not None,
        paths=[path_of(p, actor.id) for p in entry.contact_points],
    )


_POINT_COLUMNS = (
    ContactPoint.id, ContactPoint.kind, ContactPoint.value, ContactPoint.label,
    ContactPoint.pin, ContactPoint.mode, ContactPoint.priority, ContactPoint.confidential,
    ContactPoint.deleted_at, ContactPoint.updated_at,
)  # fmt: skip


def _entry_query(kind: str, ids: list[int]):
    """The columns of `CardSource` for entries of one kind, with their actor's."""
    if kind == "actor":
        return select(
            Actor.id, Actor.version, Actor.name, literal("").label("short_name"),
            literal("").label("title"), Actor.updated_at, Actor.deleted_at,
            Actor.id.label("actor_id"), Actor.name.label("org"),
            Actor.updated_at.label("actor_updated_at"),
        ).where(Actor.id.in_(ids))  # fmt: skip
    model = CARD_MODELS[kind]
    short_name = Role.short_name if kind == "role" else literal("").label("short_name")
    title = Role.name.label("title") if kind == "role" else Person.title
    return (
        select(
            model.id, model.version, model.name, short_name, title, model.updated_at,
            model.deleted_at, model.actor_id, Actor.name.label("org"),
            Actor.updated_at.label("actor_updated_at"),
        )  # fmt: skip
        .join(Actor, Actor.id == model.actor_id)
        .where(model.id.in_(ids))
    )


def load_sources(connection, kind: str, ids: Iterable[int]) -> dict[int, CardSource]:
    """Card sources by id, read with plain queries (no ORM state involved).

    Used by the flush hook, the rebuild and the export's misses: what they
    read is what the database holds at that moment of the transaction.
    """
    ids = sorted(set(ids))
    owner_column = getattr(ContactPoint, f"{kind}_id")
    found: dict[int, CardSource] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for row in connection.execute(_entry_query(kind, chunk)):
            found[row.id] = CardSource(
                entity_type=kind, id=row.id, version=row.version, name=row.name,
                short_name=row.short_name or "", title=row.title or "",
                actor_id=row.actor_id, org=row.org,
                updated_at=max(row.updated_at, row.actor_updated_at),
                deleted=row.deleted_at is not None,
            )  # fmt: skip
        points = connection.execute(
            select(owner_column.label("owner_id"), *_POINT_COLUMNS).where(
                owner_column.in_(chunk)
            )
        )
        for row in points:
            source = found.get(row.owner_id)
            if source is not None:
                source.paths.append(PathRow(
                    row.id, ContactKind(row.kind), row.value, row.label or "", row.pin or "",
                    PathMode(row.mode), row.priority, bool(row.confidential), row.deleted_at,
                    row.updated_at, source.actor_id,
                ))  # fmt: skip
    return found


# --- Rendering -------------------------------------------------------------------


def split_name(name: str) -> tuple[str, str]:
    """(given, family): the last word is the family name, as in Swedish names."""
    given, _space, family = name.rpartition(" ")
    return given, family


def _note_line(path: PathRow) -> str | None:
    """A NOTE line for a path a phone has no field for, or a bridge's PIN."""
    word = NOTE_WORDS.get(path.kind)
    label = clean(path.label)
    value = clean(path.value)
    if path.kind in (ContactKind.RAKEL_GROUP, ContactKind.RAKEL_ISSI, ContactKind.OTHER):
        return f"{word}: {value}" + (f" ({label})" if label else "")
    if path.pin:
        return f"{label or word or path.kind.value} {value}: PIN {clean(path.pin)}"
    return None


def escape_fields(*fields) -> str:
    """A structured text value (RFC 2426 4.1): fields joined by `;`, each with
    backslash, `;`, `,` and line breaks escaped, so no value can end the line."""
    def one(value) -> str:
        text = str(value).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        text = text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")
        return _CONTROLS.sub(" ", text)
    return ";".join(one(value) for value in fields)


def split_fields(value: str) -> list[str]:
    """The fields of a structured text value, unescaped (`escape_fields` reversed)."""
    fields, current, chars = [], [], iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            current.append("\n" if following in "nN" and following else following)
        elif char == ";":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def _app_lines(source: CardSource, paths: list[PathRow]) -> str:
    """The card's entry and paths in the app's own words (see the module's doc)."""
    detail = source.short_name if source.entity_type == "role" else source.title
    lines = [f"{APP_ENTRY}:" + escape_fields(source.entity_type, source.id, source.actor_id,
                                             source.name, detail)]
    lines += [f"{APP_PATH}:" + escape_fields(
        p.kind.value, p.mode.value, p.priority, int(p.confidential), p.label, p.pin, p.value)
        for p in paths]  # fmt: skip
    return "".join(f"{line}\r\n" for line in lines)


def render(source: CardSource, paths: list[PathRow], version: str = "3.0",
           *, compact: bool = False, seen: list[PathRow] | None = None) -> str:
    """The card of `source` showing `paths` (already chosen and in PACE order).

    `seen` are all the paths the reader may see, in any mode and deleted ones
    too: REV is their latest change (just `paths` when not given). `compact`
    leaves out labels, notes and bookkeeping, for QR codes.
    """
    v4 = version == "4.0"
    card = vobject.vCard()
    if v4:
        card.add("version").value = "4.0"
    card.add("uid").value = source.uid
    name = clean(source.display_name)
    card.add("fn").value = name
    if source.entity_type == "person":
        given, family = split_name(name)
        card.add("n").value = vobject.vcard.Name(family=family, given=given)
    else:
        card.add("n").value = vobject.vcard.Name(family=name)
    if v4:
        card.add("kind").value = "org" if source.entity_type == "actor" else "individual"
    elif source.entity_type == "actor" and not compact:
        card.add("x-abshowas").value = "COMPANY"
    card.add("org").value = [clean(source.org)]
    title = clean(source.title)
    if title:
        card.add("title").value = title
    notes, item, first_phone, first_email = [], 0, True, True
    for path in paths:
        value = clean(path.value)
        if path.kind.is_phone:
            tel = card.add("tel")
            types = list(TEL_TYPES[path.kind][1 if v4 else 0])
            if v4:
                tel.value = f"tel:{value}"
                tel.params["VALUE"] = ["uri"]
                if first_phone:
                    tel.params["PREF"] = ["1"]
            else:
                tel.value = value
                if first_phone:
                    types.append("PREF")
            tel.type_param = types
            first_phone = False
            label = clean(path.label)
            if path.kind is ContactKind.BRIDGE and path.pin:
                label = f"{label or NOTE_WORDS[path.kind]} (PIN {clean(path.pin)})"
            if path.mode in MODE_WORDS:
                label = " – ".join(part for part in (MODE_WORDS[path.mode], label) if part)
            if label and not compact:
                item += 1
                tel.group = f"item{item}"
                ablabel = card.add("x-ablabel")
                ablabel.value = label
                ablabel.group = tel.group
        elif path.kind is ContactKind.EMAIL:
            email = card.add("email")
            email.value = value
            if v4:
                email.type_param = ["work"]
                if first_email:
                    email.params["PREF"] = ["1"]
            else:
                email.type_param = ["INTERNET", "WORK"] + (["PREF"] if first_email else [])
            first_email = False
        elif path.kind is ContactKind.WEB:
            uri(card, "url", value)
        elif path.kind is ContactKind.ADDRESS:
            address = card.add("adr")
            address.value = vobject.vcard.Address(street=value)
            address.type_param = ["work" if v4 else "WORK"]
        line = _note_line(path)
        if line:
            notes.append(line)
    if not compact:
        if notes:
            card.add("note").value = clean("\n".join(notes), multiline=True)
        card.add("categories").value = [CATEGORY]
        card.add("rev").value = source.rev(paths if seen is None else seen)
    text = card.serialize()
    if not compact:
        end = text.rindex("END:VCARD")
        text = text[:end] + _app_lines(source, paths) + text[end:]
    return fold_octets(text)


def card_paths(seen: Iterable[PathRow], mode: Mode) -> list[PathRow]:
    """What a card shows of the paths a reader may see: those of `mode` in PACE
    order, then the other mode's phone numbers (labelled with their mode by
    `render`), so a card saved in ordinary mode still has the activated-mode
    number when the phone is the fallback, and the other way round."""
    applies, others = paths_for_mode(list(seen), mode)
    return applies + [p for p in others if p.kind.is_phone]


def shown_paths(source: CardSource, mode: Mode, user) -> list[PathRow]:
    """The paths this user's card shows in `mode` (`card_paths` of what they may see)."""
    return card_paths(visible(source.paths, user), mode)


def render_seen(source: CardSource, mode: Mode, user, version: str = "3.0",
                *, compact: bool = False, disclosed: bool = False) -> str:
    """The card of `source` as this user sees it in `mode` (REV from what they may see).

    `disclosed`: every path is shown, confidential or not (a call tree's cards:
    DESIGN's need-to-know lists).
    """
    seen = list(source.paths) if disclosed else visible(source.paths, user)
    return render(source, card_paths(seen, mode), version, compact=compact, seen=seen)


def render_for(entry, user, mode: Mode | None = None, version: str = "3.0",
               *, compact: bool = False, disclosed: bool = False) -> str:
    """A fresh card of a loaded entry for this user, in the mode in force for its actor."""
    source = source_of(entry)
    if mode is None:
        actor = entry if isinstance(entry, Actor) else entry.actor
        mode = mode_for(actor).mode
    return render_seen(source, mode, user, version, compact=compact, disclosed=disclosed)


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
_CARD_KINDS = {Actor: "actor", Role: "role", Person: "person"}


def _touched(session: Session) -> set[tuple[str, int]]:
    """The cards a flush changes: its entries', their paths' owners', an actor's all."""
    keys: set[tuple[str, int]] = set()
    actors: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        kind = _CARD_KINDS.get(type(obj))
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

    def mode(self, actor_id: int, parent_id: int | None) -> Mode:
        return mode_for(_ActorIds(actor_id, parent_id), self.states).mode

    def sees_confidential(self, actor_id: int) -> bool:
        if actor_id not in self._confidential:
            self._confidential[actor_id] = may_see(self.user, _ConfidentialPath(actor_id))
        return self._confidential[actor_id]


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


def _directory_query(kind: str, use_cache: bool):
    model = CARD_MODELS[kind]
    if kind == "actor":
        stmt = select(
            Actor.id, Actor.version, Actor.id.label("actor_id"), Actor.parent_id, Actor.slug,
            Actor.name,
        )  # fmt: skip
    else:
        name = (Role.short_name if kind == "role" else literal("")).label("short_name")
        stmt = (
            select(model.id, model.version, model.actor_id, Actor.parent_id, Actor.slug,
                   model.name, name)
            .join(Actor, Actor.id == model.actor_id)
            .where(model.deleted_at.is_(None))
        )  # fmt: skip
    stmt = stmt.where(Actor.deleted_at.is_(None))
    if use_cache:
        stmt = stmt.add_columns(
            VCardCache.variants, VCardCache.entity_version, VCardCache.card
        ).outerjoin(
            VCardCache,
            and_(VCardCache.entity_type == kind, VCardCache.entity_id == model.id),
        )
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
    use_cache = version == "3.0"
    for kind, model in CARD_MODELS.items():
        if only is None:
            yield from _cards_of_rows(kind, db.session.execute(
                _directory_query(kind, use_cache).execution_options(yield_per=CHUNK)
            ), reader, version, use_cache)  # fmt: skip
            continue
        ids = sorted(set(only.get(kind, ())))
        for start in range(0, len(ids), CHUNK):
            stmt = _directory_query(kind, use_cache).where(model.id.in_(ids[start:start + CHUNK]))
            yield from _cards_of_rows(kind, db.session.execute(stmt), reader, version, use_cache)


def _cards_of_rows(kind: str, rows, reader: Reading, version: str,
                   use_cache: bool) -> Iterator[Card]:
    batch: list[Card] = []
    for _entity_id, group in groupby(rows, key=attrgetter("id")):
        group = list(group)
        first = group[0]
        mode = reader.mode(first.actor_id, first.parent_id)
        text = None
        if use_cache:
            bit = variant_bit(mode, reader.sees_confidential(first.actor_id))
            text = next(
                (r.card for r in group
                 if r.variants is not None and r.variants & bit
                 and r.entity_version == first.version),
                None,
            )  # fmt: skip
        short_name = getattr(first, "short_name", "")
        batch.append(Card(kind, first.id, first.slug, short_name or first.name, text, mode))
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
        kind = _CARD_KINDS[type(entry)]
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


# --- QR codes --------------------------------------------------------------------------


def qr_svg(entry, user, title: str) -> bytes:
    """An SVG QR code of the entry's card, as a phone's camera reads it.

    The full card when it fits; else a compact one (no labels, notes or
    bookkeeping); else the compact card with only its first three numbers.
    A name and an organisation alone (at most 400 characters) always fit.
    """
    actor = entry if isinstance(entry, Actor) else entry.actor
    source = source_of(entry)
    paths = shown_paths(source, mode_for(actor).mode, user)
    phones = [p for p in paths if p.kind.is_phone]
    for chosen, compact in ((paths, False), (paths, True), (phones[:3], True), ([], True)):
        try:
            code = segno.make(render(source, chosen, compact=compact), error="m", micro=False)
        except segno.DataOverflowError:
            continue
        break
    out = BytesIO()
    code.save(out, kind="svg", scale=4, border=4, xmldecl=False, title=title)
    return out.getvalue()
