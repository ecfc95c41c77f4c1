"""User accounts: the operations and the `flask users` commands."""

import sys

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from .extensions import db
from .models import Actor, User, UserRole
from .security import hash_password

MIN_PASSWORD_LENGTH = 10

users_cli = AppGroup("users", help="Create and manage user accounts.")


class UserError(ValueError):
    """A user operation that cannot be done; the message says why."""


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")


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
    check_password_strength(password)
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
    check_password_strength(password)
    user.password_hash = hash_password(password)


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
    user.active = False
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
