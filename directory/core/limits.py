"""What a request may carry, checked before any view reads it.

- A body larger than `MAX_CONTENT_LENGTH` is refused with 413 before it is
  read into memory (Werkzeug checks the declared length, and stops reading
  a body that runs past it).
- An id in a URL beyond what the databases store (2^31 - 1 on PostgreSQL's
  integer) is a 404, not an overflow deep in a query.
- Query-string and path text with control characters or text-direction
  overrides is a 400 with the reason: a NUL byte would otherwise reach
  PostgreSQL, which refuses it with an error page. Form fields are checked
  by `forms.Form`, field by field, so the person keeps what they typed.
"""

from flask import Flask, abort, request
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from directory.core.text import unsafe_character

MAX_ID = 2**31 - 1
# A path's PACE order as files carry it (the form offers 1-99; a restore 1-9999).
MAX_PATH_ORDER = 9999


def number_from_text(text: str | None, highest: int = MAX_ID) -> int | None:
    """A whole number typed in a form, a file or an address ("12"), from 0 to
    `highest`, or None for anything else: "²" and "١٢" are digits to
    `str.isdigit` but `int` refuses the first and reads the second, and a
    number past `MAX_ID` overflows PostgreSQL's integer. Read every such
    number through here (or `id_from_text`), never with `isdigit` and `int`."""
    text = (text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(highest)):
        return None
    number = int(text)
    return number if number <= highest else None


def id_from_text(text: str | None) -> int | None:
    """An id typed in a form or a query argument ("12"), or None for anything
    else (`number_from_text`; an id is never 0)."""
    number = number_from_text(text)
    return number if number else None


class IdConverter(IntegerConverter):
    """`<int:...>` in every URL: an id that fits every database's integer,
    written one way only.

    Only the digits 0-9 (Python's `\\d` takes "١٢" too) and no leading zero:
    `/roles/0012` and `/roles/١٢` would otherwise be role 12 under another
    address, and a page kept in the cache under the id shows the address it
    was built at. A larger number still matches the rule (so the answer is
    the 404 of a missing record, not a 405 from some other rule) but is never
    looked up.
    """

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID or str(number) != value:
            raise NotFound()
        return number


def _refuse_unsafe_text():
    values = [request.path, *request.args.keys(), *request.args.values()]
    for value in values:
        code = unsafe_character(value)
        if code is not None:
            abort(400, _("The address contains an invisible character (%(code)s) that cannot "
                         "be used. Check the link or what was typed.", code=code))


def init_app(app: Flask) -> None:
    """Bounded ids in URLs, and no control characters in addresses."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_unsafe_text)
