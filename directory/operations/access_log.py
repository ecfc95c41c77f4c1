"""Gunicorn's access log, without the secrets some URLs carry.

A calendar feed's URL (`/calendars/<secret>.ics`) is its key; anyone who
reads the access log could otherwise subscribe to on-call names and bridge
PINs. `RedactingLogger` (used by gunicorn.conf.py) writes such path segments
and secret-looking query parameters as `[redacted]`, in the request line,
the path, the query and the referrer.
"""

import re

from gunicorn.glogging import Logger

REDACTED = "[redacted]"
_FEED_PATH = re.compile(r"(/calendars/)[^/?#\s]+(\.ics)")
_SECRET_PARAM = re.compile(
    r"((?:^|[?&;])(?:token|secret|key|password|access_token|api_key)=)[^&;#\s]*",
    re.IGNORECASE,
)


def redact(text):
    """`text` with feed secrets and secret query values replaced."""
    if not isinstance(text, str):
        return text
    text = _FEED_PATH.sub(rf"\g<1>{REDACTED}\g<2>", text)
    return _SECRET_PARAM.sub(rf"\g<1>{REDACTED}", text)


class RedactingLogger(Logger):
    """Gunicorn's logger; the access log's URL atoms are redacted."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U", "q", "f", "{referer}i"):
            if name in atoms:
                atoms[name] = redact(atoms[name])
        return atoms
