"""What every API module shares: the blueprint, reading a request, and answering
with an ETag (and 304), a page of a list with Link headers.
"""

import hashlib
import math
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from directory.api import inputs
from directory.api import schemas as S
from directory.api.errors import ApiError, invalid
from directory.core.extensions import db, limiter
from directory.core.pages import url_with_query
from directory.core.security import get_for_edit

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _rate_limit_key() -> str:
    """Each user (whether by token or by session) has their own API budget;
    anonymous requests share their address's."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "address:" + (request.remote_addr or "")


# API_RATE_LIMIT (600 a minute) per user; over it, 429 as problem+json.
limiter.limit(lambda: current_app.config["API_RATE_LIMIT"], key_func=_rate_limit_key,
              scope="api")(bp)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_ID = S.MAX_ID
NEXT_MEETINGS = 3

# --- Reading requests -----------------------------------------------------


def region_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def parse_moment(raw: str, field: str) -> datetime:
    """An ISO 8601 moment; without an offset it is local time in the region."""
    try:
        return inputs.parse_moment(raw)
    except PydanticCustomError as error:
        raise invalid(field, error.message()) from None


def query_args():
    """The query string, as validated against the operation's model."""
    return request.context.query


def get_live(model, ident: int):
    """A live entry or 404 (ids past the column's range are simply not found)."""
    entry = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if entry is None or entry.deleted_at is not None:
        raise ApiError(404, _("There is no such entry."))
    return entry


def for_edit(model, ident: int):
    """An entry the user may change: 404, or 403 when it is another actor's."""
    if not 0 < ident <= MAX_ID:
        raise ApiError(404, _("There is no such entry."))
    try:
        return get_for_edit(model, ident)
    except Forbidden:
        raise ApiError(403, _("You may not change this entry.")) from None


# --- Answers: ETags, pages -------------------------------------------------


def entry_etag(entry) -> str:
    """An entry's ETag: its kind, id and version (its body changes only with them)."""
    return f'"{entry.__tablename__}-{entry.id}-v{entry.version}"'


def answer(body, *, status=200, etag=None, headers=None):
    """JSON with an ETag (the entry's, else a hash of the body); 304 when unchanged."""
    response = jsonify(body)
    response.status_code = status
    if etag is None:
        etag = '"' + hashlib.sha256(response.get_data()).hexdigest()[:32] + '"'
    response.headers["ETag"] = etag
    response.headers.update(headers or {})
    if request.method in ("GET", "HEAD") and request.if_none_match.contains_weak(etag.strip('"')):
        response.status_code = 304
        response.set_data(b"")
        response.headers.pop("Content-Type", None)
    return response


def pagination() -> tuple[int, int]:
    return query_args().page, query_args().per_page


def _page_links(page: int, pages: int, per_page: int) -> str:
    links = []
    for rel, number in (("first", 1), ("prev", page - 1), ("next", page + 1), ("last", pages)):
        if 1 <= number <= pages and (rel in ("first", "last") or number != page):
            url = url_with_query(request.endpoint, **(request.view_args or {}),
                                 page=number, per_page=per_page)
            links.append(f'<{url}>; rel="{rel}"')
    return ", ".join(links)


def paginated(query, serialize, *, page_filter=None):
    """One page of `query` in id order, with the total and Link headers."""
    page, per_page = pagination()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    if page_filter is not None:
        rows = page_filter(rows)
    pages = max(1, math.ceil(total / per_page))
    body = {
        "items": [serialize(row) for row in rows],
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": pages,
    }
    links = _page_links(page, pages, per_page)
    return answer(body, headers={"Link": links} if links else None)
