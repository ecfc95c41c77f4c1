"""User accounts: the operations and the `flask users` commands.

Passwords follow NIST SP 800-63B: at least 15 characters (its figure for a
password that is the only factor), up to 500, any characters, no rules about
digits or capitals; and refused when they are common or easy to guess,
judged offline by zxcvbn (its lists of common passwords, names and words,
plus the person's own e-mail and name).

A password set or reset, or a deactivation, ends every session of the user
(but the one making a change to their own account) and revokes their API
tokens on a password change: whoever held the old password or a copied
cookie is out at once.
"""

import secrets
import sys

import click
from flask import Flask, session
from flask.cli import AppGroup
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update
from zxcvbn import zxcvbn

from directory.core.extensions import db
from directory.core.models import (
    AccessToken,
    Actor,
    LoginSession,
    TokenKind,
    User,
    UserRole,
    utcnow,
)
from directory.core.security import hash_password

MIN_PASSWORD_LENGTH = 15
MAX_PASSWORD_LENGTH = 500
# zxcvbn's score from 0 (guessed at once) to 4; 3 means "safely unguessable":
# more than 10^8 guesses, beyond online guessing with throttling.
MIN_PASSWORD_SCORE = 3
ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input; the start decides anyway

users_cli = AppGroup("users", help="Create and manage user accounts.")


class UserError(ValueError):
    """A user operation that cannot be done; the message says why."""


def password_problem(password: str, user_inputs=()) -> str | None:
    """Why this password may not be used, or None. `user_inputs` are the
    person's e-mail, name and the like, which a guesser would try first."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return str(_l("The password must have at least %(count)d characters. A few unusual "
                      "words in a row make a good one.", count=MIN_PASSWORD_LENGTH))
    if len(password) > MAX_PASSWORD_LENGTH:
        return str(_l("The password may have at most %(count)d characters.",
                      count=MAX_PASSWORD_LENGTH))
    words = []
    for value in user_inputs:
        words += [value, *str(value).replace("@", " ").replace(".", " ").split()]
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=[w for w in words if w])
    if result["score"] < MIN_PASSWORD_SCORE:
        return str(_l("This password is common or easy to guess (repeated or well-known "
                      "words, names, sequences). Choose another one."))
    return None


def check_password_strength(password: str, user_inputs=()) -> None:
    problem = password_problem(password, user_inputs)
    if problem:
        raise UserError(problem)


def new_password() -> str:
    """A generated password, for an admin to pass on."""
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


# --- Sessions -----------------------------------------------------------------

SESSION_KEY = "login_session"


def start_session(user: User) -> str:
    """Record a sign-in; the returned id goes into the Flask session."""
    sid = secrets.token_urlsafe(32)
    # The user's ended sessions are of no more use: the table stays small.
    db.session.execute(
        delete(LoginSession).where(LoginSession.user_id == user.id,
                                   LoginSession.ended_at.is_not(None))
    )
    db.session.add(LoginSession(id=sid, user_id=user.id))
    db.session.flush()
    return sid


def current_session_id() -> str | None:
    try:
        return session.get(SESSION_KEY)
    except RuntimeError:  # outside a request (the command line)
        return None


def end_session(sid: str | None) -> None:
    if sid:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.id == sid, LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_sessions(user: User, *, keep: str | None = None) -> None:
    """End every session of `user`, except `keep` (the one making the change)."""
    condition = [LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)]
    if keep:
        condition.append(LoginSession.id != keep)
    db.session.execute(update(LoginSession).where(*condition).values(ended_at=utcnow()))


def session_is_live(sid: str | None, user_id: int) -> bool:
    if not sid:
        return False
    record = db.session.get(LoginSession, sid)
    return record is not None and record.ended_at is None and record.user_id == user_id


def revoke_api_tokens(user: User) -> None:
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user.id, AccessToken.kind == TokenKind.API,
               AccessToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def deactivate(user: User) -> None:
    """The user can no longer sign in, every session of theirs ends now, and so
    do their device passwords (a phone's address book stops syncing)."""
    from directory.accounts.devices import revoke_all_devices

    user.active = False
    end_sessions(user)
    revoke_all_devices(user)


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(
    email: str,
    password: str,
    role: UserRole,
    *,
    name: str = "",
    actors: list[Actor] = (),
) -> User:
    """Create an account; editors are given the actors they may edit."""
    email = email.strip().lower()
    if not email or "@" not in email:
        raise UserError("Enter a valid e-mail address.")
    if find_user(email) is not None:
        raise UserError(f"A user with the e-mail {email} already exists.")
    check_password_strength(password, (email, name))
    user = User(
        email=email,
        name=name,
        password_hash=hash_password(password),
        role=role,
        actors=list(actors),
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Set a new password: other sessions end and API tokens are revoked.

    The session making the change survives only when it is the user's own.
    """
    check_password_strength(password, (user.email, user.name))
    user.password_hash = hash_password(password)
    keep = current_session_id()
    end_sessions(user, keep=keep if session_is_live(keep, user.id) else None)
    revoke_api_tokens(user)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _get_user_or_fail(email: str) -> User:
    user = find_user(email)
    if user is None:
        raise click.ClickException(f"No user with the e-mail {email}.")
    return user


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in UserRole]), required=True)
@click.option("--actor", "actor_slugs", multiple=True, help="Slug of an actor to edit.")
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def create_command(email, role, actor_slugs, name, password_stdin):
    """Create a user account."""
    actors = []
    for slug in actor_slugs:
        actor = db.session.scalar(select(Actor).where(Actor.slug == slug))
        if actor is None:
            raise click.ClickException(f"No actor with the slug {slug}.")
        actors.append(actor)
    try:
        user = create_user(
            email, _read_password(password_stdin), UserRole(role), name=name, actors=actors
        )
    except UserError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role.value}).")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def set_password_command(email, password_stdin):
    """Set a user's password."""
    user = _get_user_or_fail(email)
    try:
        set_password(user, _read_password(password_stdin))
    except UserError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Password set for {user.email}.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate_command(email):
    """Deactivate a user: they can no longer sign in."""
    user = _get_user_or_fail(email)
    deactivate(user)
    db.session.commit()
    click.echo(f"Deactivated {user.email}.")


@users_cli.command("list")
def list_command():
    """List the user accounts."""
    for user in db.session.scalars(select(User).order_by(User.email)):
        actors = ",".join(a.slug for a in user.actors)
        state = "active" if user.active else "inactive"
        click.echo(f"{user.email}\t{user.role.value}\t{state}\t{actors}")


def init_app(app: Flask) -> None:
    """Register the `flask users` command group."""
    app.cli.add_command(users_cli)
