"""Helpers the pages of several features share: safe redirects, the actor
an editor may change, deleting an entry with an undo message."""

from urllib.parse import urlsplit

from flask import (
    abort,
    flash,
    redirect,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from directory.core import entries as services
from directory.core.extensions import db
from directory.core.forms import ConfirmForm
from directory.core.models import (
    Actor,
)
from directory.core.security import get_for_edit


def is_safe_next(target: str | None) -> bool:
    """Only a local path may be a redirect target (no scheme, no host)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc and "\\" not in target


def actor_for_edit(slug: str) -> Actor:
    actor = db.session.scalar(select(Actor).where(Actor.slug == slug))
    if actor is None:
        abort(404)
    return get_for_edit(Actor, actor.id)


def actor_url(actor: Actor) -> str:
    return url_for("lookup.actor", slug=actor.slug)


def delete_entry(entry, back_url: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.soft_delete(entry, form.expected_version())
        db.session.commit()
    except (services.ConflictError, StaleDataError):
        db.session.rollback()
        flash(_("Not deleted: someone changed the entry meanwhile. Look again first."), "error")
        return redirect(back_url)
    flash(_("Deleted. It can be restored from its history."), "success")
    return redirect(back_url)
