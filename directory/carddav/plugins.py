"""Radicale's storage, auth and rights plugins, backed by this app.

Radicale speaks the protocol (WebDAV, CardDAV, RFC 6578 sync-collection,
discovery, ETags, multiget, addressbook-query filters); these classes give it
our data and rules:

- `Storage`/`Collection`: read-only address books from `books` (the card
  cache through `vcards`), sync tokens from `books.remember`/`changes_since`;
  anything that would write raises, though `Rights` never lets Radicale try;
- `Auth`: only device passwords (`accounts.devices`), never a user's own;
- `Rights`: a device reads its own user's principal and books, nothing else,
  and writes nothing.

Radicale calls these inside the app context that `mount.CardDAV` opens for
each request, so they use the app's database session.
"""

import contextlib
import email.utils
import functools
from collections.abc import Iterable, Iterator

from radicale import auth, pathutils, rights, storage
from radicale import item as radicale_item

from directory.accounts.devices import authenticate_device
from directory.carddav import books, paging


class Collection(storage.BaseCollection):
    """The root, a principal (one user) or one address book."""

    def __init__(self, path: str, user=None, book: books.Book | None = None):
        self._path = path
        self._user = user
        self._book = book
        self._cards: dict[str, books.Card] | None = None

    @property
    def path(self) -> str:
        return self._path

    # --- An address book's cards, read once per request ---

    def _all(self) -> dict[str, books.Card]:
        if self._cards is None:
            self._cards = (
                {card.href: card for card in books.cards_of(self._user, self._book)}
                if self._book is not None else {}
            )  # fmt: skip
        return self._cards

    def _item(self, card: books.Card) -> radicale_item.Item:
        # `name` given: Radicale would otherwise parse each card with vobject
        # to learn it is a VCARD (1 ms a card: 100 s for a 100 000-card PROPFIND).
        return radicale_item.Item(
            collection=self, href=card.href, text=card.text, etag=card.etag,
            name="VCARD", component_name="", last_modified=self.last_modified,
        )  # fmt: skip

    def _listing(self) -> dict[str, str]:
        return {href: card.etag for href, card in self._all().items()}

    def get_all(self) -> Iterator[radicale_item.Item]:
        window = paging.window()
        if not self._large or window.size is None:  # a call tree's book, or not paged
            for card in self._all().values():
                yield self._item(card)
            return
        # The directory and `mine` in a paged answer: this call's page.
        for _href, item in self.get_multi(window.next_names(self._names)):
            if item is not None:  # gone since the names were read
                yield item

    def get_multi(self, hrefs: Iterable[str]):
        hrefs = list(hrefs)
        if self._cards is None and self._book is not None:
            # A multiget or one card: only those, not the whole book.
            cards = books.cards_named(self._user, self._book, hrefs)
        else:
            cards = self._all()
        for href in hrefs:
            card = cards.get(href)
            yield href, (self._item(card) if card is not None else None)

    def has_uid(self, uid: str) -> bool:
        return any(item.uid == uid for item in self.get_all())

    def _names(self, after: str | None, limit: int | None) -> list[str]:
        return books.names_of(self._user, self._book, after=after, limit=limit)

    @staticmethod
    def _lazily(page, names) -> Iterator[str]:
        yield from page(names)

    @property
    def _large(self) -> bool:  # the directory and `mine`: tokens from the change log
        return self._book is not None and self._book.tree_id is None

    def _large_token(self) -> str:
        """The book's token, once for every page of a paged answer."""
        window = paging.window()
        return window.once(("token", self._book.name),
                           lambda: books.large_token(self._user, self._book)[0])  # fmt: skip

    def sync(self, old_token: str = ""):
        try:
            if self._large:
                # The names are read when Radicale reads them (not for a
                # PROPFIND of the sync-token), a page of them in a paged answer.
                window = paging.window()
                if not old_token:
                    return self._large_token(), self._lazily(window.next_names, self._names)
                token, names = window.once(
                    ("changes", self._book.name, old_token),
                    lambda: books.large_changes(old_token, self._user, self._book))  # fmt: skip
                return token, self._lazily(window.page_of, names)
            listing = self._listing()
            token = books.remember(listing)
            if not old_token:
                return token, sorted(listing)
            return token, books.changes_since(old_token, listing)
        except books.InvalidToken as error:
            raise ValueError(f"unknown sync token {old_token!r}") from error

    @property
    def etag(self) -> str:  # the CTag: changes exactly when the sync token does
        if self._book is None:
            return f'"{books.token_of({})}"'
        if self._large:
            return f'"{self._large_token()}"'
        return f'"{books.token_of(self._listing())}"'

    def get_meta(self, key: str | None = None):
        meta = {}
        if self._book is not None:
            meta = {"tag": "VADDRESSBOOK", "D:displayname": self._book.title,
                    "CR:addressbook-description": self._book.description}  # fmt: skip
        return meta if key is None else meta.get(key)

    @functools.cached_property
    def last_modified(self) -> str:  # once a request, not once a card
        return email.utils.formatdate(usegmt=True)

    # --- Writes: never (Rights forbids them first; this is the second lock) ---

    def upload(self, href, item):
        raise PermissionError("read-only")

    def delete(self, href=None):
        raise PermissionError("read-only")

    def set_meta(self, props):
        raise PermissionError("read-only")


class Storage(storage.BaseStorage):
    """Paths: `/`, `/<e-mail>/` (a principal and its books' home), `/<e-mail>/<book>/<card>`."""

    def discover(self, path: str, depth: str = "0", child_context_manager=None,
                 user_groups=frozenset()):  # fmt: skip
        parts = pathutils.strip_path(path).split("/") if pathutils.strip_path(path) else []
        if not parts:
            yield Collection("")
            return
        if len(parts) > 3:
            return
        user = books.owner(parts[0])
        if user is None:
            return
        if len(parts) == 1:
            yield Collection(parts[0], user)
            if depth != "0":
                for book in books.books_of(user):
                    yield Collection(f"{parts[0]}/{book.name}", user, book)
            return
        book = books.book_named(user, parts[1])
        if book is None:
            return
        collection = Collection(f"{parts[0]}/{book.name}", user, book)
        if len(parts) == 2:
            yield collection
            if depth != "0":
                _ctag = collection.etag  # the book's token before its cards are read
                yield from collection.get_all()
            return
        item = dict(collection.get_multi([parts[2]])).get(parts[2])
        if item is not None:
            yield item

    @contextlib.contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args, **kwargs):
        # Nothing to lock: the database keeps its own consistency, and
        # Radicale never writes through this storage.
        yield

    def move(self, item, to_collection, to_href):
        raise PermissionError("read-only")

    def create_collection(self, href, items=None, props=None):
        raise PermissionError("read-only")

    def verify(self) -> bool:
        return True


class Auth(auth.BaseAuth):
    """A device password of an active user; the login is the user's e-mail."""

    def _login(self, login: str, password: str) -> str:
        device = authenticate_device(login, password)
        return device.user.email if device is not None else ""


class Rights(rights.BaseRights):
    """Read the root and one's own principal and books; write nothing, ever."""

    def authorization(self, user: str, user_groups: set, path: str) -> str:
        return _permission(user, path)


@functools.lru_cache(maxsize=1024)  # Radicale asks once for every card of a listing
def _permission(user: str, path: str) -> str:
    if not user:
        return ""
    parts = [p for p in pathutils.strip_path(path).split("/") if p]
    if not parts:
        return "R"
    if parts[0] != user:
        return ""
    return "R" if len(parts) == 1 else "r"
