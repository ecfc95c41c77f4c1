"""Error pages for people and problem+json for the API.

A database that has gone away is a 503 with a clear page, not a 500: the
duty officer should know to retry or reach for the binder.
"""

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from directory.core.extensions import db, login_manager


def problem(status: int, title: str, detail: str = "", **extra):
    """An RFC 9457 problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page_text(code: int | None) -> tuple[str, str] | None:
    """The title and explanation of an error page, in the reader's language."""
    texts = {
        400: (_("Bad request"),
              _("The page could not understand what was sent. Go back and try again.")),
        403: (_("Not allowed"),
              _("You may not do this. Ask a coordinator or the editor of this actor"
                " if you need to.")),
        404: (_("Not found"),
              _("There is no such page. It may have been removed, or the address"
                " is mistyped.")),
        405: (_("Not allowed this way"),
              _("This page cannot be used like that. Go back and use the page's"
                " own buttons.")),
        413: (_("Too large"), _("What was sent is too large.")),
        429: (_("Too many attempts"), _(
            "Too many sign-in attempts. Wait 15 minutes and try again,"
            " or ask a coordinator to reset your password."
        )),
        500: (_("Something went wrong"),
              _("Something went wrong on our side. Try again, or use the printed binder.")),
    }
    return texts.get(code)


def _http_error(error: HTTPException):
    if _wants_json():
        return problem(error.code or 500, error.name, error.description or "")
    title, description = _page_text(error.code) or (error.name, error.description)
    # A view may say more than the standard text (already translated): keep it.
    # Not a limit's own description ("5 per 15 minute"): that says nothing to a person.
    if error.code != 429 and error.description and error.description != type(error).description:
        description = error.description
    return (
        render_template("errors/error.html", error=error, title=title, description=description),
        error.code,
    )


def _database_unavailable(error: Exception):
    db.session.rollback()
    # Rendering would load the signed-in user from the database that is gone;
    # for this page everyone is anonymous (flask-login keeps the user in g).
    g._login_user = login_manager.anonymous_user()
    if _wants_json():
        return problem(503, "Service Unavailable", "The database is unavailable.")
    return render_template("errors/database.html"), 503


def init_app(app: Flask) -> None:
    """Answer every HTTP error with a page (or JSON under /api/)."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)
