"""A user's address books and their cards, and the sync state behind their tokens.

Each signed-in device sees the books of its user:

- `directory`: every live actor, role and person, as the user may see them
  (`vcards.directory_cards`, the very cards of the whole-directory export,
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
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from directory.calltrees.rules import load_tree, tree_entries
from directory.core.extensions import db
from directory.core.models import Actor, CallTree, CardDAVSnapshot, User, UserRole, utcnow
from directory.core.security import editable_actor_ids, reader_of
from directory.phones import vcards

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
        tree_id = name.removeprefix(TREE_PREFIX)
        if not tree_id.isdigit() or len(tree_id) > 10:
            return None
        tree = db.session.get(CallTree, int(tree_id))
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
        cards = vcards.entry_cards(entries, reader, mode=tree.mode, disclosed=True)
        for position, card in enumerate(cards, start=1):
            yield Card(f"{position:0{width}d}-{card.entity_type}-{card.id}.vcf", card.text)
        return
    slugs = None
    if book.name == MINE:
        slugs = set(db.session.scalars(
            select(Actor.slug).where(Actor.id.in_(sorted(reader.editable)))
        ))  # fmt: skip
    for card in vcards.directory_cards(reader):
        if slugs is None or card.actor_slug in slugs:
            yield Card(f"{card.entity_type}-{card.id}.vcf", card.text)


_CARD_NAME = re.compile(r"^(actor|role|person)-([0-9]{1,10})\.vcf$")


def cards_named(user: User, book: Book, hrefs: Iterable[str]) -> dict[str, Card]:
    """Only the asked cards of a directory book (a multiget), as `cards_of` gives them.

    Rendered afresh with `vcards.render_seen`, which is what the export does
    for a card missing from the cache (and the cache is byte-identical to
    it), so a multiget costs the cards it asks for, not the whole book.
    """
    if book.tree_id is not None:
        wanted = set(hrefs)
        return {c.href: c for c in cards_of(user, book) if c.href in wanted}
    reading = vcards.Reading(reader_of(user))
    asked: dict[str, dict[int, str]] = {}
    for href in hrefs:
        match = _CARD_NAME.match(href)
        if match:
            asked.setdefault(match[1], {})[int(match[2])] = href
    connection = db.session.connection()
    sources = {kind: vcards.load_sources(connection, kind, ids)
               for kind, ids in asked.items()}  # fmt: skip
    actor_ids = {s.actor_id for found in sources.values() for s in found.values()}
    actors = {row.id: row for row in db.session.execute(
        select(Actor.id, Actor.parent_id, Actor.deleted_at).where(
            Actor.id.in_(sorted(actor_ids))))}  # fmt: skip
    found: dict[str, Card] = {}
    for kind, by_id in sources.items():
        for entity_id, source in by_id.items():
            actor = actors.get(source.actor_id)
            if source.deleted or actor is None or actor.deleted_at is not None:
                continue
            if book.name == MINE and source.actor_id not in reading.user.editable:
                continue
            mode = reading.mode(actor.id, actor.parent_id)
            href = asked[kind][entity_id]
            found[href] = Card(href, vcards.render_seen(source, mode, reading.user))
    return found


# --- Sync tokens --------------------------------------------------------------------


def token_of(listing: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for href in sorted(listing):
        digest.update(f"{href} {listing[href]}\n".encode())
    return digest.hexdigest()


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
            db.session.execute(delete(CardDAVSnapshot).where(
                CardDAVSnapshot.created_at < now - timedelta(days=SNAPSHOT_DAYS)))
            db.session.commit()
        elif now - created > TOUCH_AFTER:  # still given out: keep it from the sweep
            db.session.execute(update(CardDAVSnapshot).where(CardDAVSnapshot.token == token)
                               .values(created_at=now))
            db.session.commit()
    except IntegrityError:  # another app server kept the same listing just now
        db.session.rollback()
    return TOKEN_PREFIX + token


def changes_since(old_token: str, listing: dict[str, str]) -> list[str]:
    """The names of the cards added, changed or removed since `old_token`."""
    token = old_token.removeprefix(TOKEN_PREFIX)
    if token == old_token or len(token) != 64:
        raise InvalidToken(old_token)
    body = db.session.scalar(
        select(CardDAVSnapshot.listing).where(CardDAVSnapshot.token == token)
    )
    if body is None:
        raise InvalidToken(old_token)
    try:
        old = json.loads(zlib.decompress(body))
    except (zlib.error, ValueError):
        current_app.logger.warning("CardDAV snapshot %s is unreadable", token[:12])
        raise InvalidToken(old_token) from None
    changed = [href for href, etag in listing.items() if old.get(href) != etag]
    removed = [href for href in old if href not in listing]
    return sorted(changed) + sorted(removed)
