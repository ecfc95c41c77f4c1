"""Personal API tokens: made, shown once, stored hashed, revoked.

A token is a random secret (`kv_` + 43 URL-safe characters, 256 bits). Only
its SHA-256 is kept: a token is as strong as a long random password, so a
fast hash is enough, and it makes each request's look-up one indexed
equality. Who holds the secret acts as its user, with that user's rights, for
as long as the user is active and the token is not revoked.

Each user manages their own tokens on one page; `flask tokens` does the same
for an operator (create for a given e-mail, list, revoke).
"""


import click
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from directory.accounts.credentials import TokenError, api_tokens, create_api_token, revoke
from directory.accounts.forms import TokenForm
from directory.core.extensions import db
from directory.core.forms import ConfirmForm
from directory.core.models import AccessToken, TokenKind, User

# --- The page where a user manages their own tokens --------------------------

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


def _page(form: TokenForm, secret: str | None = None, created: AccessToken | None = None,
          status: int = 200):
    return (
        render_template(
            "accounts/tokens.html",
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
