"""A user's address books and their cards, and the sync state behind their tokens.

Each signed-in device sees the books of its user:

- `directory`: every live actor, role and person, as the user may see them
  (`card_exports.directory_cards`, the very cards of the whole-directory export,
  from the card cache, confidential paths only for those who may see them);
- `mine`: for an editor, the entries of the actors they edit;
- `calltree-<id>`: one per live call tree, its targets and alternates in
  calling order (the cards of the tree's own vCard export: the tree's mode,
  the numbers placed in it disclosed); the order is in the cards' names
  (`01-role-7.vcf`, `02-person-12.vcf`...).

Book names are in Swedish, the region's language, like the words in the
cards: a book is shared by every device of a user, whatever language each
of their browsers speaks.

A card's ETag is the SHA-256 of its text, so it changes exactly when what
this reader sees changes (a number, a mode switch, a confidential path they
may now see) and never when only a hidden path changed. A book's sync token
(and CTag) is the SHA-256 of its listing (names and ETags); the listing is
kept in `carddav_snapshot` under that token, so `changes_since(old token)`
names exactly the cards added, changed or removed since, on any app server.
"""

import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from directory.calltrees.rules import load_tree, tree_entries
from directory.core.extensions import db
from directory.core.limits import MAX_ID, id_from_text
from directory.core.models import (
    Actor,
    CallTree,
    CardChange,
    CardDAVSnapshot,
    CardSequence,
    User,
    UserRole,
    VCardCache,
    utcnow,
)
from directory.core.security import editable_actor_ids, reader_of
from directory.phones import card_exports, vcards

DIRECTORY = "directory"
MINE = "mine"
TREE_PREFIX = "calltree-"
TOKEN_PREFIX = "http://kontaktvagar.se/ns/sync/"  # noqa: S105 - a URI, not a secret
# A token older than this (and not given out again since) is forgotten: its
# client is told to sync anew (RFC 6578's valid-sync-token error).
SNAPSHOT_DAYS = 30
TOUCH_AFTER = timedelta(days=1)


class InvalidToken(ValueError):
    """A sync token this server never gave out, or has forgotten."""


@dataclass(frozen=True)
class Book:
    name: str  # the last segment of its URL
    title: str
    description: str
    tree_id: int | None = None


@dataclass
class Card:
    href: str
    text: str

    @property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.text.encode("utf-8")).hexdigest()}"'


def owner(email: str) -> User | None:
    """The active user whose principal this is."""
    user = db.session.scalar(select(User).where(User.email == email))
    return user if user is not None and user.active else None


def _live_trees() -> list[CallTree]:
    return db.session.scalars(
        select(CallTree).where(CallTree.deleted_at.is_(None)).order_by(CallTree.id)
    ).all()


def books_of(user: User) -> list[Book]:
    """The address books this user's devices see."""
    books = [Book(DIRECTORY, "Kontaktvägar", "Hela katalogen")]
    if user.role == UserRole.EDITOR and editable_actor_ids(user):
        books.append(Book(MINE, "Kontaktvägar – mina aktörer", "Aktörerna du redigerar"))
    for tree in _live_trees():
        books.append(Book(f"{TREE_PREFIX}{tree.id}", f"Larmkedja: {tree.name}",
                          "Ringordning i kortens namn", tree_id=tree.id))  # fmt: skip
    return books


def book_named(user: User, name: str) -> Book | None:
    if name.startswith(TREE_PREFIX):
        tree_id = id_from_text(name.removeprefix(TREE_PREFIX))
        if tree_id is None:
            return None
        tree = db.session.get(CallTree, tree_id)
        if tree is None or tree.deleted_at is not None:
            return None
        return Book(name, f"Larmkedja: {tree.name}", "Ringordning i kortens namn",
                    tree_id=tree.id)  # fmt: skip
    return next((b for b in books_of(user) if b.name == name and not b.tree_id), None)



def cards_of(user: User, book: Book) -> Iterator[Card]:
    """The cards of one book as this user sees them, now."""
    reader = reader_of(user)
    if book.tree_id is not None:
        tree = load_tree(book.tree_id)
        entries = tree_entries(tree)
        width = max(2, len(str(len(entries))))
        cards = card_exports.entry_cards(entries, reader, mode=tree.mode, disclosed=True)
        for position, card in enumerate(cards, start=1):
            yield Card(f"{position:0{width}d}-{card.entity_type}-{card.id}.vcf", card.text)
        return
    slugs = None
    if book.name == MINE:
        slugs = set(db.session.scalars(
            select(Actor.slug).where(Actor.id.in_(sorted(reader.editable)))
        ))  # fmt: skip
    for card in card_exports.directory_cards(reader):
        if slugs is None or card.actor_slug in slugs:
            yield Card(f"{card.entity_type}-{card.id}.vcf", card.text)


_CARD_NAME = re.compile(r"^(actor|role|person)-([1-9][0-9]{0,9})\.vcf$")


def cards_named(user: User, book: Book, hrefs: Iterable[str]) -> dict[str, Card]:
    """Only the asked cards of a book (a multiget), as `cards_of` gives them.

    For the directory and `mine`, the cards of the export read for just these
    entries (`card_exports.directory_cards(only=...)`, from the card cache), so a
    multiget costs the cards it asks for, not the whole book.
    """
    if book.tree_id is not None:
        wanted = set(hrefs)
        return {c.href: c for c in cards_of(user, book) if c.href in wanted}
    reader = reader_of(user)
    asked: dict[str, dict[int, str]] = {}
    for href in hrefs:
        match = _CARD_NAME.match(href)
        if match and int(match[2]) <= MAX_ID:  # a larger one is no card (and no integer)
            asked.setdefault(match[1], {})[int(match[2])] = href
    slugs = None
    if book.name == MINE:
        slugs = set(db.session.scalars(
            select(Actor.slug).where(Actor.id.in_(sorted(reader.editable)))
        ))  # fmt: skip
    found: dict[str, Card] = {}
    for card in card_exports.directory_cards(reader, only=asked):
        if slugs is None or card.actor_slug in slugs:
            href = asked[card.entity_type][card.id]
            found[href] = Card(href, card.text)
    return found


# --- Sync tokens --------------------------------------------------------------------
#
# A call tree's book is small: its token is the SHA-256 of its listing (names
# and ETags), kept in `carddav_snapshot`, and a sync compares listings.
#
# The directory and `mine` are large (100 000 cards), so their tokens never
# read every card. What one reader sees of a card is fixed by the card's text
# in each variant (mode in force, confidential paths shown) and by which
# variant they get for its actor (and, for `mine`, whether the actor is in
# the book): the *view*, one code per live actor, kept in `carddav_snapshot`
# under its SHA-256. The token is `<change sequence>.<view hash>`. A sync
# with an old token reads only the `card_change` rows after its sequence
# (the cards whose text changed in a variant this reader sees for that
# actor) and, when the view changed (a mode switch, a setting, the actors
# one edits), the cards of the actors whose code changed whose text differs
# between the two variants.


def token_of(listing: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for href in sorted(listing):
        digest.update(f"{href} {listing[href]}\n".encode())
    return digest.hexdigest()


def _sweep(now) -> None:
    cutoff = now - timedelta(days=SNAPSHOT_DAYS)
    db.session.execute(delete(CardDAVSnapshot).where(CardDAVSnapshot.created_at < cutoff))
    gone = db.session.scalar(select(func.max(CardChange.seq))
                             .where(CardChange.changed_at < cutoff))  # fmt: skip
    if gone is not None:  # tokens from before the swept changes cannot be answered
        db.session.execute(update(CardSequence).where(CardSequence.id == 1,
                                                      CardSequence.floor < gone)
                           .values(floor=gone))  # fmt: skip
        db.session.execute(delete(CardChange).where(CardChange.seq <= gone))


def remember(listing: dict[str, str]) -> str:
    """Keep this listing under its token (once for everyone); returns the token URI."""
    token = token_of(listing)
    now = utcnow()
    created = db.session.scalar(
        select(CardDAVSnapshot.created_at).where(CardDAVSnapshot.token == token)
    )
    try:
        if created is None:
            body = zlib.compress(json.dumps(listing, separators=(",", ":")).encode())
            db.session.add(CardDAVSnapshot(token=token, created_at=now, listing=body))
            _sweep(now)
            db.session.commit()
        elif now - created > TOUCH_AFTER:  # still given out: keep it from the sweep
            db.session.execute(update(CardDAVSnapshot).where(CardDAVSnapshot.token == token)
                               .values(created_at=now))
            db.session.commit()
    except IntegrityError:  # another app server kept the same listing just now
        db.session.rollback()
    return TOKEN_PREFIX + token


def _recalled(old_token: str, token: str) -> dict[str, str]:
    body = db.session.scalar(
        select(CardDAVSnapshot.listing).where(CardDAVSnapshot.token == token)
    )
    if body is None:
        raise InvalidToken(old_token)
    try:
        return json.loads(zlib.decompress(body))
    except (zlib.error, ValueError):
        current_app.logger.warning("CardDAV snapshot %s is unreadable", token[:12])
        raise InvalidToken(old_token) from None


def changes_since(old_token: str, listing: dict[str, str]) -> list[str]:
    """A call tree's book: the cards added, changed or removed since `old_token`."""
    token = old_token.removeprefix(TOKEN_PREFIX)
    if token == old_token or not _HASH.match(token):
        raise InvalidToken(old_token)
    old = _recalled(old_token, token)
    changed = [href for href, etag in listing.items() if old.get(href) != etag]
    removed = [href for href in old if href not in listing]
    return sorted(changed) + sorted(removed)


_HASH = re.compile(r"^[0-9a-f]{64}$")
_LARGE_TOKEN = re.compile(r"^([0-9]{1,18})\.([0-9a-f]{64})$")
MEMBER = 16  # in a view's code, beside the variant bit: the actor is in the book


def view_of(user: User, book: Book) -> dict[str, int]:
    """{actor id: code} for the directory or `mine` as this user sees them now."""
    reading = card_exports.Reading(reader_of(user))
    view = {}
    for actor_id, bit in reading.bits().items():
        member = book.name != MINE or actor_id in reading.user.editable
        view[str(actor_id)] = bit | (MEMBER if member else 0)
    return view


def _sequence() -> tuple[int, int]:
    row = db.session.execute(select(CardSequence.seq, CardSequence.floor)
                             .where(CardSequence.id == 1)).first()  # fmt: skip
    return (row.seq, row.floor) if row is not None else (0, 0)


def large_token(user: User, book: Book) -> tuple[str, dict[str, int]]:
    """The current token of the directory or `mine`, and the view it names."""
    seq, _floor = _sequence()  # read first: the changes up to it are all in view
    view = view_of(user, book)
    token = remember({key: str(code) for key, code in view.items()})
    return f"{token}".replace(TOKEN_PREFIX, f"{TOKEN_PREFIX}{seq}.", 1), view


def names_of(user: User, book: Book, *, after: str | None = None,
             limit: int | None = None) -> list[str]:
    """The card names of the directory or `mine`, read from ids alone.

    In a fixed order (actors, roles, persons, each by id); `after` (a name
    this gave) and `limit` read one page of it, so a large book is listed
    a page at a time (`paging`).
    """
    editable = sorted(reader_of(user).editable) if book.name == MINE else None
    kinds = list(vcards.CARD_MODELS)
    start_kind, after_id = kinds[0], None
    if after is not None:
        match = _CARD_NAME.match(after)
        if match is None:
            raise ValueError(f"not a card name: {after!r}")
        start_kind, after_id = match[1], int(match[2])
    names: list[str] = []
    for kind in kinds[kinds.index(start_kind):]:
        if limit is not None and len(names) >= limit:
            break
        model = vcards.CARD_MODELS[kind]
        owner_column = model.id if kind == "actor" else model.actor_id
        stmt = select(model.id).where(model.deleted_at.is_(None)).order_by(model.id)
        if kind != "actor":
            stmt = stmt.join(Actor, Actor.id == model.actor_id).where(Actor.deleted_at.is_(None))
        if editable is not None:
            stmt = stmt.where(owner_column.in_(editable))
        if kind == start_kind and after_id is not None:
            stmt = stmt.where(model.id > after_id)
        if limit is not None:
            stmt = stmt.limit(limit - len(names))
        names.extend(f"{kind}-{entity_id}.vcf" for entity_id in db.session.scalars(stmt))
    return names


def _entries_of(actor_ids: list[int]) -> Iterator[tuple[str, int, int]]:
    """(kind, id, actor id) of the live entries of these actors."""
    for kind, model in vcards.CARD_MODELS.items():
        owner_column = model.id if kind == "actor" else model.actor_id
        for start in range(0, len(actor_ids), vcards.CHUNK):
            chunk = actor_ids[start:start + vcards.CHUNK]
            for entity_id, actor_id in db.session.execute(
                    select(model.id, owner_column).where(owner_column.in_(chunk),
                                                         model.deleted_at.is_(None))):
                yield kind, entity_id, actor_id  # fmt: skip


def _variant_changed(switched: dict[int, int]) -> set[tuple[str, int]]:
    """The entries of these actors whose card differs between their two variants.

    `switched`: {actor id: old bit | new bit}. An entry is the same in both
    when one cache row, rendered for its current version, serves both bits.
    """
    table = VCardCache.__table__
    changed = set()
    actor_ids = sorted(switched)
    for kind, model in vcards.CARD_MODELS.items():
        owner_column = model.id if kind == "actor" else model.actor_id
        for start in range(0, len(actor_ids), vcards.CHUNK):
            chunk = actor_ids[start:start + vcards.CHUNK]
            rows = db.session.execute(
                select(model.id, owner_column.label("actor_id"), table.c.variants)
                .outerjoin(table, and_(table.c.entity_type == kind,
                                       table.c.entity_id == model.id,
                                       table.c.entity_version == model.version))
                .where(owner_column.in_(chunk), model.deleted_at.is_(None))
            )  # fmt: skip
            same = set()
            for entity_id, actor_id, variants in rows:
                changed.add((kind, entity_id))
                both = switched[actor_id]
                if variants is not None and variants & both == both:
                    same.add((kind, entity_id))
            changed -= same
    return changed


def large_changes(old_token: str, user: User, book: Book) -> tuple[str, list[str]]:
    """The new token and the cards of the directory or `mine` changed since `old_token`."""
    match = _LARGE_TOKEN.match(old_token.removeprefix(TOKEN_PREFIX))
    if not old_token.startswith(TOKEN_PREFIX) or not match:
        raise InvalidToken(old_token)
    since = int(match[1])
    seq, floor = _sequence()
    if not floor <= since <= seq:
        raise InvalidToken(old_token)
    old = {key: int(code) for key, code in _recalled(old_token, match[2]).items()}
    token, view = large_token(user, book)
    changed: set[tuple[str, int]] = set()
    # The actors whose code changed: leaving or joining the book, or a variant.
    whole, switched = [], {}
    for key in old.keys() | view.keys():
        before, now = old.get(key), view.get(key)
        if before == now:
            continue
        if before is None or now is None or (before ^ now) & MEMBER:
            if (before or 0) & MEMBER or (now or 0) & MEMBER:
                whole.append(int(key))
        elif now & MEMBER:
            switched[int(key)] = (before | now) & ~MEMBER
    changed.update((kind, entity_id) for kind, entity_id, _actor in _entries_of(sorted(whole)))
    if switched:
        changed |= _variant_changed(switched)
    # The cards whose text changed since, in a variant this reader had or has.
    for row in db.session.execute(
            select(CardChange.entity_type, CardChange.entity_id, CardChange.actor_id,
                   CardChange.variants).where(CardChange.seq > since)):  # fmt: skip
        codes = [c for c in (old.get(str(row.actor_id)), view.get(str(row.actor_id)))
                 if c is not None and c & MEMBER]  # fmt: skip
        seen = sum({c & ~MEMBER for c in codes})
        known = str(row.actor_id) in old or str(row.actor_id) in view
        if row.variants & seen or not known:
            changed.add((row.entity_type, row.entity_id))
    return token, sorted(f"{kind}-{entity_id}.vcf" for kind, entity_id in changed)
