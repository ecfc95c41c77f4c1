"""A large address book answered a page at a time, in one streamed answer.

Radicale builds each answer whole: an XML tree, then its bytes. A phone's
first sync of the directory (a PROPFIND of every ETag, a sync-collection
from no token, a multiget of every card) would make the worker that answers
hold hundreds of MB at 100 000 cards, and keep much of it. So `mount` hands
those requests here when they carry a live device password (anything else
is Radicale's to refuse, unread), and Radicale answers them in pages of
`CARDDAV_PAGE_CARDS` cards, each in an app context of its own:

- a multiget: its hrefs are read from the body as a stream and sent to
  Radicale as multigets of that many;
- a PROPFIND below Depth 0, a sync-collection, an addressbook-query or a
  GET of the book (its cards in one file): the same request again with a
  `Window` in `g`, from which the storage
  (`plugins.Collection`) lists only the next page of a large book
  (`books.names_of(after=..., limit=...)`). The book's sync token and CTag
  are worked out once for all pages, before any card is read, so a change
  made meanwhile is at worst sent twice, never missed.

The first page is answered before the status goes out: a refusal, a 401 or
a bad request is Radicale's own answer. When it is the only page, it goes out
as Radicale gave it. Otherwise the pages' responses are joined into one
multistatus (a GET's cards one after the other) and streamed (gzip when the
client accepts it), with the book's own response and the sync token once.
A page that fails after the first ends the stream without closing the
multistatus, so a client sees a broken answer, never a cut listing it would
take for the whole book.
"""

import io
import re
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from flask import g
from radicale import pathutils

DAV = "{DAV:}"
MULTIGET = "{urn:ietf:params:xml:ns:carddav}addressbook-multiget"
_ROOT = re.compile(rb"\A(?:<\?xml[^>]*\?>\s*)?<multistatus(\s[^>]*?)?\s*(/?)>")
_XMLNS = re.compile(rb'(xmlns(?::[\w.-]+)?)\s*=\s*"([^"]*)"')
_OWN = re.compile(rb"\A<response><href>([^<]*)</href>")
_MULTIGET_HEAD = (b'<?xml version="1.0" encoding="utf-8"?>\n<CR:addressbook-multiget '
                  b'xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">')  # fmt: skip
_MULTIGET_TAIL = b"</CR:addressbook-multiget>"


@dataclass
class Window:
    """The page of a large book that one Radicale call lists (`size` None: all of it)."""

    size: int | None = None
    after: str | None = None  # the last card name of the page before
    offset: int = 0  # how much of a list known whole earlier pages gave
    more: bool = False  # the storage saw names beyond this page
    kept: dict = field(default_factory=dict)  # worked out once for every page
    page: list[str] | None = None  # this call's page, however often Radicale asks

    def begin(self) -> None:
        """A new Radicale call: the next page."""
        self.page = None

    def next_names(self, read: Callable[[str | None, int | None], list[str]]) -> list[str]:
        """This call's page of a book read in order by `read(after, limit)`."""
        if self.page is None:
            if self.size is None:
                self.page = read(None, None)
            else:
                names = read(self.after, self.size + 1)
                self.more = len(names) > self.size
                self.page = names[: self.size]
                if self.page:
                    self.after = self.page[-1]
        return self.page

    def page_of(self, names: list[str]) -> list[str]:
        """This call's page of a list known whole (the cards changed since a token)."""
        if self.page is None:
            if self.size is None:
                self.page = names
            else:
                self.page = names[self.offset:self.offset + self.size]
                self.offset += len(self.page)
                self.more = self.offset < len(names)
        return self.page

    def once(self, key, make: Callable):
        if key not in self.kept:
            self.kept[key] = make()
        return self.kept[key]


def window() -> Window:
    """The window of this Radicale call; outside `answer`, the whole book."""
    if "carddav_window" not in g:
        g.carddav_window = Window()
    return g.carddav_window


def pageable(environ) -> bool:
    """A request that may read a whole book: a REPORT, a PROPFIND below
    Depth 0, or a GET (or HEAD) of an address book (`/<principal>/<book>/`)."""
    parts = [p for p in environ.get("PATH_INFO", "").split("/") if p]
    if len(parts) != 2 or environ.get("HTTP_CONTENT_ENCODING", "identity") != "identity":
        return False
    method = environ.get("REQUEST_METHOD", "").upper()
    if method == "PROPFIND":
        return environ.get("HTTP_DEPTH", "0") != "0"  # Radicale's default is 0
    return method in ("REPORT", "GET", "HEAD")  # a GET of a book: every card, one file


# A call of Radicale for one page: (request body, its content type, or None for
# the request's own, window) -> (status, headers, body).
Call = Callable[[bytes, str | None, Window], tuple[str, list[tuple[str, str]], bytes]]
PART_TYPE = "application/xml; charset=utf-8"  # a multiget's parts, as written here
ASKED_LIMIT = 64 * 1024  # the properties a multiget asks for, repeated in each part


class PageFailed(RuntimeError):
    """A page after the first was not answered as the first was (207, or 200 for
    a GET): the stream is cut short."""


class NotPaged(ValueError):
    """A multiget that is not XML, or not in RFC 6352's order (the properties
    asked for, then the hrefs): Radicale answers it whole, or refuses it, when
    this is found in the first two parts; later, the stream is cut short."""


def answer(call: Call, environ, body: bytes, size: int):
    """(status, headers, body iterable) for a pageable request, in pages of `size` cards."""
    gzip = "gzip" in (e.strip() for e in environ.get("HTTP_ACCEPT_ENCODING", "").split(","))
    book = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "").upper()
    whole_book = method in ("GET", "HEAD")  # the cards themselves, one after the other
    try:
        calls = _calls(body, max(1, size), pathutils.sanitize_path(book))
        status, headers, first = call(*next(calls))
        later = next(calls, None) if status.startswith("200" if whole_book else "207") else None
    except NotPaged:  # nothing has gone out: the request as it came
        status, headers, first = call(body, None, Window())
        later = None
    if method == "HEAD" and later is not None:  # the length is not known ahead
        return status, _without(headers, "content-length"), [b""]
    if later is None:  # one page: Radicale's answer as it is
        if gzip and first:
            first = _gzip([first])
            headers = _without(headers, "content-length", "content-encoding")
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding"),
                        ("Content-Length", str(len(first)))]  # fmt: skip
        return status, headers, [first]
    headers = _without(headers, "content-length", "content-encoding")
    if gzip:
        headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
    if whole_book:
        stream = _concatenated(call, first, _chain(later, calls))
    else:
        stream = _joined(call, first, _chain(later, calls), propfind=method == "PROPFIND")
    return status, headers, (_gzip_stream(stream) if gzip else stream)


def _calls(body: bytes, size: int, book: str) -> Iterator[tuple[bytes, str | None, Window]]:
    """The pages' requests: a multiget in parts, or the same request over a moving window."""
    parts = _multiget_parts(body, size, book)
    if parts is not None:
        for part in parts:
            # Bounded, should Radicale list the book for a part.
            yield part, PART_TYPE, Window(size)
        return
    window = Window(size)
    yield body, None, window
    while window.more:  # read after the call before: the storage sets it
        yield body, None, window


def _chain(first, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _multiget_parts(body: bytes, size: int, book: str) -> Iterator[bytes] | None:
    """A multiget's hrefs as multigets of at most `size`, read as a stream; None
    for any other request (Radicale reads it whole, and reports its errors)."""
    events = SafeET.iterparse(io.BytesIO(body), events=("start", "end"))
    try:
        _event, root = next(events)
    except (ET.ParseError, StopIteration, ValueError):
        return None
    if root.tag != MULTIGET:
        return None
    return _parts(events, root, size, book)


def _parts(events, root, size: int, book: str) -> Iterator[bytes]:
    asked: list[bytes] = []  # the prop (or allprop, propname) element, as given
    hrefs: list[bytes] = []
    depth, given = 1, False
    try:
        for event, element in events:
            depth += 1 if event == "start" else -1
            if event == "start" or depth != 1:
                continue
            if element.tag != DAV + "href":
                if hrefs or given or sum(map(len, asked)) > ASKED_LIMIT:
                    raise NotPaged("properties after hrefs, or too many")
                asked.append(ET.tostring(element))
            elif not asked:
                raise NotPaged("hrefs before the properties asked for")
            elif _names_a_card(element.text or "", book):
                hrefs.append(b"<D:href>" + escape(element.text or "").encode() + b"</D:href>")
            root.clear()  # what was read is let go
            if len(hrefs) == size:
                yield _MULTIGET_HEAD + b"".join(asked) + b"".join(hrefs) + _MULTIGET_TAIL
                hrefs, given = [], True
    except NotPaged:
        raise
    except (ET.ParseError, ValueError) as error:  # not XML, or refused by defusedxml
        raise NotPaged(str(error)) from error
    if hrefs or not given:
        yield _MULTIGET_HEAD + b"".join(asked) + b"".join(hrefs) + _MULTIGET_TAIL


def _names_a_card(href: str, book: str) -> bool:
    """Whether an href names something in the book, not the book itself (for
    which Radicale would list the whole book in every part), read as Radicale
    reads it."""
    return pathutils.sanitize_path(unquote(urlparse(href).path)) != book


def _split(page: bytes) -> tuple[bytes, bytes, bytes]:
    """(the head up to the multistatus start tag, its attributes, what it holds)."""
    match = _ROOT.match(page)
    if match is None:
        raise PageFailed("a page is not a multistatus")
    if match[2]:  # <multistatus ... />: nothing in it
        return page[:match.start(2)].rstrip() + b">", match[1] or b"", b""
    return page[:match.end()], match[1] or b"", page[match.end():page.rindex(b"</multistatus>")]


def _joined(call: Call, first: bytes, calls: Iterable[tuple[bytes, str | None, Window]], *,
            propfind: bool) -> Iterator[bytes]:
    head, attributes, inner = _split(first)
    own = _OWN.match(inner) if propfind else None  # the book's own response comes first
    own_href = own[1] if own else None
    yield head + inner
    for request, content_type, window in calls:
        status, _headers, page = call(request, content_type, window)
        if not status.startswith("207"):
            raise PageFailed(f"a later page was answered {status}")
        yield _later(page, attributes, own_href)
    yield b"</multistatus>"


def _concatenated(call: Call, first: bytes,
                  calls: Iterable[tuple[bytes, str | None, Window]]) -> Iterator[bytes]:
    """A book's cards, page after page (a GET of the book)."""
    yield first
    for request, content_type, window in calls:
        status, _headers, page = call(request, content_type, window)
        if not status.startswith("200"):
            raise PageFailed(f"a later page was answered {status}")
        yield page


def _later(page: bytes, attributes: bytes, own_href: bytes | None) -> bytes:
    """A later page's responses, without the book's own response and the sync
    token, which the first page gave."""
    _head, these, inner = _split(page)
    if _declared(these).items() <= _declared(attributes).items():
        # Every prefix it uses means the same in the first page's multistatus
        # (often it is the same start tag): its bytes as they are.
        if inner.startswith(b"<sync-token>"):
            inner = inner.partition(b"</sync-token>")[2]
        if own_href is not None and inner.startswith(b"<response><href>" + own_href + b"</href>"):
            inner = inner.partition(b"</response>")[2]
        return inner
    # A prefix the first page did not declare (say, that page found only
    # unknown cards): each response serialized on its own, declaring its own.
    own_text = own_href.decode() if own_href is not None else None
    return b"".join(
        ET.tostring(child) for child in SafeET.fromstring(page)
        if child.tag != DAV + "sync-token"
        and not (child.tag == DAV + "response" and own_text is not None
                 and child.findtext(DAV + "href") == own_text)
    )  # fmt: skip


def _declared(attributes: bytes) -> dict[bytes, bytes]:
    """{xmlns or xmlns:prefix: namespace} of a start tag's attributes."""
    return dict(_XMLNS.findall(attributes))


def _without(headers, *names: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in names]


def _gzip(chunks: Iterable[bytes]) -> bytes:
    return b"".join(_gzip_stream(chunks))


def _gzip_stream(chunks: Iterable[bytes]) -> Iterator[bytes]:
    encoder = zlib.compressobj(wbits=31)  # a gzip member
    for chunk in chunks:
        data = encoder.compress(chunk)
        if data:
            yield data
    yield encoder.flush()
