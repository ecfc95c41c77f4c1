"""vCards for phones: one entry's card, as a phone reads it.

A card is rendered with vobject from a `CardSource` (a person, role or actor,
its actor and all its contact paths) and the paths one reader may see:
`security.visible()` and `modes.paths_for_mode()` decide, as on every page.
The paths of the mode in force come first, in PACE order; the other mode's
numbers follow, labelled "Aktiverat läge – ..." or "Ordinarie läge – ...", so
a card saved on a phone in ordinary times still holds the number to call
once the actor is activated (`card_paths`). vCard 3.0 (RFC 2426) by
default, which iOS, Android and Outlook import; 4.0 (RFC 6350) on request.
vobject escapes every text value, so no value can add a property, end the
card or break a line; control and line-separator characters are turned into
spaces before it sees them.

Many cards at once (the directory, an actor's, a call tree's) are
`card_exports`; the rendered cards kept for them, `card_cache`.

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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import NamedTuple

import segno
import vobject
from sqlalchemy import literal, select

from directory.core.models import (
    Actor,
    ContactKind,
    ContactPoint,
    Mode,
    PathMode,
    Person,
    Role,
)
from directory.core.modes import mode_for, paths_for_mode
from directory.core.security import visible

VERSIONS = ("3.0", "4.0")
# UIDs are name-based UUIDs in this namespace: the same entry keeps its UID
# across exports, so a phone updates a contact instead of adding a second one.
UID_NAMESPACE = uuid.UUID("6f1d0c52-3a0e-5b8e-9c0e-6b6f6e74616b")
CATEGORY = "Kontaktvägar"
APP_ENTRY, APP_PATH = "X-KONTAKTVAGAR-ENTRY", "X-KONTAKTVAGAR-PATH"
CARD_MODELS = {"actor": Actor, "role": Role, "person": Person}
CARD_KINDS = {model: kind for kind, model in CARD_MODELS.items()}
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
