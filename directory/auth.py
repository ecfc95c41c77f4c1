"""Sign-in and sign-out.

Failed attempts are throttled per account and per address (5 in 15 minutes);
the message for a wrong password and an unknown account is the same, and
takes the same time, so the form does not reveal who has an account.
"""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length

from .extensions import db, limiter
from .forms import Form
from .models import User, utcnow
from .security import verify_password

bp = Blueprint("auth", __name__)

LOGIN_LIMIT = "5 per 15 minutes"


class LoginForm(Form):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Sign in"))


def is_safe_next(target: str | None) -> bool:
    """Only a local path may be a redirect target (no scheme, no host)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target


def _login_failed(response) -> bool:
    """Only failed attempts count against the limit; a success redirects."""
    return response.status_code != 302


def _account_key() -> str:
    return "login-account:" + (request.form.get("email") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"], deduct_when=_login_failed, scope="login-ip")
@limiter.limit(
    LOGIN_LIMIT,
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account",
)
def login():
    """Sign in with e-mail and password."""
    next_url = request.values.get("next")
    if current_user.is_authenticated:
        return redirect(next_url if is_safe_next(next_url) else url_for("views.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(User.email == email))
        if verify_password(user, form.password.data):
            session.clear()
            session.permanent = True  # expires after SESSION_IDLE_MINUTES idle
            login_user(user)
            user.last_login_at = utcnow()
            db.session.commit()
            return redirect(next_url if is_safe_next(next_url) else url_for("views.home"))
        form.password.errors.append(_("Wrong e-mail or password."))
    status = 200 if request.method == "GET" else 401
    return render_template("auth/login.html", form=form, next=next_url), status


@bp.post("/logout")
def logout():
    """Sign out and forget the session."""
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))
