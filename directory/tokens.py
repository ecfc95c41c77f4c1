"""Personal API tokens: made, shown once, stored hashed, revoked.

A token is a random secret (`kv_` + 43 URL-safe characters, 256 bits). Only
its SHA-256 is kept: a token is as strong as a long random password, so a
fast hash is enough, and it makes each request's look-up one indexed
equality. Who holds the secret acts as its user, with that user's rights, for
as long as the user is active and the token is not revoked.

Each user manages their own tokens on one page; `flask tokens` does the same
for an operator (create for a given e-mail, list, revoke).
"""

import hashlib
import secrets
from datetime import timedelta

import click
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from .extensions import db
from .forms import ConfirmForm, Form
from .models import AccessToken, TokenKind, User, utcnow

PREFIX = "kv_"
# `last_used_at` is written at most this often, so reads stay reads.
LAST_USED_GRANULARITY = timedelta(minutes=1)
MAX_TOKENS_PER_USER = 20


class TokenError(ValueError):
    """A token that cannot be made; the message says why."""


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_token(user: User, name: str) -> tuple[AccessToken, str]:
    """Make a token for `user`; returns it and the secret, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise TokenError(_l("Give the token a name, so you know later what uses it."))
    if len(active_api_tokens(user)) >= MAX_TOKENS_PER_USER:
        raise TokenError(
            _l("You have %(count)d tokens; revoke one you no longer use first.",
               count=MAX_TOKENS_PER_USER)
        )
    secret = PREFIX + secrets.token_urlsafe(32)
    token = AccessToken(
        user_id=user.id, kind=TokenKind.API, name=name[:200], token_hash=hash_token(secret)
    )
    db.session.add(token)
    db.session.flush()
    current_app.logger.info("API token %s created for user %s", token.id, user.id)
    return token, secret


def revoke(token: AccessToken) -> None:
    """Stop a token from working (kept, so its owner sees when it was revoked)."""
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.flush()
        current_app.logger.info("API token %s of user %s revoked", token.id, token.user_id)


def api_tokens(user: User) -> list[AccessToken]:
    """A user's API tokens, newest first, revoked ones included."""
    return db.session.scalars(
        select(AccessToken)
        .where(AccessToken.user_id == user.id, AccessToken.kind == TokenKind.API)
        .order_by(AccessToken.created_at.desc(), AccessToken.id.desc())
    ).all()


def active_api_tokens(user: User) -> list[AccessToken]:
    return [t for t in api_tokens(user) if t.revoked_at is None]


def bearer_secret(header: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, else None."""
    scheme, _sep, secret = (header or "").strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    return secret


def authenticate(header: str | None) -> AccessToken | None:
    """The live API token named by an Authorization header, its use noted."""
    secret = bearer_secret(header)
    if secret is None:
        return None
    token = db.session.scalar(
        select(AccessToken).where(
            AccessToken.token_hash == hash_token(secret), AccessToken.kind == TokenKind.API
        )
    )
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        token.last_used_at = now
        db.session.commit()  # the start of a request: nothing else is pending
    return token


# --- The page where a user manages their own tokens --------------------------

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class TokenForm(Form):
    name = StringField(_l("What will use it?"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Create token"))


def _page(form: TokenForm, secret: str | None = None, created: AccessToken | None = None,
          status: int = 200):
    return (
        render_template(
            "tokens/index.html",
            form=form,
            tokens=api_tokens(current_user),
            secret=secret,
            created=created,
        ),
        status,
    )


@bp.get("")
def index():
    """Your API tokens: create one, see when each was last used, revoke."""
    return _page(TokenForm())


@bp.post("")
def create():
    """Create an API token and show its secret, this once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=422)
    try:
        token, secret = create_api_token(current_user, form.name.data)
    except TokenError as error:
        form.name.errors.append(str(error))
        return _page(form, status=422)
    db.session.commit()
    # The secret is in this answer only: not flashed, so it never sits in the
    # session cookie.
    return _page(TokenForm(formdata=None), secret=secret, created=token, status=201)


@bp.post("/<int:token_id>/revoke")
def revoke_own(token_id):
    """Revoke one of your API tokens."""
    token = db.session.get(AccessToken, token_id)
    # Another user's token is "not found": its existence is not theirs to learn.
    if token is None or token.user_id != current_user.id or token.kind != TokenKind.API:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    revoke(token)
    db.session.commit()
    flash(_("The token “%(name)s” is revoked.", name=token.name), "success")
    return redirect(url_for("tokens.index"))


# --- flask tokens ------------------------------------------------------------

tokens_cli = AppGroup("tokens", help="Create, list and revoke personal API tokens.")


def _user_or_fail(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No user with the e-mail {email}.")
    if not user.active:
        raise click.ClickException(f"{user.email} is deactivated.")
    return user


@tokens_cli.command("create")
@click.argument("email")
@click.option("--name", default="command line", show_default=True,
              help="What will use the token.")
def create_command(email, name):
    """Create an API token for a user and print it (it is not shown again)."""
    user = _user_or_fail(email)
    try:
        token, secret = create_api_token(user, name)
    except TokenError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Token {token.id} for {user.email} ({user.role.value}); keep it secret,"
               " it is not shown again:", err=True)
    click.echo(secret)


@tokens_cli.command("list")
@click.argument("email")
def list_command(email):
    """List a user's API tokens (never their secrets)."""
    for token in api_tokens(_user_or_fail(email)):
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(f"{token.id}\t{token.name}\t{state}\tlast used {used}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_command(token_id):
    """Revoke an API token by its number (see `flask tokens list`)."""
    token = db.session.get(AccessToken, token_id)
    if token is None or token.kind != TokenKind.API:
        raise click.ClickException(f"No API token {token_id}.")
    revoke(token)
    db.session.commit()
    click.echo(f"Revoked token {token.id} of {token.user.email}.")
