"""Helpers the pages of several features share: safe redirects, the actor
an editor may change, deleting an entry with an undo message, links by the
thousand."""

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.routing.converters import NumberConverter

from directory.core import entries as services
from directory.core.extensions import db
from directory.core.forms import ConfirmForm, kind_label
from directory.core.models import (
    Actor,
)
from directory.core.security import get_for_edit

# Stands where a value goes while `url_maker` builds a route once: one for
# numbers (`<int:...>`), one for text.
_NUMBER_MARKER, _TEXT_MARKER = 9_876_543_210_123, "0kvvalue0"


def url_maker(endpoint: str, key: str, **values) -> Callable[[object], str]:
    """`url_for(endpoint, **{key: value}, **values)` for many values of one key.

    A page listing every actor of the region (2 000 at national scale) spent
    20 ms building their links one `url_for` each. The route is built once
    with a marker where the value goes; each value is then put in as the
    route's converter puts it (`to_url`: quoted for a path segment). Only for
    a value in the path, not a query argument.
    """
    rule = next(current_app.url_map.iter_rules(endpoint))
    converter = rule._converters.get(key)  # werkzeug keeps a rule's converters by name
    if converter is None:
        raise ValueError(f"{endpoint} has no {key!r} in its path")
    marker = _NUMBER_MARKER if isinstance(converter, NumberConverter) else _TEXT_MARKER
    head, found, tail = url_for(endpoint, **{key: marker}, **values).partition(str(marker))
    if not found:
        raise ValueError(f"{endpoint} did not put {key!r} in its path as given")
    to_url = converter.to_url
    return lambda value: head + to_url(value) + tail


def url_with_query(endpoint: str, **values) -> str:
    """`url_for(endpoint)` carrying this request's query arguments over (the
    first value of each), `values` overriding them: a page's PDF or next page
    with the filters the reader chose.

    Anyone can put anything in a query string. An argument named as one of
    `url_for`'s own keywords (`endpoint`, `_method`, `_external`, ...) is
    left out: it is no filter, and passed on it broke the link (a 500).
    """
    carried = {key: value for key, value in request.args.items()
               if key != "endpoint" and not key.startswith("_")}
    return url_for(endpoint, **{**carried, **values})


def init_app(app) -> None:
    app.jinja_env.globals["url_maker"] = url_maker
    app.jinja_env.globals["url_with_query"] = url_with_query
    app.jinja_env.globals["kind_name"] = kind_label


def is_safe_next(target: str | None) -> bool:
    """Only a local path may be a redirect target (no scheme, no host, and no
    control character: a header cannot hold a line break, and a redirect
    that cannot be sent fails after what the request did was committed)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in target):
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
