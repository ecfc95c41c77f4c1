"""Radicale mounted beside the Flask app: /dav/ and /.well-known/carddav.

`CardDAV` is a WSGI middleware around the app's own `wsgi_app`:

- `/.well-known/carddav` (any method) answers 301 to `/dav/`, where clients
  find the current user's principal and address-book home (RFC 6764);
- `/dav/...` goes to Radicale, configured with this package's plugins, inside
  an app context (the plugins use the app's database session); failed
  sign-ins are throttled with the sign-in form's limits, and a write answers
  403 with a sentence saying that editing happens in the app;
- everything else goes to Flask.

Radicale builds each answer whole before returning it, so the app context
can close as soon as Radicale returns. A request that may list a whole book
is answered a page at a time (`paging`), each page in its own app context.
"""

import base64
import binascii
import io
import xml.etree.ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET
from flask import Flask, g
from flask_babel import gettext as _
from radicale import Application
from radicale import config as radicale_config

from directory.accounts.devices import authenticate_device, count_failure, throttled
from directory.carddav import paging

PREFIX = "/dav"
WELL_KNOWN = "/.well-known/carddav"
XML_METHODS = frozenset({"PROPFIND", "REPORT", "PROPPATCH", "MKCOL", "MKCALENDAR"})
MAX_XML_DEPTH = 32  # a CardDAV request nests a handful of levels
DAV_HREF = "{DAV:}href"
WRITE_METHODS = frozenset({"PUT", "DELETE", "MKCOL", "MKCALENDAR", "PROPPATCH", "MOVE",
                           "COPY", "POST", "LOCK", "UNLOCK"})  # fmt: skip


def _body_limit(app: Flask, method: str) -> int:
    """The largest body a /dav/ request may send: a REPORT (a whole book's
    multiget at a first sync) more than anything else."""
    limit = app.config.get("MAX_CONTENT_LENGTH") or 1 << 20
    if method == "REPORT":
        return max(limit, app.config.get("CARDDAV_MAX_REPORT_BYTES") or 0)
    return limit


def radicale_app(app: Flask) -> Application:
    limit = app.config.get("MAX_CONTENT_LENGTH") or 1 << 20
    reports = _body_limit(app, "REPORT")
    configuration = radicale_config.load()
    configuration.update({
        "auth": {"type": "directory.carddav.plugins", "delay": "0",
                 "realm": "Kontaktvägar"},
        "rights": {"type": "directory.carddav.plugins",
                   "permit_delete_collection": "False",
                   "permit_overwrite_collection": "False"},
        "storage": {"type": "directory.carddav.plugins"},
        "web": {"type": "none"},
        "hook": {"type": "none"},
        "server": {"max_content_length": str(reports),
                   "max_resource_size": str(limit * 8 // 10)},
        "logging": {"level": "warning", "mask_passwords": "True"},
    }, "kontaktvagar", privileged=True)  # fmt: skip
    return Application(configuration)


def _basic_credentials(environ) -> tuple[str, str]:
    """(user name, password) of a Basic Authorization header (not checked), or ('', '').

    Read as Radicale reads them: UTF-8, else ISO-8859-1 (what some Android
    HTTP clients send for a name with "ö")."""
    scheme, _sep, value = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return "", ""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("iso-8859-1")
    login, _sep, password = decoded.partition(":")
    return login, password


def _basic_login(environ) -> str:
    return _basic_credentials(environ)[0]


def _malformed_basic(environ) -> bool:
    """An Authorization header Radicale would fail on (and answer 500): "Basic"
    without base64 of "login:password" (its text in any encoding: Radicale
    falls back to ISO-8859-1, which reads every byte)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if not authorization.startswith("Basic"):  # as Radicale tells it
        return False
    try:
        decoded = base64.b64decode(authorization[len("Basic"):].strip().encode("ascii"))
    except (binascii.Error, ValueError):
        return True
    return b":" not in decoded


def _xml_problem(method: str, body: bytes) -> bool:
    """Whether a request body is XML that Radicale would fail on with a 500
    rather than answer: a DOCTYPE (entities are refused), nesting
    deeper than any CardDAV request, a PROPFIND that names nothing, or a
    multiget with an empty href. Read as a stream, each element let go once
    read: a whole book's multiget is a hundred thousand hrefs."""
    depth, named, root = 0, 0, None
    try:
        for event, element in SafeET.iterparse(io.BytesIO(body), events=("start", "end"),
                                                forbid_dtd=True):
            if event == "start":
                depth += 1
                if depth > MAX_XML_DEPTH:
                    return True
                if depth == 1:
                    root = element
                elif depth == 2:
                    named += 1
                continue
            depth -= 1
            if element.tag == DAV_HREF and not (element.text or "").strip():
                return True
            if depth == 1:
                root.clear()  # what the root's children held is read
    except defusedxml.DefusedXmlException:
        return True
    except (ET.ParseError, ValueError):
        # Not XML to expat, which reads bytes without a declared encoding as
        # UTF-8; Radicale decodes them as the request's charset says, else
        # UTF-8, else ISO-8859-1, and answers what it cannot parse with 400.
        return False
    return method == "PROPFIND" and named == 0


def _plain(start_response, status: str, text: str, headers=()) -> list[bytes]:
    body = (text + "\n").encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body))), *headers])  # fmt: skip
    return [body]


class CardDAV:
    """Dispatch /dav/ to Radicale and the rest to Flask (see the module's docstring)."""

    def __init__(self, app: Flask, flask_wsgi):
        self.app = app
        self.flask_wsgi = flask_wsgi
        self.radicale = radicale_app(app)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") == WELL_KNOWN:
            root = environ.get("SCRIPT_NAME", "").rstrip("/")
            start_response("301 Moved Permanently",
                           [("Location", f"{root}{PREFIX}/"), ("Content-Length", "0")])
            return [b""]
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return self.flask_wsgi(environ, start_response)
        environ = dict(environ)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + PREFIX
        environ["PATH_INFO"] = path[len(PREFIX):] or "/"
        with self.app.app_context():
            refusal = self._refusal(environ)
            paged = False
            if refusal is None:
                refusal, paged = self._checked(environ)
        if refusal is not None:
            return _plain(start_response, *refusal)
        if paged:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            size = self.app.config["CARDDAV_PAGE_CARDS"]
            status, headers, answer = paging.answer(self._page_call(environ), environ, body, size)
        else:
            with self.app.app_context():
                status, headers, answer = self._call(environ)
        return self._respond(environ, start_response, status, headers, answer)

    def _refusal(self, environ) -> tuple | None:
        """(status, text, headers) when the request is refused before Radicale sees it."""
        address = environ.get("REMOTE_ADDR", "")
        login = _basic_login(environ)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if length < 0 or length > _body_limit(self.app, method):  # Radicale reads it whole
            return "413 Request Entity Too Large", _("The request is too large."), ()
        if login and throttled(address, login):
            return ("429 Too Many Requests",
                    _("Too many failed sign-ins. Wait a few minutes and try again."),
                    [("Retry-After", "900")])  # fmt: skip
        return None

    def _checked(self, environ) -> tuple[tuple | None, bool]:
        """(a refusal or None, whether to answer in pages) for a request Radicale
        would fail on: a broken Basic header (401, as for a wrong password), or,
        from someone signed in, a body it cannot walk (400). Only then is a
        body read here (and put back for Radicale): someone not signed in is
        refused by Radicale before it reads one."""
        if _malformed_basic(environ):
            return ("401 Unauthorized",
                    _("Sign in with your e-mail address and a device password."),
                    [("WWW-Authenticate", 'Basic realm="Kontaktvägar", charset="UTF-8"')]), False
        method = environ.get("REQUEST_METHOD", "GET").upper()
        length = int(environ.get("CONTENT_LENGTH") or 0)  # checked by `_refusal`
        has_xml = method in XML_METHODS and length > 0
        pageable = paging.pageable(environ)
        if not (has_xml or pageable) or not self._signed_in(environ):
            return None, False
        if has_xml:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            if body.strip() and _xml_problem(method, body):
                return ("400 Bad Request", _("The request's XML cannot be read."), ()), False
        return None, pageable

    def _signed_in(self, environ) -> bool:
        """Whether the request carries a live device password (checked again by
        Radicale): only then is its body read here, to be answered in pages."""
        login, password = _basic_credentials(environ)
        return bool(login) and authenticate_device(login, password) is not None

    def _call(self, environ):
        """Radicale's answer: (status, headers, body), inside the caller's app context."""
        seen = {}

        def capture(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return lambda data: None  # Radicale returns its body; it never writes

        body = self.radicale(environ, capture)
        return seen["status"], seen["headers"], body

    def _page_call(self, environ) -> paging.Call:
        """One page of a paged answer: Radicale in an app context of its own."""
        base = {k: v for k, v in environ.items() if k != "HTTP_ACCEPT_ENCODING"}

        def call(body: bytes, content_type: str | None, window: paging.Window):
            page = {**base, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
            if content_type is not None:
                page["CONTENT_TYPE"] = content_type
            window.begin()
            with self.app.app_context():
                g.carddav_window = window
                status, headers, chunks = self._call(page)
                return status, headers, b"".join(chunks)

        return call

    def _respond(self, environ, start_response, status, headers, answer):
        code = int(status.split()[0])
        method = environ.get("REQUEST_METHOD", "GET").upper()
        login = _basic_login(environ)
        if code == 401 and login:
            with self.app.app_context():
                count_failure(environ.get("REMOTE_ADDR", ""), login)
        if code == 403 and method in WRITE_METHODS:
            with self.app.app_context():
                text = _("This address book is read-only: numbers are changed in "
                         "Kontaktvägar itself, and phones get the change at their "
                         "next sync.")  # fmt: skip
            return _plain(start_response, "403 Forbidden", text)
        start_response(status, headers)
        return answer


def init_app(app: Flask) -> None:
    """Serve CardDAV beside the app, on the same address.

    Inside ProxyFix when the app sits behind proxies, so throttling sees the
    client's address, not the proxy's.
    """
    from werkzeug.middleware.proxy_fix import ProxyFix

    if isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app.app = CardDAV(app, app.wsgi_app.app)
    else:
        app.wsgi_app = CardDAV(app, app.wsgi_app)
