"""Who may see and change what, in one place.

Every page needs sign-in except the few listed in PUBLIC_ENDPOINTS. The JSON
API answers 401 as JSON instead of redirecting. `can_edit(user, entry)` is the
one rule for changes: admins edit everything; editors edit what belongs to
the actors assigned to them; viewers edit nothing. `get_for_edit()` loads an
entry and answers 404 or 403, so views never compare ids themselves.

A streamed answer (the whole-directory exports) runs after its request has
finished and its database session is gone, so it must not read the user
object: a view takes a `Reader` (`reader_of(current_user)`) while the request
is alive, and the stream reads only that. Every rule here accepts either.
"""

import logging
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, abort, current_app, g, jsonify, redirect, request, session, url_for
from flask.logging import default_handler
from flask_login import current_user
from sqlalchemy import inspect, select
from werkzeug.security import check_password_hash, generate_password_hash

from directory.core.extensions import db, limiter, login_manager
from directory.core.models import Actor, LoginSession, User, UserActor, UserRole

# The calendar feed is read by calendar apps with a secret token in its URL.
PUBLIC_ENDPOINTS = frozenset(
    {"auth.login", "lookup.healthz", "lookup.set_language", "static", "phones.calendar_feed"}
)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Compared against when an e-mail is unknown, so a failed sign-in takes as long
# whether or not the account exists.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

T = TypeVar("T")


def hash_password(password: str) -> str:
    """A salted scrypt hash (Werkzeug's default KDF)."""
    return generate_password_hash(password, method="scrypt")


def verify_password(user: User | None, password: str) -> bool:
    """Check a password in constant work, whether or not the user exists."""
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


@dataclass(frozen=True)
class Reader:
    """A user's rights as they are at one moment: what a stream may rely on.

    Plain values only (no ORM object), so it can be read after the request's
    session has ended. It answers the rules below exactly as the user would.
    """

    id: int | None
    role: UserRole | None
    active: bool
    editable: frozenset[int]
    viewers_see_confidential: bool

    @property
    def is_authenticated(self) -> bool:
        return self.id is not None


def reader_of(user) -> Reader:
    """The rights of a user (signed in or not, active or not) taken now."""
    from directory.core.settings import VIEWERS_SEE_CONFIDENTIAL, get_setting

    if isinstance(user, Reader):
        return user
    if not (user and user.is_authenticated):
        return Reader(None, None, False, frozenset(), False)
    return Reader(
        id=user.id,
        role=UserRole(user.role),
        active=bool(user.active),
        editable=editable_actor_ids(user),
        viewers_see_confidential=bool(get_setting(VIEWERS_SEE_CONFIDENTIAL)),
    )


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.role == UserRole.ADMIN)


def editable_actor_ids(user) -> frozenset[int]:
    """The actors whose entries an editor may change (cached per request)."""
    if not (user and user.is_authenticated) or user.role != UserRole.EDITOR:
        return frozenset()
    if isinstance(user, Reader):
        return user.editable
    cache = g.setdefault("_editable_actor_ids", {})
    if user.id not in cache:
        if "actors" in inspect(user).unloaded:  # the ids alone, not whole actors
            cache[user.id] = frozenset(db.session.scalars(
                select(UserActor.actor_id).where(UserActor.user_id == user.id)))
        else:
            cache[user.id] = frozenset(actor.id for actor in user.actors)
    return cache[user.id]


def can_edit(user, entry) -> bool:
    """May this user change this entry? The one rule of the whole app.

    An entry names the actor it belongs to through `owning_actor_id`; regional
    entries (None) belong to the coordinators.
    """
    if not (user and user.is_authenticated and user.active):
        return False
    if user.role == UserRole.ADMIN:
        return True
    actor_id = getattr(entry, "owning_actor_id", None)
    return actor_id is not None and actor_id in editable_actor_ids(user)


def can_edit_escalation(user, role) -> bool:
    """May this user change a role's escalation ("no answer within N min → ...")?

    The role's editors (and coordinators): the steps belong to the role, so the
    one rule above decides. Where the steps point (another actor's role, a
    person, a switchboard) needs no right over that target: it is only read.
    """
    return can_edit(user, role)


def can_run_callout(user, callout) -> bool:
    """May this user mark the steps of a call-out and close it? Whoever may change its tree."""
    return can_edit(user, callout)


def can_mark_tested(user, point) -> bool:
    """May this user record "tested, works" or "failed" on a contact path?

    The same rule as changing the path: its actor's editors and admins. A
    duty officer's call-out records its outcome through the call-out, not here.
    """
    return can_edit(user, point)


def may_create_anything(user) -> bool:
    """May this user create a call tree or a collaboration pattern at all?

    The same rule the "new" views apply: an admin may (regional entries are
    theirs), an editor when at least one live actor is assigned to them, so
    pages offer "New ..." only to someone who would not meet a 403.
    """
    if not (user and user.is_authenticated and user.active):
        return False
    if user.role == UserRole.ADMIN:
        return True
    ids = editable_actor_ids(user)
    if not ids:
        return False
    return db.session.scalar(
        select(Actor.id).where(Actor.id.in_(ids), Actor.deleted_at.is_(None)).limit(1)
    ) is not None

def may_see(user, point) -> bool:
    """May this user see this contact path? Confidential ones are limited.

    Admins and editors of the owning actor always may; anyone else only when
    the coordinators allow viewers to see confidential numbers.
    """
    if not point.confidential:
        return True
    if not (user and user.is_authenticated):
        return False
    if user.role == UserRole.ADMIN:
        return True
    editable = editable_actor_ids(user)
    if editable and point.owning_actor_id in editable:  # whose path: asked of editors only
        return True
    if isinstance(user, Reader):
        return user.viewers_see_confidential
    from directory.core.settings import VIEWERS_SEE_CONFIDENTIAL, get_setting

    return bool(get_setting(VIEWERS_SEE_CONFIDENTIAL))


def visible(points, user=None) -> list:
    """The paths of `points` this user may see."""
    user = current_user if user is None else user
    return [p for p in points if may_see(user, p)]


def get_or_404(model: type[T], ident) -> T:
    """Load a live (not deleted) entry or answer 404."""
    entry = db.session.get(model, ident)
    if entry is None or getattr(entry, "deleted_at", None) is not None:
        abort(404)
    return entry


def get_for_edit(model: type[T], ident, *, include_deleted: bool = False) -> T:
    """Load an entry the current user may change, or answer 404/403."""
    entry = db.session.get(model, ident)
    if entry is None or (
        not include_deleted and getattr(entry, "deleted_at", None) is not None
    ):
        abort(404)
    if not can_edit(current_user, entry):
        abort(403)
    return entry


def require_may_place_under(actor_id: int | None, *, regional: bool = False) -> None:
    """403 unless the user may put a new entry under this actor.

    With `regional`, no actor means a regional entry: the coordinators' (admins').
    """
    actor = db.session.get(Actor, actor_id) if actor_id else None
    if actor is None:
        if regional and is_admin(current_user):
            return
        abort(403)
    if not can_edit(current_user, actor):
        abort(403)


def require_admin() -> None:
    if not is_admin(current_user):
        abort(403)


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The user of a session cookie, if its server-side record is still live.

    A cookie whose sign-in was ended (logout, password change, deactivation)
    signs nobody in, even when someone kept a copy of it.
    """
    try:
        ident = int(user_id)
    except (TypeError, ValueError):
        return None
    # One statement for both: every signed-in request asks it.
    return db.session.scalar(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == ident, User.active.is_(True),
               LoginSession.id == str(session.get("login_session") or ""),
               LoginSession.ended_at.is_(None))
    )


def _wants_json() -> bool:
    return request.path.startswith("/api/")


@login_manager.unauthorized_handler
def _unauthorized():
    if _wants_json():
        response = jsonify(
            type="about:blank", title="Unauthorized", status=401,
            detail="Sign in or send a valid bearer token.",
        )
        response.status_code = 401
        response.mimetype = "application/problem+json"
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _require_login():
    # Unknown paths too: an anonymous visitor learns nothing about which exist.
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint not in ("static",):
        response.headers.setdefault("Cache-Control", "no-store")
    hsts = current_app.config.get("HSTS_SECONDS", 0)
    if hsts:
        response.headers.setdefault(
            "Strict-Transport-Security", f"max-age={hsts}; includeSubDomains"
        )
    return response


def init_limiter(app: Flask) -> None:
    """Bind the one Limiter to this app, and make its complaints heard.

    Flask-Limiter keeps some settings of the first app it was bound to; the
    tests make an app per test, each with its own store and key prefix.
    Its log (the store is down, counting in memory) goes where the app's goes.
    """
    limiter._key_prefix = ""
    limiter._storage_options = {}
    limiter._storage_dead = False
    limiter.init_app(app)
    if default_handler not in limiter.logger.handlers:
        limiter.logger.addHandler(default_handler)
    limiter.logger.setLevel(logging.WARNING)


def rate_limit_store_ok() -> bool:
    """Does the limiter's store (Redis in production) answer?"""
    try:
        return bool(limiter.storage.check())
    except Exception:  # any failure to reach it is "unavailable"
        return False


def init_app(app: Flask) -> None:
    """Sign-in required everywhere by default; security headers on every answer."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    init_limiter(app)
    app.before_request(_require_login)
    app.after_request(_security_headers)
