"""Swedish and English. Swedish is the default; a user's choice is remembered.

The choice is kept in the session (and on the user, once signed in), so the
login page already speaks the chosen language.

The messages are written in English; the Swedish catalogue
(`translations/sv/LC_MESSAGES/messages.po`) is compiled to `messages.mo` by
every install path (`make translations`, or `pybabel compile` in README's
PostgreSQL and Production sections), never committed. An app whose compiled
catalogue is missing would silently speak English, so it refuses to start.
"""

import logging
from pathlib import Path

from flask import Flask, current_app, g, has_app_context, has_request_context, session
from flask_babel import get_locale, get_translations
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from directory.core.extensions import babel
from directory.core.text import breakable

SOURCE_LOCALE = "en"  # the language the messages are written in: no catalogue
COMPILE_HINT = (
    "compile the catalogues with `make translations` "
    "(or `.venv/bin/pybabel compile -d directory/translations`)"
)
log = logging.getLogger(__name__)


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and background work
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    try:
        if current_user and current_user.is_authenticated and current_user.locale in languages:
            return current_user.locale
    except SQLAlchemyError:  # the database is gone: the error page still renders
        pass
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with our locale and time-zone selectors."""
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(app.root_path + "/translations"),
    )
    # Short dates in ISO 8601 in every language: English's own ("12/2/26, 2:05 AM")
    # is read the wrong way round outside the US.
    babel.date_formats = dict(babel.date_formats, **{
        "datetime.short": "yyyy-MM-dd HH:mm", "date.short": "yyyy-MM-dd"})
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale())
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _catalogue().ugettext(s),
        ngettext=lambda s, p, n: _catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: _catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: _catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters["breakable"] = breakable
    check_catalogues(app)


def _catalogue():
    """The catalogue of the locale in force, found once per request and locale.

    Flask-Babel's own `get_translations()` finds the request's locale and its
    catalogue anew for every label (three context look-ups, the locale's name
    built, a dictionary read): a page of a few hundred labels spent a fifth of
    its time there. The catalogue is kept beside the locale Flask-Babel keeps
    for the request, and found again when that locale changes: `refresh()`
    after a change of language forgets it, `force_locale` replaces it.
    """
    state = getattr(g, "_flask_babel", None) if has_app_context() else None
    locale = getattr(state, "babel_locale", None)
    if locale is None:  # the request's first label: Flask-Babel picks the locale
        return get_translations()
    kept = getattr(state, "kv_catalogue", None)
    if kept is None or kept[0] is not locale:
        kept = state.kv_catalogue = (locale, get_translations())
    return kept[1]


def check_catalogues(app: Flask) -> None:
    """Refuse to start when a language's compiled catalogue is missing.

    A stale one (older than its .po) only warns: the app still speaks the
    language, just not the newest strings.
    """
    directories = [Path(d) for d in app.extensions["babel"].translation_directories]
    for language in app.config["LANGUAGES"]:
        if language == SOURCE_LOCALE:
            continue
        found = [
            d / language / "LC_MESSAGES" / "messages.mo"
            for d in directories
            if (d / language / "LC_MESSAGES" / "messages.mo").is_file()
        ]
        if not found:
            expected = directories[0] / language / "LC_MESSAGES" / "messages.mo"
            raise RuntimeError(
                f"The compiled catalogue for '{language}' is missing ({expected}); "
                f"without it every page would be in English: {COMPILE_HINT}."
            )
        for compiled in found:
            source = compiled.with_suffix(".po")
            if source.is_file() and source.stat().st_mtime > compiled.stat().st_mtime:
                log.warning("%s is older than %s: %s.", compiled, source, COMPILE_HINT)
