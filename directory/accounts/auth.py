"""Sign-in and sign-out.

Throttling slows a guesser down without locking anyone out (README,
Production). Only failed attempts count, in three limits:

- per account *and* address (5 in 15 minutes): a guesser elsewhere does not
  use up the attempts of the real user, and one office behind a proxy is
  not one counter for everyone in it;
- per address, loosely (50 in 15 minutes), against trying many accounts;
- a browser that signed in to the account before carries a signed "known
  device" cookie bound to the account and its current password; it skips
  the two limits above (so a correct password from it always gets in, even
  while the account is under attack from elsewhere) and has its own limit
  (10 in 15 minutes). A new password invalidates every such cookie.

The message for a wrong password and an unknown account is the same, and
takes the same time, so the form does not reveal who has an account.
"""

import hashlib

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from directory.accounts.forms import LoginForm
from directory.accounts.sessions import remember
from directory.accounts.users import SESSION_KEY, end_session, start_session
from directory.core.extensions import db, limiter
from directory.core.models import User, utcnow
from directory.core.pages import is_safe_next
from directory.core.security import verify_password

bp = Blueprint("auth", __name__)

DEVICE_COOKIE = "kv_device"


def _login_failed(response) -> bool:
    """Only failed attempts count against the limit; a success redirects."""
    return response.status_code != 302


def _posted_email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


def _pair_key() -> str:
    return f"{get_remote_address()}|{_posted_email()}"


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def _password_mark(user: User) -> str:
    """Changes whenever the password does (the hash has a fresh salt)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def known_device_cookie(user: User) -> str:
    return _device_serializer().dumps({"u": user.id, "p": _password_mark(user)})


def known_device() -> str | None:
    """The posted account, if this browser signed in to it before with its
    current password (cached per request)."""
    if "known_device" not in g:
        g.known_device = None
        raw = request.cookies.get(DEVICE_COOKIE)
        if raw:
            max_age = current_app.config.get("KNOWN_DEVICE_DAYS", 180) * 86400
            try:
                data = _device_serializer().loads(raw, max_age=max_age)
            except BadSignature:
                data = None
            ident = data.get("u") if isinstance(data, dict) else None
            try:
                user = db.session.get(User, ident) if type(ident) is int else None
            except SQLAlchemyError:  # the database is down: the view answers 503
                db.session.rollback()
                user = None
            if (user is not None and user.email == _posted_email()
                    and data.get("p") == _password_mark(user)):
                g.known_device = f"{user.id}|{raw[-16:]}"
    return g.known_device


def _not_known_device() -> bool:
    return known_device() is None


def _config_limit(name: str):
    return lambda: current_app.config[name]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _config_limit("LOGIN_LIMIT_PER_ADDRESS"),
    methods=["POST"],
    deduct_when=_login_failed,
    exempt_when=lambda: known_device() is not None,
    scope="login-address",
)
@limiter.limit(
    _config_limit("LOGIN_LIMIT_PER_ACCOUNT_AND_ADDRESS"),
    key_func=_pair_key,
    methods=["POST"],
    deduct_when=_login_failed,
    exempt_when=lambda: known_device() is not None,
    scope="login-account-address",
)
@limiter.limit(
    _config_limit("LOGIN_LIMIT_PER_KNOWN_DEVICE"),
    key_func=lambda: known_device() or "-",
    methods=["POST"],
    deduct_when=_login_failed,
    exempt_when=_not_known_device,
    scope="login-known-device",
)
def login():
    """Sign in with e-mail and password."""
    next_url = request.values.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_safe_next(next_url) else url_for("lookup.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(User.email == email))
        if verify_password(user, form.password.data):
            end_session(session.get(SESSION_KEY))
            session.clear()
            session.permanent = True  # expires after SESSION_IDLE_MINUTES idle …
            if form.remember.data:  # … or REMEMBER_DEVICE_DAYS from now
                remember(session, current_app)
            login_user(user)
            session[SESSION_KEY] = start_session(user)
            user.last_login_at = utcnow()
            db.session.commit()
            response = redirect(next_url if is_safe_next(next_url) else url_for("lookup.home"))
            response.set_cookie(
                DEVICE_COOKIE,
                known_device_cookie(user),
                max_age=current_app.config.get("KNOWN_DEVICE_DAYS", 180) * 86400,
                httponly=True,
                secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
                samesite="Lax",
            )
            return response
        form.password.errors.append(_("Wrong e-mail or password."))
    status = 200 if request.method == "GET" else 401
    return render_template("accounts/login.html", form=form, next=next_url), status


@bp.post("/logout")
def logout():
    """Sign out: this session ends on the server too, so a copy of the cookie
    no longer works."""
    end_session(session.get(SESSION_KEY))
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
