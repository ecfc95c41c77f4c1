"""Hot pages rendered once for everyone who would see the same thing.

When a region switches to activated mode, hundreds of officials open the
same few pages (the start page, an actor, a duty role, a search, a call
tree) within minutes. Each is rendered once and then served from a cache
until anything it shows could read differently. A rendered page is kept under:

- the page and its arguments (the view's `key`);
- the data version: one row (`page_version`) raised by every write of
  directory data in the write's own transaction, so a reader who sees
  version N sees every change up to N, on every app server;
- the reader's rights: their role and the actors they edit, which is all
  that `may_see` and `can_edit` read of a user (the setting that lets
  viewers see confidential numbers is data, under the version);
- the language and the time zone;

and each page says until when it holds (`Page.valid_until`): the next
handover of the roles it shows, the next meeting, the moment a review falls
overdue. Time passes without any write, so the version alone cannot say so.

What belongs to one request stays out of the cache: the layout around the
content (who is signed in, flash messages, the mode banner, call-outs under
way) is rendered for each request, and a CSRF token is rendered as a
placeholder that each response fills with its own session's token. In the
cached render `current_user` is only the reader's `Rights`, so no template
can put one user's name or address into a page served to another.

Stores (`PAGE_CACHE`): "memory" (each process its own, the default), a
`redis://` URL (shared by every worker and app server), or "off".
"""

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from math import ceil
from pathlib import Path

import click
from cachelib import RedisCache, SimpleCache
from flask import current_app, g, has_request_context, render_template, request, session
from flask_babel import format_datetime, get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from directory.core.extensions import db
from directory.core.models import PageVersion, UserRole, utcnow

# Writes to these tables change nothing a cached page shows: the record of
# changes, derived caches and indexes' bookkeeping, sign-in state, uploads
# waiting for a decision, and the marks of a call-out (shown only on the
# call-out's own live pages, which are never cached).
BOOKKEEPING = frozenset({
    "audit_event", "card_change", "card_sequence", "carddav_snapshot", "vcard_cache",
    "pending_import", "login_session", "access_token", "device_password",
    "reminder_sent", "callout_mark", "page_version",
})
# A user's row changes at every sign-in; no cached page shows these columns.
USER_BOOKKEEPING = frozenset({"last_login_at", "locale"})

# However long a page says it holds, it is rendered anew after this.
MAX_AGE = timedelta(minutes=10)
FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Rights:
    """`current_user` in a cached render: what the page may depend on, no more."""

    role: UserRole
    editable: frozenset[int]
    is_authenticated = True
    is_active = True
    is_anonymous = False


@dataclass
class Page:
    """What a view renders, and until when it reads the same without a write.

    `layout`: the template extends `base.html` (its title and content are
    kept; the layout is rendered per request); otherwise a fragment (the
    search's type-ahead) is kept and served whole.
    """

    template: str
    context: dict
    valid_until: datetime
    layout: bool = True


def earliest(now: datetime, *moments: datetime | None | Iterable[datetime | None]) -> datetime:
    """The first of these moments (None: never), at most `MAX_AGE` after `now`.

    A moment at or before `now` means the page may read differently at once:
    it is not kept. Pass what changes a page in the future only (`ahead`).
    """
    found = now + MAX_AGE
    for moment in moments:
        group = moment if isinstance(moment, Iterable) else (moment,)
        for m in group:
            if m is not None and m < found:
                found = m
    return found


def ahead(now: datetime, moment: datetime | None) -> datetime | None:
    """`moment` if it is still to come: a review already overdue stays overdue."""
    return moment if moment is not None and moment > now else None


def keeping() -> bool:
    """Is a page being rendered to be kept? Then what reads the clock says until when."""
    return has_request_context() and "_page_holds_until" in g


def holds_until(moment: datetime) -> None:
    """Whatever prints something computed from the clock ("verified 2 hours
    ago") says until when it reads the same; a kept page is rendered anew then."""
    if keeping():
        g._page_holds_until = min(g._page_holds_until, moment)


# What `served_at` prints, by name: the moment a page is served, not the one it was made.
CLOCK_STYLES = {
    "iso": lambda moment: moment.isoformat(),
    "time": lambda moment: format_datetime(moment, "HH:mm:ss"),
}


def served_at(moment: datetime, style: str) -> str:
    """`moment` (the request's now) as `CLOCK_STYLES[style]` prints it; in a page
    being rendered to be kept, a marker that each response fills with its own
    moment ("Updated 10:41:07" on a board kept for minutes). The page's content
    is what a render at that moment would show: it holds until `valid_until`."""
    if keeping():
        return _secret(f"clock-{style}")
    return CLOCK_STYLES[style](moment)


def next_minute(now: datetime) -> datetime:
    """The next whole minute: pages that print the time to the minute change there."""
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


# --- The data version ----------------------------------------------------------


AGES = "pagecache_ages"  # session.info: this transaction wrote what pages show


def _shows(obj) -> bool:
    """Could writing this entry change what a page shows?"""
    table = getattr(obj, "__tablename__", None)
    if table in BOOKKEEPING:
        return False
    if table == "user_account":
        state = inspect(obj)
        if state.persistent:  # an update: only bookkeeping columns?
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            return bool(changed - USER_BOOKKEEPING)
    return True


def _after_flush(session: Session, _context) -> None:
    # Still the flush's own state here: what it wrote, with each attribute's history.
    written = (*session.new, *session.deleted,
               *(o for o in session.dirty if session.is_modified(o)))
    if any(_shows(o) for o in written):
        session.info[AGES] = True


def _on_statement(state) -> None:
    """Bulk INSERT, UPDATE and DELETE statements (restore, synthetic regions,
    sign-out everywhere) bypass the flush: they age the pages too."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) not in BOOKKEEPING:
        state.session.info[AGES] = True


def _before_commit(session: Session) -> None:
    """Raise the version as the transaction's last write, just before it commits.

    The row lock is then held for the commit alone, not from a first flush
    on (writers wait on each other for milliseconds, and no writer holding
    it ever waits for another lock: no deadlock).
    """
    session.flush()  # what is still pending is written (and noted) first
    if session.info.pop(AGES, False):
        session.connection().execute(
            update(PageVersion).where(PageVersion.id == 1).values(n=PageVersion.n + 1))


def _forget(session: Session, *_args) -> None:
    session.info.pop(AGES, None)


def version() -> str | None:
    """The data version as this request sees it (None: no counter, nothing is kept)."""
    row = db.session.execute(
        select(PageVersion.epoch, PageVersion.n).where(PageVersion.id == 1)
    ).one_or_none()
    return None if row is None else f"{row.epoch}.{row.n}"


# --- The store -----------------------------------------------------------------


def _store():
    return current_app.extensions.get("page_cache")


def _secret(purpose: str) -> str:
    """A marker no user can type, the same on every app server of one deployment."""
    key = current_app.secret_key
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, purpose.encode(), hashlib.sha256).hexdigest()[:32]


def _full_key(key: tuple, data_version: str, rights: Rights) -> str:
    parts = (current_app.extensions["page_cache_state"]["build"], key, data_version,
             rights.role.value, sorted(rights.editable), str(get_locale()),
             current_app.config["TIMEZONE"])
    return hashlib.sha256(repr(parts).encode()).hexdigest()


# The actors each editor edits, as of a data version (which every change of
# who edits what raises): a kept page is then served with two statements,
# the user's and the version's.
_editable_at: dict[tuple[str, int], frozenset[int]] = {}


def rights_of(user, data_version: str) -> Rights:
    from directory.core.security import editable_actor_ids

    role = UserRole(user.role)
    if role != UserRole.EDITOR:
        return Rights(role, frozenset())
    known = (data_version, user.id)
    if known not in _editable_at:
        if len(_editable_at) > 10_000:
            _editable_at.clear()
        _editable_at[known] = editable_actor_ids(user)
    return Rights(role, _editable_at[known])


def _flashes_waiting() -> bool:
    return bool(session.get("_flashes"))


def _built(build: Callable[[], Page], rights: Rights) -> tuple[Page, dict]:
    """Build a page and render it, with placeholders for the CSRF token (forms
    made while building take their token then) and for this request's path.

    The whole page, layout included, is kept when no message waits to be
    flashed: the layout then shows only what the rights, the language and
    the data decide (the menu, the mode banner, call-outs under way).
    """
    placeholder = _secret("csrf-placeholder")
    field_name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    saved = g.pop(field_name, None)
    setattr(g, field_name, placeholder)  # what generate_csrf() answers, for this render
    g._page_holds_until = FOREVER
    try:
        page = build()
        parts = _rendered(page, rights)
        if page.layout and not _flashes_waiting():
            parts = _whole(parts, rights)
        page.valid_until = min(page.valid_until, g._page_holds_until)
        return page, parts
    finally:
        g.pop(field_name, None)
        g.pop("_page_holds_until", None)
        if saved is not None:
            setattr(g, field_name, saved)


def _kept(html: str) -> Markup:
    # What the page's own templates rendered, escaped there: kept as it was made.
    return Markup(html)  # noqa: S704


# The blocks of base.html a kept page may fill: what `base.html` gives the
# cache under `page_blocks_only`, and `_cached.html` puts back.
KEPT_BLOCKS = frozenset({"title", "head", "content"})


def _rendered(page: Page, rights: Rights) -> dict:
    context = {**page.context, "current_user": rights}
    if not page.layout:
        return {"body": render_template(page.template, **context)}
    other = set(current_app.jinja_env.get_template(page.template).blocks) - KEPT_BLOCKS
    if other:  # it would be lost from the kept page: keep it there too, first
        raise RuntimeError(f"{page.template} fills {sorted(other)}, which a kept page drops")
    separator = f"<!--{_secret('block-separator')}-->"
    text = render_template(page.template, **context, page_blocks_only=separator)
    title, head, body = text.split(separator)
    return {"title": title, "head": head, "body": body}


def _whole(parts: dict, rights: Rights) -> dict:
    """The page in its layout, kept once: the content is found in it by offsets."""
    mark = f"<!--{_secret('body-mark')}-->"
    layout = render_template("_cached.html", title=_kept(parts["title"]),
                             head=_kept(parts["head"]), body=_kept(mark),
                             current_user=rights, next_path=_secret("path-placeholder"))
    at = layout.index(mark)
    body = parts["body"]
    return {"title": parts["title"], "head": parts["head"],
            "page": layout[:at] + body + layout[at + len(mark):], "body_at": (at, at + len(body))}


def _body(parts: dict) -> str:
    if "page" in parts:
        start, end = parts["body_at"]
        return parts["page"][start:end]
    return parts["body"]


def _usable(entry, now: datetime) -> bool:
    """A kept entry of this version's shape that still holds (anything else: rendered anew)."""
    return (isinstance(entry, dict) and isinstance(entry.get("until"), float)
            and now.timestamp() < entry["until"] and "layout" in entry
            and ("page" in entry or "body" in entry))


def _filled(text: str) -> str:
    """This response's own CSRF token and moment where the kept page has markers."""
    placeholder = _secret("csrf-placeholder")
    if placeholder in text:
        text = text.replace(placeholder, generate_csrf())
    now = None
    for style, show in CLOCK_STYLES.items():
        marker = _secret(f"clock-{style}")
        if marker in text:
            now = now or utcnow()
            text = text.replace(marker, show(now))
    return text


def _served(parts: dict, page_layout: bool) -> str:
    """A kept page with this request's CSRF token, moment and path in it."""
    if page_layout and "page" in parts and not _flashes_waiting():
        page = parts["page"].replace(
            _secret("path-placeholder"), str(escape(request.full_path.rstrip("?"))))
        return _filled(page)
    body = _filled(_body(parts))
    if not page_layout:
        return body
    return render_template("_cached.html", title=_kept(parts["title"]),
                           head=_kept(parts["head"]), body=_kept(body))


def render_now(page: Page) -> str:
    """A page rendered for this request only (a moment asked for, a preview)."""
    return render_template(page.template, **page.context)


def render(key: tuple, build: Callable[[], Page]) -> str:
    """The page for `key`: from the cache while it holds, else built and kept.

    `build` loads and prepares the page's data and may abort (404, 403):
    nothing is kept then. Permission checks that decide whether the reader
    may open the page at all belong before this call, not in `build`.
    """
    store = _store()
    data_version = None if store is None else version()
    if data_version is None:
        return render_now(build())
    rights = rights_of(current_user, data_version)
    full_key = _full_key(key, data_version, rights)
    now = utcnow()
    entry = _guarded(store.get, full_key)
    if _usable(entry, now):
        if current_app.config.get("PAGE_CACHE_CHECK"):
            _check(full_key, entry, build, rights)
        return _served(entry, entry["layout"])
    page, parts = _built(build, rights)
    until = earliest(now, page.valid_until)
    timeout = ceil((until - now).total_seconds())
    # Not kept when this request's own transaction wrote what pages show: its
    # version is not yet the one it will commit as (or may roll back).
    if timeout > 0 and not db.session.info.get(AGES):
        _guarded(store.set, full_key,
                 {**parts, "until": until.timestamp(), "layout": page.layout}, timeout=timeout)
    return _served(parts, page.layout)


class StalePage(AssertionError):
    """A kept page that differs from the page rendered anew (`PAGE_CACHE_CHECK`)."""


def _check(full_key: str, entry: dict, build: Callable[[], Page], rights: Rights) -> None:
    """The test suite's watch: every page served from the cache is also rendered
    anew and must read the same, so any test that reads a page twice after a
    write or a move of the clock that forgot to age it fails. The layout kept
    with it too (menu, mode banner, call-outs under way)."""
    _page, fresh = _built(build, rights)
    compared = [("title", entry.get("title"), fresh.get("title")),
                ("head", entry.get("head"), fresh.get("head")),
                ("body", _body(entry), _body(fresh))]
    if "page" in entry and "page" in fresh:
        compared.append(("page", entry["page"], fresh["page"]))
    for part, kept, anew in compared:
        if kept != anew:
            kept, anew = kept or "", anew or ""
            at = next((i for i, (a, b) in enumerate(zip(kept, anew, strict=False)) if a != b),
                      min(len(kept), len(anew)))
            raise StalePage(f"kept page {full_key[:12]} differs from the page rendered anew "
                            f"at {part}[{at}]: kept {kept[at - 80:at + 80]!r}, "
                            f"anew {anew[at - 80:at + 80]!r}")


# After a store fails, it is left alone this long: a Redis that hangs costs
# one short timeout per worker now and then, not one per request.
STORE_REST = 30.0


def _guarded(operation, *args, **kwargs):
    """A store that is down costs speed, never a page: the page is rendered anew."""
    state = current_app.extensions["page_cache_state"]
    if time.monotonic() < state["resting_until"]:
        return None
    try:
        return operation(*args, **kwargs)
    except Exception:  # a store's own errors (Redis gone, a full disk) are not the page's
        state["resting_until"] = time.monotonic() + STORE_REST
        current_app.logger.warning(
            "page cache: the store does not answer; pages are rendered anew for %d s",
            STORE_REST, exc_info=True)
        return None


@cache
def _sources_digest(root: Path) -> bytes:
    digest = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *(root.parent / "templates").rglob("*.html")]):
        digest.update(str(path.relative_to(root.parent)).encode())
        digest.update(path.read_bytes())
    return digest.digest()


def _build_id(app) -> str:
    """What the app's code and templates are: pages kept by another build (a
    rolling deploy sharing one Redis) are not served by this one, and another
    deployment's (another SECRET_KEY) never."""
    return hmac.new(str(app.secret_key).encode(), _sources_digest(Path(app.root_path)),
                    hashlib.sha256).hexdigest()[:16]


@click.command("pages-refresh")
def refresh_command():
    """Render every kept page anew (after a change made outside the app, in SQL)."""
    db.session.info[AGES] = True
    db.session.commit()
    click.echo("Every kept page will be rendered anew at its next request.")


def init_app(app) -> None:
    app.cli.add_command(refresh_command)
    app.jinja_env.globals["served_at"] = served_at
    app.extensions["page_cache_state"] = {"resting_until": 0.0, "build": _build_id(app)}
    setting = app.config.get("PAGE_CACHE", "memory")
    if setting == "off":
        app.extensions["page_cache"] = None
    elif setting == "memory":
        app.extensions["page_cache"] = SimpleCache(
            threshold=app.config.get("PAGE_CACHE_ENTRIES", 2000))
    elif setting.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(setting, socket_connect_timeout=0.1, socket_timeout=0.1)
        app.extensions["page_cache"] = RedisCache(
            client, key_prefix=f"{app.config.get('PAGE_CACHE_PREFIX', 'kontaktvagar')}:page:")
    else:
        raise RuntimeError(f"PAGE_CACHE must be memory, off or a redis:// URL, not {setting!r}")
    for name, hook in (("after_flush", _after_flush), ("do_orm_execute", _on_statement),
                       ("before_commit", _before_commit), ("after_rollback", _forget)):
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
