"""The session cookie: idle expiry, or a fixed period on a remembered device.

A sign-in normally lasts until `SESSION_IDLE_MINUTES` without a request
(the cookie's signature carries its time; Flask refuses an older one). A
duty officer who ticks "remember this device" keeps the sign-in for
`REMEMBER_DEVICE_DAYS` from that moment instead, so a phone used at 03:00
once a month need not sign in again. Either way the sign-in is a row in
`login_session`, checked on every request: logout, a new password and
deactivation end it, whatever the cookie says.
"""

import time
from datetime import UTC, datetime

from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

# Where a remembered sign-in keeps the end of its period (seconds since the epoch).
REMEMBER_UNTIL = "remember_until"


def remember_seconds(app) -> int:
    return int(app.config.get("REMEMBER_DEVICE_DAYS", 0)) * 86400


class DeviceSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with a longer life for a remembered device."""

    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        raw = request.cookies.get(self.get_cookie_name(app))
        if not raw:
            return self.session_class()
        idle = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer.loads(raw, max_age=max(idle, remember_seconds(app)))
            until = data.get(REMEMBER_UNTIL)
            remembered = isinstance(until, int) and time.time() < until <= (
                time.time() + remember_seconds(app))
            if not remembered:
                data.pop(REMEMBER_UNTIL, None)
                serializer.loads(raw, max_age=idle)  # an ordinary sign-in: idle expiry
        except BadSignature:
            return self.session_class()
        return self.session_class(data)

    def get_expiration_time(self, app, session):
        until = session.get(REMEMBER_UNTIL)
        if session.permanent and isinstance(until, int):
            return datetime.fromtimestamp(until, UTC)
        return super().get_expiration_time(app, session)


def remember(session, app) -> None:
    """Keep this sign-in on this device for the configured period from now."""
    if remember_seconds(app):
        session[REMEMBER_UNTIL] = int(time.time()) + remember_seconds(app)
