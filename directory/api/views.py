"""The JSON API under /api/v1, described by OpenAPI 3.1 at /api/v1/openapi.json.

Reads answer what the pages answer (actors, persons, roles, contact paths, who
is on call, call trees resolved, collaboration patterns, scenarios, the mode
in force, search and reverse lookup) to anyone signed in; confidential paths
follow the pages' rule (`security.may_see`). Writes are validated by the
pages' own forms (same rules, same messages), saved by the same `services`
functions and allowed by the same `security.can_edit`: editors change their
own actors' entries, admins everything.

A client signs in with a personal token (`Authorization: Bearer kv_…`, see
`tokens`) or with the browser session. A request that sends a token is signed
in by the token alone: its session cookie is neither read nor written, and it
needs no CSRF token, since another site cannot make a browser send that
header. An unsafe request on a session must carry the CSRF token
(`X-CSRFToken`), as the pages' forms do. Lists are paginated
(`page`, `per_page`) in id order. Every GET has an `ETag` and honours
`If-None-Match`; an entry's ETag (or version) in `If-Match` makes a write
conditional, answered with 412 when stale. Errors are RFC 9457
`application/problem+json`, validation failures with `errors: [{field, message}]`.

Registering `bp` (as `create_app` does) also runs `init_app`: the token page,
the bearer sign-in and `flask tokens`.
"""

import hashlib
import math
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    request,
    url_for,
)
from flask.sessions import SecureCookieSession
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import Forbidden
from werkzeug.http import HTTP_STATUS_CODES
from wtforms.fields.choices import SelectChoice

from directory.accounts import credentials
from directory.api import openapi
from directory.calltrees import rules as calltrees
from directory.core import entries as services
from directory.core.errors import problem
from directory.core.extensions import csrf, db, limiter, login_manager
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    CallTree,
    CollaborationPattern,
    ContactKind,
    ContactPoint,
    Mode,
    Override,
    Person,
    Role,
    Scenario,
    Shift,
    utcnow,
)
from directory.core.modes import mode_for, mode_states, paths_for_mode, region_mode
from directory.core.numbers import display_phone, tel_uri
from directory.core.patterns import occurrences
from directory.core.schedules import on_call_for_roles
from directory.core.security import can_edit, editable_actor_ids, get_for_edit, is_admin, visible
from directory.core.settings import VIEWERS_SEE_CONFIDENTIAL, get_setting
from directory.editing.forms import (
    ActorForm,
    ContactPointForm,
    OverrideForm,
    PersonForm,
    RoleForm,
    ShiftForm,
    person_choices,
)
from directory.lookup.callers import caller_of, national_name
from directory.lookup.search import MAX_RESULTS, lookup_number, search
from directory.review.rules import review_due_at

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
DEFAULT_PER_PAGE, MAX_PER_PAGE = openapi.DEFAULT_PER_PAGE, openapi.MAX_PER_PAGE
MAX_PAGE, MAX_ID = openapi.MAX_PAGE, openapi.MAX_ID
# Moments the API reasons about: far enough for any schedule, near enough
# that date arithmetic in the schedules never leaves Python's calendar.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
NEXT_MEETINGS = 3


# --- Setup ----------------------------------------------------------------


def init_app(app: Flask) -> None:
    """Bearer sign-in, the CSRF rule for the API, the token page and `flask tokens`."""
    if app.extensions.get("kontaktvagar_api"):
        return
    app.extensions["kontaktvagar_api"] = True
    login_manager.request_loader(_user_from_bearer_token)
    app.session_interface = TokenRequestsIgnoreTheSession(app.session_interface)
    # The global CSRF check would refuse bearer requests; `_authenticate`
    # applies it to session requests instead.
    csrf.exempt(bp)


bp.record_once(lambda state: init_app(state.app))


def sends_a_token(req) -> bool:
    """An API request with an Authorization header: the token alone signs it in."""
    return req.path.startswith(bp.url_prefix + "/") and bool(req.headers.get("Authorization"))


class TokenRequestsIgnoreTheSession:
    """The app's session interface, except for API requests that send a token.

    Those get an empty session that is never saved: Flask-Login then asks the
    request loader (the token), not the cookie, and no cookie is set in
    return. Without this, an anonymous session cookie (a chosen language, say)
    would make Flask-Login's strong session protection ignore the token.
    """

    def __init__(self, inner):
        self.inner = inner

    def open_session(self, app, req):
        if sends_a_token(req):
            return SecureCookieSession()
        return self.inner.open_session(app, req)

    def save_session(self, app, session, response):
        if has_request_context() and sends_a_token(request):
            return None
        return self.inner.save_session(app, session, response)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _user_from_bearer_token(req):
    """Flask-Login's request loader: a valid API token signs its user in."""
    if not sends_a_token(req):
        return None  # tokens open the API, not the pages
    token = credentials.authenticate(req.headers.get("Authorization"))
    if token is None:
        return None
    g.api_token = token
    return token.user


# --- Errors ---------------------------------------------------------------


class ApiError(Exception):
    """An answer other than success, as problem+json."""

    def __init__(self, status: int, detail: str = "", *, errors=None, headers=None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, str(detail), errors
        self.headers, self.extra = headers or {}, extra


class Invalid(ApiError):
    """A 422 with the failing fields and why."""

    def __init__(self, errors: list[dict]):
        super().__init__(422, _("Some fields are not valid."), errors=errors)


def invalid(field: str, message) -> Invalid:
    return Invalid([{"field": field, "message": str(message)}])


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    extra = dict(error.extra)
    if error.errors is not None:
        extra["errors"] = [
            {"field": e["field"], "message": str(e["message"])} for e in error.errors
        ]
    response = problem(
        error.status, HTTP_STATUS_CODES.get(error.status, "Error"), error.detail, **extra
    )
    response.headers.update(error.headers)
    return response


@bp.before_request
def _authenticate():
    """Settle how the request is signed in; session requests that change data need CSRF."""
    signed_in = current_user.is_authenticated  # runs the loaders, if nothing has yet
    if sends_a_token(request) and (g.get("api_token") is None or not signed_in):
        # Only reached if the token did not sign the request in (the session
        # is ignored for it), e.g. on an endpoint open without sign-in.
        raise ApiError(401, _("The bearer token is not valid, or was revoked."))
    if request.method in UNSAFE_METHODS and g.get("api_token") is None:
        try:
            csrf.protect()
        except CSRFError as error:
            raise ApiError(
                403,
                _("%(reason)s Send the CSRF token in the X-CSRFToken header, or use a"
                  " bearer token.", reason=error.description),
            ) from None
    return None


@bp.after_request
def _challenge(response):
    if response.status_code == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    return response


# --- Reading requests -----------------------------------------------------


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def parse_moment(raw: str, field: str) -> datetime:
    """An ISO 8601 moment; without an offset it is local time in the region."""
    try:
        moment = datetime.fromisoformat(raw.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_tz())
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid(field, _l("Give a date and time like 2026-12-24T03:00 (local time)"
                                " or 2026-12-24T03:00+01:00.")) from None
    if not EARLIEST <= moment < LATEST:
        raise invalid(field, _l("Give a date and time between 1970 and 2199."))
    return moment


def _moment_arg(name: str) -> datetime | None:
    raw = request.args.get(name)
    return parse_moment(raw, name) if raw else None


def _int_arg(name: str, default=None, *, low=1, high=MAX_ID) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not low <= int(raw) <= high:
        raise invalid(name, _l("Give a whole number from %(low)d to %(high)d.",
                               low=low, high=high))
    return int(raw)


def _choice_arg(name: str, choices) -> str | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    values = [c.value for c in choices]
    if raw not in values:
        raise invalid(name, _l("Choose one of: %(values)s.", values=", ".join(values)))
    return raw


def _get(model, ident: int):
    """A live entry or 404 (ids past the column's range are simply not found)."""
    entry = db.session.get(model, ident) if 0 < ident <= MAX_ID else None
    if entry is None or entry.deleted_at is not None:
        raise ApiError(404, _("There is no such entry."))
    return entry


def _for_edit(model, ident: int):
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


def _answer(body, *, status=200, etag=None, headers=None):
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


def _pagination() -> tuple[int, int]:
    page = _int_arg("page", 1, high=MAX_PAGE)
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, high=MAX_PER_PAGE)
    return page, per_page


def _page_links(page: int, pages: int, per_page: int) -> str:
    # Not url_for's own keywords (_external, _scheme…): they are not filters.
    args = {k: v for k, v in request.args.items() if not k.startswith("_")}
    links = []
    for rel, number in (("first", 1), ("prev", page - 1), ("next", page + 1), ("last", pages)):
        if 1 <= number <= pages and (rel in ("first", "last") or number != page):
            url = url_for(request.endpoint, **(request.view_args or {}),
                          **{**args, "page": number, "per_page": per_page})
            links.append(f'<{url}>; rel="{rel}"')
    return ", ".join(links)


def _paginated(query, serialize, *, page_filter=None):
    """One page of `query` in id order, with the total and Link headers."""
    page, per_page = _pagination()
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
    return _answer(body, headers={"Link": links} if links else None)


# --- Representations -------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _clock(value: time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def _entry_fields(entry) -> dict:
    return {"id": entry.id, "version": entry.version, "updated_at": iso(entry.updated_at)}


def actor_json(actor: Actor) -> dict:
    return {
        **_entry_fields(actor),
        "slug": actor.slug,
        "name": actor.name,
        "short_name": actor.short_name,
        "kind": actor.kind.value,
        "level": actor.level.value,
        "parent_id": actor.parent_id,
        "notes": actor.notes,
        "review_interval_days": actor.review_interval_days,
        "last_reviewed_at": iso(actor.last_reviewed_at),
        "review_due_at": iso(review_due_at(actor)),
        "is_demo": actor.is_demo,
    }


def person_json(person: Person) -> dict:
    return {**_entry_fields(person), "actor_id": person.actor_id, "name": person.name,
            "title": person.title, "notes": person.notes}


def role_json(role: Role) -> dict:
    return {**_entry_fields(role), "actor_id": role.actor_id, "name": role.name,
            "short_name": role.short_name, "description": role.description}


def owner_type(point: ContactPoint) -> str:
    for kind in ("actor", "role", "person", "pattern"):
        if getattr(point, f"{kind}_id") is not None:
            return kind
    raise ValueError("a contact point without an owner")


def _display(point: ContactPoint) -> str:
    if not point.kind.is_phone:
        return point.value
    try:
        return display_phone(point.value, current_app.config["DEFAULT_REGION"])
    except Exception:  # an old, unparsed value is shown as stored
        return point.value


def _uri(point: ContactPoint) -> str | None:
    if point.kind.is_phone:
        return tel_uri(point.value)
    if point.kind is ContactKind.EMAIL:
        return f"mailto:{point.value}"
    if point.kind is ContactKind.WEB:
        return point.value
    return None


def point_json(point: ContactPoint) -> dict:
    kind = owner_type(point)
    return {
        **_entry_fields(point),
        "owner_type": kind,
        "owner_id": getattr(point, f"{kind}_id"),
        "kind": point.kind.value,
        "value": point.value,
        "display": _display(point),
        "uri": _uri(point),
        "pin": point.pin,
        "label": point.label,
        "mode": point.mode.value,
        "priority": point.priority,
        "available_from": _clock(point.available_from),
        "available_until": _clock(point.available_until),
        "weekdays": point.weekdays,
        "confidential": point.confidential,
    }


def shift_json(shift: Shift) -> dict:
    return {**_entry_fields(shift), "role_id": shift.role_id, "person_id": shift.person_id,
            "starts_at": iso(shift.starts_at), "ends_at": iso(shift.ends_at),
            "note": shift.note}


def override_json(override: Override) -> dict:
    return {**_entry_fields(override), "role_id": override.role_id,
            "person_id": override.person_id, "replaces_person_id": override.replaces_person_id,
            "starts_at": iso(override.starts_at), "ends_at": iso(override.ends_at),
            "reason": override.reason}


def ref_json(entry) -> dict | None:
    """A short reference to an actor, role, person or pattern."""
    if entry is None:
        return None
    kind = {Actor: "actor", Role: "role", Person: "person",
            CollaborationPattern: "pattern"}[type(entry)]
    actor_id = entry.id if isinstance(entry, Actor) else entry.owning_actor_id
    return {"type": kind, "id": entry.id, "name": entry.name, "actor_id": actor_id,
            "label": calltrees.target_label(entry) if kind != "pattern" else entry.name}


def on_call_json(on_call) -> dict:
    return {"source": on_call.source, "person": ref_json(on_call.person),
            "starts_at": iso(on_call.starts_at), "ends_at": iso(on_call.ends_at)}


def mode_json(state) -> dict:
    scenario = state.scenario
    return {
        "mode": state.mode.value,
        "scope": state.scope,
        "since": iso(state.since),
        "reason": state.reason,
        "scenario_id": scenario.id if scenario else None,
    }


def tree_json(tree: CallTree) -> dict:
    return {**_entry_fields(tree), "name": tree.name, "actor_id": tree.actor_id,
            "mode": tree.mode.value, "scenario_id": tree.scenario_id,
            "revision": tree.revision, "valid_from": _day(tree.valid_from),
            "next_review_on": _day(tree.next_review_on), "notes": tree.notes}


def _reach_json(reach) -> dict:
    return {
        "target": ref_json(reach.target),
        "on_call": on_call_json(reach.on_call) if reach.on_call is not None else None,
        "contact_points": [point_json(p) for p in reach.paths],
        "escalate_after_minutes": reach.escalate_after_minutes,
    }


def _node_json(resolved) -> dict:
    return {
        "id": resolved.node.id,
        "depth": resolved.depth,
        "instructions": resolved.node.instructions,
        **_reach_json(resolved.reach),
        "alternates": [_reach_json(a) for a in resolved.alternates],
        "warnings": list(resolved.warnings),
        "children": [_node_json(child) for child in resolved.children],
    }


def pattern_json(pattern: CollaborationPattern, now: datetime) -> dict:
    return {
        **_entry_fields(pattern),
        "name": pattern.name,
        "convener_actor_id": pattern.convener_actor_id,
        "convener_role_id": pattern.convener_role_id,
        "mode": pattern.mode.value,
        "scenario_id": pattern.scenario_id,
        "recurrence": pattern.recurrence,
        "starts_on": _day(pattern.starts_on),
        "duration_minutes": pattern.duration_minutes,
        "meeting_place": pattern.meeting_place,
        "purpose": pattern.purpose,
        "mandate": pattern.mandate,
        "participants": [{"actor_id": p.actor_id, "role_id": p.role_id}
                         for p in sorted(pattern.participants, key=lambda p: p.actor_id)],
        "channels": [point_json(p) for p in visible(
            sorted((c for c in pattern.channels if c.deleted_at is None),
                   key=lambda c: (c.priority, c.id)))],
        "next_meetings": [iso(m) for m in occurrences(pattern, now, _tz(), NEXT_MEETINGS)],
    }


def scenario_json(scenario: Scenario) -> dict:
    measures = {"preparatory": [], "handling": []}
    for measure in sorted(scenario.measures, key=lambda m: (m.phase.value, m.position)):
        measures[measure.phase.value].append(measure.text)
    return {**_entry_fields(scenario), "slug": scenario.slug, "name": scenario.name,
            "facts": scenario.facts, "assumptions": scenario.assumptions,
            "goal": scenario.goal, "measures": measures}


SERIALIZERS = {Actor: actor_json, Person: person_json, Role: role_json,
               ContactPoint: point_json, Shift: shift_json, Override: override_json}


def _entry_answer(entry, *, status=200, headers=None):
    return _answer(SERIALIZERS[type(entry)](entry), status=status, etag=entry_etag(entry),
                   headers=headers)


# --- Confidential paths -----------------------------------------------------


def visible_points_clause(user):
    """`security.may_see` as SQL, so lists of paths can be paged in the database.

    Every page is still passed through `security.visible`, so if the two ever
    disagree a page comes out short, never with a path it should not show.
    """
    if is_admin(user) or get_setting(VIEWERS_SEE_CONFIDENTIAL):
        return true()
    ids = editable_actor_ids(user)
    if not ids:
        return ContactPoint.confidential.is_(False)
    return or_(
        ContactPoint.confidential.is_(False),
        ContactPoint.actor_id.in_(ids),
        ContactPoint.role_id.in_(select(Role.id).where(Role.actor_id.in_(ids))),
        ContactPoint.person_id.in_(select(Person.id).where(Person.actor_id.in_(ids))),
        ContactPoint.pattern_id.in_(
            select(CollaborationPattern.id).where(CollaborationPattern.convener_actor_id.in_(ids))
        ),
    )


def _visible_or_404(point: ContactPoint) -> ContactPoint:
    if not visible([point]):
        raise ApiError(404, _("There is no such entry."))  # as if it did not exist
    return point


# --- Reads: the directory --------------------------------------------------


@bp.get("/openapi.json", endpoint="openapi")
def openapi_document():
    """The OpenAPI 3.1 description of this API."""
    return _answer(openapi.document())


@bp.get("/actors")
def actors():
    """The actors, in id order; filter by slug, kind or level."""
    query = select(Actor).where(Actor.deleted_at.is_(None)).order_by(Actor.id)
    if slug := request.args.get("slug"):
        query = query.where(Actor.slug == slug)
    if kind := _choice_arg("kind", ActorKind):
        query = query.where(Actor.kind == ActorKind(kind))
    if level := _choice_arg("level", ActorLevel):
        query = query.where(Actor.level == ActorLevel(level))
    return _paginated(query, actor_json)


@bp.get("/actors/<int:actor_id>")
def actor(actor_id):
    """One actor."""
    return _entry_answer(_get(Actor, actor_id))


@bp.get("/actors/<int:actor_id>/mode")
def actor_mode(actor_id):
    """The mode in force for an actor: its own, its parent's, or the region's."""
    return _answer(mode_json(mode_for(_get(Actor, actor_id))))


@bp.get("/persons")
def persons():
    """Persons, in id order; filter by actor."""
    query = select(Person).where(Person.deleted_at.is_(None)).order_by(Person.id)
    if (actor_id := _int_arg("actor_id")) is not None:
        query = query.where(Person.actor_id == actor_id)
    return _paginated(query, person_json)


@bp.get("/persons/<int:person_id>")
def person(person_id):
    """One person."""
    return _entry_answer(_get(Person, person_id))


@bp.get("/roles")
def roles():
    """On-call roles, in id order; filter by actor."""
    query = select(Role).where(Role.deleted_at.is_(None)).order_by(Role.id)
    if (actor_id := _int_arg("actor_id")) is not None:
        query = query.where(Role.actor_id == actor_id)
    return _paginated(query, role_json)


@bp.get("/roles/<int:role_id>")
def role(role_id):
    """One on-call role."""
    return _entry_answer(_get(Role, role_id))


def _live_paths(points, mode: Mode) -> list[dict]:
    applies, _others = paths_for_mode(visible(points), mode)
    return [point_json(p) for p in applies]


@bp.get("/roles/<int:role_id>/on-call")
def role_on_call(role_id):
    """Who is on call for a role now (or at `at`), and the numbers for the mode in force."""
    role = _get(Role, role_id)
    at = _moment_arg("at") or utcnow()
    on_call = on_call_for_roles([role], at, _tz())[role.id]
    mode = mode_for(role.actor)
    person = on_call.person
    return _answer({
        "role": ref_json(role),
        "at": iso(at),
        "mode": mode.mode.value,
        "on_call": on_call_json(on_call),
        "role_contact_points": _live_paths(role.contact_points, mode.mode),
        "person_contact_points": _live_paths(person.contact_points, mode.mode) if person else [],
    })


@bp.get("/on-call")
def on_call():
    """Who is on call now (or at `at`) for each role, in id order; filter by actor."""
    query = (select(Role).where(Role.deleted_at.is_(None)).order_by(Role.id)
             .options(selectinload(Role.actor)))
    if (actor_id := _int_arg("actor_id")) is not None:
        query = query.where(Role.actor_id == actor_id)
    at = _moment_arg("at") or utcnow()
    answers = {}

    def resolve(rows):
        answers.update(on_call_for_roles(rows, at, _tz()))
        return rows

    def serialize(role):
        return {"role": ref_json(role), "at": iso(at), "on_call": on_call_json(answers[role.id])}

    return _paginated(query, serialize, page_filter=resolve)


@bp.get("/contact-points")
def contact_points():
    """Contact paths you may see, in id order; filter by owner or kind."""
    query = (select(ContactPoint)
             .where(ContactPoint.deleted_at.is_(None), visible_points_clause(current_user))
             .order_by(ContactPoint.id))
    kind = _choice_arg("owner_type", openapi.OwnerType)
    owner_id = _int_arg("owner_id")
    if (kind is None) != (owner_id is None):
        raise invalid("owner_type" if kind is None else "owner_id",
                      _l("Give owner_type and owner_id together."))
    if kind is not None:
        query = query.where(getattr(ContactPoint, f"{kind}_id") == owner_id)
    if point_kind := _choice_arg("kind", ContactKind):
        query = query.where(ContactPoint.kind == ContactKind(point_kind))
    return _paginated(query, point_json, page_filter=visible)


@bp.get("/contact-points/<int:point_id>")
def contact_point(point_id):
    """One contact path (not found when it is confidential and not for you)."""
    return _entry_answer(_visible_or_404(_get(ContactPoint, point_id)))


def _period_query(model):
    query = select(model).where(model.deleted_at.is_(None)).order_by(model.id)
    if (role_id := _int_arg("role_id")) is not None:
        query = query.where(model.role_id == role_id)
    if (person_id := _int_arg("person_id")) is not None:
        query = query.where(model.person_id == person_id)
    if (after := _moment_arg("ends_after")) is not None:
        query = query.where(model.ends_at > after)
    return query


@bp.get("/shifts")
def shifts():
    """Single shifts, in id order; filter by role, person, or those ending after a moment."""
    return _paginated(_period_query(Shift), shift_json)


@bp.get("/shifts/<int:shift_id>")
def shift(shift_id):
    """One shift."""
    return _entry_answer(_get(Shift, shift_id))


@bp.get("/overrides")
def overrides():
    """Overrides, in id order; filter by role, person, or those ending after a moment."""
    return _paginated(_period_query(Override), override_json)


@bp.get("/overrides/<int:override_id>")
def override(override_id):
    """One override."""
    return _entry_answer(_get(Override, override_id))


# --- Reads: call trees, patterns, scenarios, mode, search ------------------


@bp.get("/call-trees")
def call_trees():
    """Call trees, in id order; filter by owning actor or mode."""
    query = select(CallTree).where(CallTree.deleted_at.is_(None)).order_by(CallTree.id)
    if (actor_id := _int_arg("actor_id")) is not None:
        query = query.where(CallTree.actor_id == actor_id)
    if mode := _choice_arg("mode", Mode):
        query = query.where(CallTree.mode == Mode(mode))
    return _paginated(query, tree_json)


@bp.get("/call-trees/<int:tree_id>")
def call_tree(tree_id):
    """A call tree resolved for its mode now (or at `at`): who, which numbers, then whom."""
    _get(CallTree, tree_id)
    tree = calltrees.load_tree(tree_id)
    at = _moment_arg("at") or utcnow()
    resolved = calltrees.resolve_tree(tree, at, _tz())  # need-to-know: all shown
    return _answer({**tree_json(tree), "at": iso(at),
                    "nodes": [_node_json(node) for node in resolved]})


def _pattern_query():
    return (select(CollaborationPattern)
            .where(CollaborationPattern.deleted_at.is_(None))
            .options(selectinload(CollaborationPattern.participants),
                     selectinload(CollaborationPattern.channels))
            .order_by(CollaborationPattern.id))


@bp.get("/patterns")
def patterns():
    """Collaboration patterns with their channels and next meetings; filter by convener."""
    query = _pattern_query()
    if (actor_id := _int_arg("actor_id")) is not None:
        query = query.where(CollaborationPattern.convener_actor_id == actor_id)
    now = utcnow()
    return _paginated(query, lambda p: pattern_json(p, now))


@bp.get("/patterns/<int:pattern_id>")
def pattern(pattern_id):
    """One collaboration pattern with its channels and next meetings."""
    return _answer(pattern_json(_get(CollaborationPattern, pattern_id), utcnow()))


@bp.get("/scenarios")
def scenarios():
    """Scenarios and their agreed directions, in id order."""
    query = (select(Scenario).where(Scenario.deleted_at.is_(None))
             .options(selectinload(Scenario.measures)).order_by(Scenario.id))
    return _paginated(query, scenario_json)


@bp.get("/scenarios/<int:scenario_id>")
def scenario(scenario_id):
    """One scenario: facts, assumptions, goal and prioritised measures per phase."""
    return _answer(scenario_json(_get(Scenario, scenario_id)))


@bp.get("/mode")
def mode():
    """The mode in force for the region, and the actors with a mode of their own."""
    states = mode_states()
    own = sorted(
        ({"actor_id": int(scope.split(":", 1)[1]), **mode_json(state)}
         for scope, state in states.items() if scope.startswith("actor:")),
        key=lambda item: item["actor_id"],
    )
    return _answer({"region": mode_json(region_mode(states)), "actors": own})


def _actor_of(entry) -> Actor | None:
    if isinstance(entry, Actor):
        return entry
    actor_id = getattr(entry, "owning_actor_id", None)
    return db.session.get(Actor, actor_id) if actor_id is not None else None


SEARCH_TYPES = {"collaboration_pattern": "pattern"}


def _hit_json(hit, states, on_call_now) -> dict:
    entry = hit.entry
    kind = SEARCH_TYPES.get(hit.entity_type, hit.entity_type)
    if isinstance(entry, ContactPoint):
        owner, name = entry.owner, entry.label or entry.value
        actor = _actor_of(owner)
        mode = mode_for(actor, states)
        paths = [point_json(entry)]
    else:
        owner, name = None, entry.name
        actor = _actor_of(entry)
        mode = mode_for(actor, states)
        points = getattr(entry, "contact_points", None) or getattr(entry, "channels", None)
        paths = _live_paths(points or [], mode.mode)
    return {
        "type": kind,
        "id": entry.id,
        "name": name,
        "owner": ref_json(owner),
        "actor": ref_json(actor),
        "mode": mode.mode.value,
        "contact_points": paths,
        "on_call": on_call_json(on_call_now[entry.id]) if isinstance(entry, Role) else None,
    }


@bp.get("/search")
def search_directory():
    """Search by name, role or label ("haninge tib"): best first, paths for the mode in force."""
    query = (request.args.get("q") or "").strip()[:200]
    if not query:
        raise invalid("q", _l("Type what to search for."))
    limit = _int_arg("limit", 20, high=MAX_RESULTS)
    hits = [h for h in search(query, limit=limit)
            if not isinstance(h.entry, ContactPoint) or visible([h.entry])]
    roles = [h.entry for h in hits if isinstance(h.entry, Role)]
    on_call_now = on_call_for_roles(roles, utcnow(), _tz())
    states = mode_states()
    return _answer({"query": query,
                    "results": [_hit_json(hit, states, on_call_now) for hit in hits]})


@bp.get("/lookup")
def lookup():
    """Reverse lookup: who has this number? Any common way of writing it works."""
    typed = (request.args.get("number") or "").strip()[:100]
    if not typed:
        raise invalid("number", _l("Type a phone number."))
    found = lookup_number(typed)
    if found.error:
        raise invalid("number", found.error)
    results = []
    shown = visible(found.points)
    for point in shown:
        owner = point.owner
        actor = _actor_of(owner)
        results.append({"contact_point": point_json(point), "owner": ref_json(owner),
                        "actor": ref_json(actor)})
    # A hidden number names its caller (actor and role; the person if allowed),
    # never the path itself (DESIGN: "Reverse lookup names the caller").
    callers = [caller_of(p) for p in found.points if p not in shown]
    return _answer({"query": typed, "number": found.number, "is_short": found.is_short,
                    "national": national_name(found.number),
                    "results": results,
                    "callers": [{"actor": ref_json(c.actor),
                                 "roles": [ref_json(r) for r in c.roles],
                                 "person": ref_json(c.person),
                                 "pattern": ref_json(c.pattern)} for c in callers]})


# --- Writes -----------------------------------------------------------------


def _require_some_edit_right() -> None:
    """Viewers change nothing: refused before anything about the body is told."""
    if not is_admin(current_user) and not editable_actor_ids(current_user):
        raise ApiError(403, _("You may not change entries."))


def _json_body() -> dict:
    if not request.is_json:
        raise ApiError(415, _("Send the body as application/json."))
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than any real body; json gives up
        raise ApiError(400, _("The body is nested too deeply.")) from None
    if not isinstance(body, dict):
        raise ApiError(400, _("The body must be a JSON object."))
    return body


def _expected_version(entry) -> int | None:
    """The version named by If-Match, checked now: 412 when it is not the current one."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    wanted = [tag.strip() for tag in header.split(",")]
    if "*" in wanted:
        return entry.version
    current = entry_etag(entry)
    for tag in wanted:
        bare = tag.removeprefix("W/")
        if bare == current or bare.strip('"') == str(entry.version):
            return entry.version
    raise _stale(entry, since=_version_in(wanted[0]))


def _version_in(tag: str) -> int | None:
    """The version an ETag (`"person-7-v3"`) or a bare version (`3`) names."""
    digits = tag.removeprefix("W/").strip('"').rpartition("-v")[2]
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 10 else None


def _stale(entry, events=None, *, since: int | None = None) -> ApiError:
    """412, with the fields others changed since the version the client read."""
    if events is None:
        events = services.changes_since(entry, since) if since is not None else []
    changed = sorted({key for e in events for key in (e.after or {}) if not key.startswith("_")})
    return ApiError(
        412,
        _("The entry was changed since the version you sent. Read it again, then retry."),
        headers={"ETag": entry_etag(entry)},
        current_version=entry.version,
        changed_fields=changed,
    )


def _text_ok(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def _type_error(value, schema: dict):
    """Why a JSON value does not have its field's type (None: it does)."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if value is None:
        return None if "null" in kinds else _l("This field may not be null.")
    if "string" in kinds and isinstance(value, str):
        return None if _text_ok(value) else _l("The text contains characters that cannot"
                                               " be stored.")
    if "integer" in kinds and isinstance(value, int) and not isinstance(value, bool):
        return None  # its range is the form's to check, with the form's message
    if "boolean" in kinds and isinstance(value, bool):
        return None
    return {"string": _l("Give a text."), "integer": _l("Give a whole number."),
            "boolean": _l("Give true or false.")}.get(kinds[0], _l("Not a valid value."))


def _check_body(body: dict, schema: dict, current: dict | None) -> dict:
    """The writable fields of a body, type-checked against their JSON Schema.

    Fields of the entry's own representation may be sent back unchanged (a
    client may send what it read); changing them here is refused. A `version`
    sent back is a precondition, like If-Match (checked before this).
    """
    errors, values = [], {}
    properties, required = schema["properties"], schema.get("required", [])
    for key, value in body.items():
        if key in properties:
            problem_ = _type_error(value, properties[key])
            if problem_ is None and "enum" in properties[key] and value is not None \
                    and value not in properties[key]["enum"]:
                problem_ = _l("Not a valid choice.")
            if problem_ is not None:
                errors.append({"field": key, "message": problem_})
            else:
                values[key] = value
        elif current is not None and key == "version":
            if not isinstance(value, int) or isinstance(value, bool):
                errors.append({"field": key, "message": _l("Give a whole number.")})
        elif current is not None and key in current:
            if current[key] != value:
                errors.append({"field": key, "message": _l("This field cannot be changed here.")})
        else:
            errors.append({"field": key, "message": _l("Unknown field.")})
    for key in required:
        if key not in body:
            errors.append({"field": key, "message": _l("This field is required.")})
    if errors:
        raise Invalid(errors)
    return values


def _form_value(value):
    """An entry's value as a form post would carry it."""
    if value is None or value is False:
        return None
    if value is True:
        return "y"
    if hasattr(value, "value"):  # an enum
        return value.value
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, datetime):  # compared, not stored: UTC wall-clock
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    return str(value)


def _validated_form(form_class, values: dict, prepare=None):
    """The page's form, filled as if posted with `values`, validated."""
    formdata = MultiDict()
    for name, value in values.items():
        posted = _form_value(value)
        if posted is not None:
            formdata.add(name, posted)
    form = form_class(formdata=formdata, meta={"csrf": False})
    if prepare is not None:
        prepare(form)
    if not form.validate():
        raise Invalid([
            {"field": name or "", "message": message}
            for name, messages in form.errors.items()
            for message in messages
        ])
    return form


def _current_values(entry, form_class) -> dict:
    form = form_class(formdata=None, meta={"csrf": False})
    return {name: getattr(entry, name) for name in form._fields
            if name not in form_class.NOT_VALUES and hasattr(entry, name)}


def _save(entry, form, *, expected_version, extra=None, after=None):
    """Save through the services; conflicts as 409/412, clashes as 409."""
    values = {**form.values(), **(extra or {})}
    try:
        services.save(entry, values, expected_version)
        form.after_save(entry)
        if after is not None:
            after(entry)
        db.session.commit()
    except services.ConflictError as error:
        db.session.rollback()
        fresh = db.session.get(type(entry), entry.id)
        raise _stale(fresh, error.events) from None
    except StaleDataError:
        db.session.rollback()
        raise ApiError(409, _("Someone else saved this entry at the same moment. Read it"
                              " again, then retry.")) from None
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, _("This entry clashes with an existing one (same name or"
                              " slug?).")) from None
    return entry


def _write(entry, form_class, body: dict, schema_name: str, *, is_new: bool,
           defaults=None, prepare=None, moments=()):
    """Validate a body with the page's form and save it: the one path for writes.

    `moments` are fields the API takes as exact ISO 8601 moments (the form
    only checks them, to the minute, in UTC).
    """
    current = None if is_new else SERIALIZERS[type(entry)](entry)
    expected = None if is_new else _expected_version(entry)
    sent_version = body.get("version") if current is not None else None
    if isinstance(sent_version, int) and not isinstance(sent_version, bool) \
            and sent_version != entry.version:
        raise _stale(entry, since=sent_version)  # before the fields that changed with it
    values = _check_body(body, openapi.write_schema(schema_name, create=is_new), current)
    exact = {}
    errors = []
    for name in moments:
        if isinstance(values.get(name), str):
            try:
                exact[name] = parse_moment(values[name], name)
            except Invalid as error:
                errors += error.errors
    if errors:
        raise Invalid(errors)
    merged = {**(defaults or {}), **({} if is_new else _current_values(entry, form_class))}
    merged.update({k: v for k, v in values.items() if k not in exact})
    merged.update(exact)
    form = _validated_form(form_class, merged, prepare)
    extra = {name: merged[name] for name in moments if name in merged}
    return _save(entry, form, expected_version=expected, extra=extra)


def _created(entry):
    endpoint = {Person: "api.person", Role: "api.role", ContactPoint: "api.contact_point",
                Shift: "api.shift", Override: "api.override"}[type(entry)]
    key = {Person: "person_id", Role: "role_id", ContactPoint: "point_id",
           Shift: "shift_id", Override: "override_id"}[type(entry)]
    return _entry_answer(entry, status=201,
                         headers={"Location": url_for(endpoint, **{key: entry.id})})


def _parent(body: dict, field: str, model):
    """The live entry a new one belongs to, named by id in the body; 403 if not yours."""
    value = body.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        return None  # missing or not a number: said by the body's check
    parent = db.session.get(model, value) if 0 < value <= MAX_ID else None
    if parent is None or parent.deleted_at is not None:
        raise invalid(field, _l("There is no such entry."))
    if not can_edit(current_user, parent):
        raise ApiError(403, _("You may not change this entry."))
    return parent


def _delete(entry):
    try:
        services.soft_delete(entry, _expected_version(entry))
        db.session.commit()
    except services.ConflictError as error:
        db.session.rollback()
        raise _stale(db.session.get(type(entry), entry.id), error.events) from None
    except StaleDataError:
        db.session.rollback()
        raise ApiError(409, _("Someone else saved this entry at the same moment. Read it"
                              " again, then retry.")) from None
    response = current_app.response_class(status=204)
    response.headers.pop("Content-Type", None)
    return response


@bp.patch("/actors/<int:actor_id>")
def actor_update(actor_id):
    """Change an actor's details (its editors and admins)."""
    actor = _for_edit(Actor, actor_id)
    return _entry_answer(_write(actor, ActorForm, _json_body(), "Actor", is_new=False))


@bp.post("/actors/<int:actor_id>/review")
def actor_review(actor_id):
    """Confirm that the actor's entries are reviewed and still correct."""
    actor = _for_edit(Actor, actor_id)
    _expected_version(actor)
    services.confirm_review(actor, current_user)
    db.session.commit()
    return _entry_answer(actor)


@bp.post("/persons")
def person_create():
    """Add a person to an actor you edit."""
    _require_some_edit_right()
    body = _json_body()
    actor = _parent(body, "actor_id", Actor)
    person = Person(actor_id=actor.id if actor else None)
    _write(person, PersonForm, body, "Person", is_new=True)
    return _created(person)


@bp.patch("/persons/<int:person_id>")
def person_update(person_id):
    """Change a person."""
    person = _for_edit(Person, person_id)
    return _entry_answer(_write(person, PersonForm, _json_body(), "Person", is_new=False))


@bp.delete("/persons/<int:person_id>")
def person_delete(person_id):
    """Delete a person (restorable from the history)."""
    return _delete(_for_edit(Person, person_id))


@bp.post("/roles")
def role_create():
    """Add an on-call role to an actor you edit."""
    _require_some_edit_right()
    body = _json_body()
    actor = _parent(body, "actor_id", Actor)
    role = Role(actor_id=actor.id if actor else None)
    _write(role, RoleForm, body, "Role", is_new=True)
    return _created(role)


@bp.patch("/roles/<int:role_id>")
def role_update(role_id):
    """Change an on-call role."""
    role = _for_edit(Role, role_id)
    return _entry_answer(_write(role, RoleForm, _json_body(), "Role", is_new=False))


@bp.delete("/roles/<int:role_id>")
def role_delete(role_id):
    """Delete an on-call role (restorable from the history)."""
    return _delete(_for_edit(Role, role_id))


OWNER_MODELS = {"actor": Actor, "role": Role, "person": Person,
                "pattern": CollaborationPattern}


@bp.post("/contact-points")
def contact_point_create():
    """Add a contact path to an actor, role, person or pattern you edit."""
    _require_some_edit_right()
    body = _json_body()
    kind = body.get("owner_type")
    owner = (_parent(body, "owner_id", OWNER_MODELS[kind])
             if isinstance(kind, str) and kind in OWNER_MODELS else None)
    point = ContactPoint(**({f"{kind}_id": owner.id} if owner else {}))
    _write(point, ContactPointForm, body, "ContactPoint", is_new=True,
           defaults=openapi.WRITES["ContactPoint"].defaults)
    return _created(point)


@bp.patch("/contact-points/<int:point_id>")
def contact_point_update(point_id):
    """Change a contact path: number, label, mode, PACE order, hours."""
    point = _for_edit(ContactPoint, point_id)
    return _entry_answer(_write(point, ContactPointForm, _json_body(), "ContactPoint",
                                is_new=False))


@bp.delete("/contact-points/<int:point_id>")
def contact_point_delete(point_id):
    """Delete a contact path (restorable from the history)."""
    return _delete(_for_edit(ContactPoint, point_id))


def _persons_of(actor_id: int):
    """The pages' choice of who may staff a role: the actor's live persons."""

    def prepare(form):
        choices = person_choices(actor_id)
        form.person_id.choices = choices
        if hasattr(form, "replaces_person_id"):
            form.replaces_person_id.choices = [SelectChoice(0, "–"), *choices]

    return prepare


PERIOD_MOMENTS = ("starts_at", "ends_at")


def _period_create(model, form_class, schema_name):
    _require_some_edit_right()
    body = _json_body()
    role = _parent(body, "role_id", Role)
    entry = model(role_id=role.id if role else None)
    _write(entry, form_class, body, schema_name, is_new=True,
           prepare=_persons_of(role.actor_id) if role else None, moments=PERIOD_MOMENTS)
    return _created(entry)


def _period_update(model, form_class, schema_name, ident):
    entry = _for_edit(model, ident)
    _write(entry, form_class, _json_body(), schema_name, is_new=False,
           prepare=_persons_of(entry.role.actor_id), moments=PERIOD_MOMENTS)
    return _entry_answer(entry)


@bp.post("/shifts")
def shift_create():
    """Add a single shift to a role you edit."""
    return _period_create(Shift, ShiftForm, "Shift")


@bp.patch("/shifts/<int:shift_id>")
def shift_update(shift_id):
    """Change a shift."""
    return _period_update(Shift, ShiftForm, "Shift", shift_id)


@bp.delete("/shifts/<int:shift_id>")
def shift_delete(shift_id):
    """Delete a shift (restorable from the history)."""
    return _delete(_for_edit(Shift, shift_id))


@bp.post("/overrides")
def override_create():
    """Let someone take over a role you edit for a while."""
    return _period_create(Override, OverrideForm, "Override")


@bp.patch("/overrides/<int:override_id>")
def override_update(override_id):
    """Change an override."""
    return _period_update(Override, OverrideForm, "Override", override_id)


@bp.delete("/overrides/<int:override_id>")
def override_delete(override_id):
    """Delete an override (restorable from the history)."""
    return _delete(_for_edit(Override, override_id))
