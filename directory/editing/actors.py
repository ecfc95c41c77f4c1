"""The coordinators' part of the register: actors created, renamed, moved and retired.

Views, the CLI (`flask actors ...`) and the API share these functions; they
validate and flush, the caller commits. Who may call them is the caller's
check (coordinators: `security.require_admin`). Retiring is a soft delete, so
a retired actor is restored from its history like any entry.
"""

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import func, select

from directory.core import entries as services
from directory.core.extensions import db
from directory.core.models import Actor, ActorKind, ActorLevel


class ActorError(ValueError):
    """A change to an actor that cannot be made; the message says why (translated),
    `field` which field it is about (`name` or `parent_id`; None: the actor as a whole)."""

    def __init__(self, message: str, field: str | None = "name"):
        super().__init__(message)
        self.field = field


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ActorError(_("An actor needs a name."))
    if len(name) > 200:
        raise ActorError(_("A name has at most 200 characters."))
    return name


def _name_free(name: str, actor: Actor | None = None) -> None:
    """No other live actor has this name, in any case: compared here, since the
    databases' lower() differ (SQLite's folds only A-Z, so "ÖSTHAMMAR" and
    "Östhammar" would both pass there)."""
    query = select(Actor.name).where(func.length(Actor.name) == len(name),
                                     Actor.deleted_at.is_(None))
    if actor is not None and actor.id is not None:
        query = query.where(Actor.id != actor.id)
    if any(other.casefold() == name.casefold() for other in db.session.scalars(query)):
        raise ActorError(_("Another actor is already called “%(name)s”.", name=name))


def check_name(name: str, actor: Actor | None = None) -> str:
    """The name cleaned, or ActorError when it is empty, too long or another
    live actor's (in any case); `actor`: the one being renamed."""
    name = _clean_name(name)
    _name_free(name, actor)
    return name


def create_actor(name: str, *, parent: Actor | None = None,
                 kind: ActorKind = ActorKind.OTHER, level: ActorLevel = ActorLevel.REGIONAL,
                 short_name: str = "") -> Actor:
    """A new live actor with a slug of its own (the name's; -2, -3 when taken)."""
    name = check_name(name)
    if parent is not None and parent.deleted_at is not None:
        raise ActorError(_("“%(name)s” is retired: it cannot hold a new actor.",
                           name=parent.name), "parent_id")
    actor = Actor(slug=services.unique_slug(Actor, name, "aktor"), name=name,
                  short_name=(short_name or "").strip()[:60], kind=kind, level=level,
                  parent=parent)
    return services.save(actor, {})


def rename_actor(actor: Actor, name: str, expected_version: int | None = None) -> Actor:
    """A new name; the slug (and so every link and bookmark) stays."""
    return services.save(actor, {"name": check_name(name, actor)}, expected_version)


def move_actor(actor: Actor, parent: Actor | None,
               expected_version: int | None = None) -> Actor:
    """Put an actor under another (or at the top, parent None); never under itself."""
    if parent is not None:
        if parent.deleted_at is not None:
            raise ActorError(_("“%(name)s” is retired: it cannot hold an actor.",
                               name=parent.name), "parent_id")
        ancestor = parent
        while ancestor is not None:
            if ancestor.id == actor.id:
                raise ActorError(_("An actor cannot be placed under itself or one of its "
                                   "parts."), "parent_id")
            ancestor = ancestor.parent
    return services.save(actor, {"parent_id": parent.id if parent else None},
                         expected_version)


def live_parts(actor: Actor) -> list[Actor]:
    return [child for child in actor.children if child.deleted_at is None]


def retire_actor(actor: Actor, expected_version: int | None = None) -> None:
    """Retire an actor (restorable from its history); its parts move or retire first."""
    parts = live_parts(actor)
    if parts:
        raise ActorError(_("Move or retire its parts first: %(names)s.",
                           names=", ".join(sorted(p.name for p in parts))), None)
    services.soft_delete(actor, expected_version)


# --- The command line ------------------------------------------------------------------

actors_cli = AppGroup("actors", help="Create, rename, move and retire actors.")


def _actor(slug: str, option: str = "SLUG") -> Actor:
    actor = db.session.scalar(select(Actor).where(Actor.slug == slug,
                                                  Actor.deleted_at.is_(None)))
    if actor is None:
        raise click.BadParameter(f"no live actor has the slug {slug!r}", param_hint=option)
    return actor


def _run(change) -> None:
    try:
        result = change()
        db.session.commit()
    except ActorError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    return result


@actors_cli.command("create")
@click.argument("name")
@click.option("--parent", help="The slug of the actor it is part of.")
@click.option("--kind", type=click.Choice([k.value for k in ActorKind]), default="other",
              show_default=True)
@click.option("--level", type=click.Choice([v.value for v in ActorLevel]), default="regional",
              show_default=True)
@click.option("--short-name", default="")
def create_command(name, parent, kind, level, short_name):
    """Create an actor; prints its slug."""
    parent_actor = _actor(parent, "--parent") if parent else None
    actor = _run(lambda: create_actor(name, parent=parent_actor, kind=ActorKind(kind),
                                      level=ActorLevel(level), short_name=short_name))
    click.echo(actor.slug)


@actors_cli.command("rename")
@click.argument("slug")
@click.argument("name")
def rename_command(slug, name):
    """Give an actor a new name (its slug stays)."""
    actor = _actor(slug)
    _run(lambda: rename_actor(actor, name))
    click.echo(f"{slug}: {actor.name}")


@actors_cli.command("move")
@click.argument("slug")
@click.option("--parent", help="The slug of the new parent; leave out for the top level.")
def move_command(slug, parent):
    """Place an actor under another one, or at the top level."""
    actor = _actor(slug)
    parent_actor = _actor(parent, "--parent") if parent else None
    _run(lambda: move_actor(actor, parent_actor))
    click.echo(f"{slug}: {'under ' + parent_actor.slug if parent_actor else 'top level'}")


@actors_cli.command("retire")
@click.argument("slug")
def retire_command(slug):
    """Retire an actor (restorable from its history in the browser)."""
    actor = _actor(slug)
    _run(lambda: retire_actor(actor))
    click.echo(f"{slug}: retired")


def init_app(app) -> None:
    app.cli.add_command(actors_cli)
