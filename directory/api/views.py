"""The JSON API under /api/v1, described by OpenAPI 3.1 at /api/v1/openapi.json.

Every operation names its models (`schemas`) in `spec.operation`: SpecTree
validates the query string and body against them before the view runs and
the answer after, and generates the description from them.

Reads answer what the pages answer (actors, persons, roles, contact paths, who
is on call, rotations, call trees resolved, collaboration patterns, scenarios,
the mode in force, search and reverse lookup) to anyone signed in; confidential
paths follow the pages' rule (`security.may_see`). Writes of entries come from
one table (`KINDS`): each body passes its schema, then the page's own form
(same rules, same messages), is saved by the same `services` functions and
allowed by the same `security.can_edit`: editors change their own actors'
entries, admins everything. The mode switch is the coordinators', as on the
mode page.

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
from collections.abc import Callable
from dataclasses import dataclass, field
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
from pydantic_core import PydanticCustomError
from sqlalchemy import func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import Forbidden
from werkzeug.http import HTTP_STATUS_CODES
from wtforms.fields.choices import SelectChoice

from directory.accounts import credentials
from directory.api import schemas as S
from directory.api.errors import ApiError, Invalid, invalid
from directory.api.spec import document, operation
from directory.calltrees import rules as calltrees
from directory.core import entries as services
from directory.core import escalations
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
    PathMode,
    Person,
    Role,
    Rotation,
    RotationMember,
    Scenario,
    Shift,
    utcnow,
)
from directory.core.modes import (
    ModeError,
    mode_for,
    mode_states,
    paths_for_mode,
    region_mode,
    switch_mode,
)
from directory.core.numbers import display_phone, tel_uri
from directory.core.patterns import occurrences
from directory.core.schedules import on_call_for_roles
from directory.core.security import can_edit, editable_actor_ids, get_for_edit, is_admin, visible
from directory.core.settings import VIEWERS_SEE_CONFIDENTIAL, get_setting
from directory.core.verification import status_of
from directory.editing.forms import (
    ActorForm,
    ContactPointForm,
    OverrideForm,
    PersonForm,
    RoleForm,
    RotationForm,
    ShiftForm,
    person_choices,
)
from directory.lookup.callers import caller_of, national_name
from directory.lookup.search import MAX_RESULTS, lookup_number, search
from directory.reminders.notices import notify_mode_switch
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
MAX_ID = S.MAX_ID
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
        return S.parse_moment(raw)
    except PydanticCustomError as error:
        raise invalid(field, error.message()) from None


def _q():
    """The query string, as validated against the operation's model."""
    return request.context.query


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
    return _q().page, _q().per_page


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
            "short_name": role.short_name, "description": role.description,
            "escalation": escalations.escalation_data(role)}


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
        "verification": verification_json(point),
    }


def verification_json(point: ContactPoint) -> dict:
    status = status_of(point)
    return {"verified_at": iso(status.verified_at),
            "verified_how": status.verified_how.value if status.verified_how else None,
            "failed": status.failed, "failed_at": iso(status.failed_at)}


def shift_json(shift: Shift) -> dict:
    return {**_entry_fields(shift), "role_id": shift.role_id, "person_id": shift.person_id,
            "starts_at": iso(shift.starts_at), "ends_at": iso(shift.ends_at),
            "note": shift.note}


def override_json(override: Override) -> dict:
    return {**_entry_fields(override), "role_id": override.role_id,
            "person_id": override.person_id, "replaces_person_id": override.replaces_person_id,
            "starts_at": iso(override.starts_at), "ends_at": iso(override.ends_at),
            "reason": override.reason}


def rotation_json(rotation: Rotation) -> dict:
    return {**_entry_fields(rotation), "role_id": rotation.role_id, "name": rotation.name,
            "kind": rotation.kind.value, "length_days": rotation.length_days,
            "handover_time": _clock(rotation.handover_time),
            "starts_on": _day(rotation.starts_on), "ends_on": _day(rotation.ends_on),
            "members": [m.person_id for m in rotation.members]}


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
               ContactPoint: point_json, Shift: shift_json, Override: override_json,
               Rotation: rotation_json}


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
@operation(ok=S.OpenAPIDocument, tags=["meta"])
def openapi_document():
    """This description (OpenAPI 3.1), generated from the schemas the API validates with."""
    return _answer(document())


@bp.get("/actors")
@operation(ok=S.PAGES[S.Actor], query=S.ActorsQuery, tags=["directory"])
def actors():
    """The actors, in id order; filter by slug, kind or level."""
    query = select(Actor).where(Actor.deleted_at.is_(None)).order_by(Actor.id)
    if slug := _q().slug:
        query = query.where(Actor.slug == slug)
    if kind := _q().kind:
        query = query.where(Actor.kind == ActorKind(kind))
    if level := _q().level:
        query = query.where(Actor.level == ActorLevel(level))
    return _paginated(query, actor_json)


@bp.get("/actors/<int:actor_id>")
@operation(ok=S.Actor, errors=[404], tags=["directory"])
def actor(actor_id):
    """One actor."""
    return _entry_answer(_get(Actor, actor_id))


@bp.get("/actors/<int:actor_id>/mode")
@operation(ok=S.ModeState, errors=[404], tags=["mode"])
def actor_mode(actor_id):
    """The mode in force for an actor: its own, its parent's, or the region's."""
    return _answer(mode_json(mode_for(_get(Actor, actor_id))))


@bp.get("/persons")
@operation(ok=S.PAGES[S.Person], query=S.ByActorQuery, tags=["directory"])
def persons():
    """Persons, in id order; filter by actor."""
    query = select(Person).where(Person.deleted_at.is_(None)).order_by(Person.id)
    if (actor_id := _q().actor_id) is not None:
        query = query.where(Person.actor_id == actor_id)
    return _paginated(query, person_json)


@bp.get("/persons/<int:person_id>")
@operation(ok=S.Person, errors=[404], tags=["directory"])
def person(person_id):
    """One person."""
    return _entry_answer(_get(Person, person_id))


@bp.get("/roles")
@operation(ok=S.PAGES[S.Role], query=S.ByActorQuery, tags=["directory"])
def roles():
    """On-call roles, in id order; filter by actor."""
    query = select(Role).where(Role.deleted_at.is_(None)).order_by(Role.id)
    if (actor_id := _q().actor_id) is not None:
        query = query.where(Role.actor_id == actor_id)
    return _paginated(query, role_json)


@bp.get("/roles/<int:role_id>")
@operation(ok=S.Role, errors=[404], tags=["directory"])
def role(role_id):
    """One on-call role."""
    return _entry_answer(_get(Role, role_id))


def _live_paths(points, mode: Mode) -> list[dict]:
    applies, _others = paths_for_mode(visible(points), mode)
    return [point_json(p) for p in applies]


@bp.get("/roles/<int:role_id>/on-call")
@operation(ok=S.RoleOnCall, query=S.AtQuery, errors=[404], tags=["on-call"])
def role_on_call(role_id):
    """Who is on call for a role now (or at `at`), and the numbers for the mode in force."""
    role = _get(Role, role_id)
    at = _q().at or utcnow()
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
@operation(ok=S.PAGES[S.OnCallItem], query=S.OnCallQuery, tags=["on-call"])
def on_call():
    """Who is on call now (or at `at`) for each role, in id order; filter by actor."""
    query = (select(Role).where(Role.deleted_at.is_(None)).order_by(Role.id)
             .options(selectinload(Role.actor)))
    if (actor_id := _q().actor_id) is not None:
        query = query.where(Role.actor_id == actor_id)
    at = _q().at or utcnow()
    answers = {}

    def resolve(rows):
        answers.update(on_call_for_roles(rows, at, _tz()))
        return rows

    def serialize(role):
        return {"role": ref_json(role), "at": iso(at), "on_call": on_call_json(answers[role.id])}

    return _paginated(query, serialize, page_filter=resolve)


@bp.get("/contact-points")
@operation(ok=S.PAGES[S.ContactPoint], query=S.ContactPointsQuery, tags=["directory"])
def contact_points():
    """Contact paths you may see, in id order; filter by owner or kind."""
    query = (select(ContactPoint)
             .where(ContactPoint.deleted_at.is_(None), visible_points_clause(current_user))
             .order_by(ContactPoint.id))
    kind, owner_id = _q().owner_type, _q().owner_id
    if (kind is None) != (owner_id is None):
        raise invalid("owner_type" if kind is None else "owner_id",
                      _l("Give owner_type and owner_id together."))
    if kind is not None:
        query = query.where(getattr(ContactPoint, f"{kind}_id") == owner_id)
    if point_kind := _q().kind:
        query = query.where(ContactPoint.kind == ContactKind(point_kind))
    return _paginated(query, point_json, page_filter=visible)


@bp.get("/contact-points/<int:point_id>")
@operation(ok=S.ContactPoint, errors=[404], tags=["directory"])
def contact_point(point_id):
    """One contact path (not found when it is confidential and not for you)."""
    return _entry_answer(_visible_or_404(_get(ContactPoint, point_id)))


def _period_query(model):
    query = select(model).where(model.deleted_at.is_(None)).order_by(model.id)
    if (role_id := _q().role_id) is not None:
        query = query.where(model.role_id == role_id)
    if (person_id := _q().person_id) is not None:
        query = query.where(model.person_id == person_id)
    if (after := _q().ends_after) is not None:
        query = query.where(model.ends_at > after)
    return query


@bp.get("/shifts")
@operation(ok=S.PAGES[S.Shift], query=S.PeriodsQuery, tags=["on-call"])
def shifts():
    """Single shifts, in id order; filter by role, person, or those ending after a moment."""
    return _paginated(_period_query(Shift), shift_json)


@bp.get("/shifts/<int:shift_id>")
@operation(ok=S.Shift, errors=[404], tags=["on-call"])
def shift(shift_id):
    """One shift."""
    return _entry_answer(_get(Shift, shift_id))


@bp.get("/overrides")
@operation(ok=S.PAGES[S.Override], query=S.PeriodsQuery, tags=["on-call"])
def overrides():
    """Overrides, in id order; filter by role, person, or those ending after a moment."""
    return _paginated(_period_query(Override), override_json)


@bp.get("/overrides/<int:override_id>")
@operation(ok=S.Override, errors=[404], tags=["on-call"])
def override(override_id):
    """One override."""
    return _entry_answer(_get(Override, override_id))


@bp.get("/rotations")
@operation(ok=S.PAGES[S.Rotation], query=S.PeriodsQuery, tags=["on-call"])
def rotations():
    """Rotations, in id order; filter by role, person (a member), or those ending after a day."""
    query = (select(Rotation).where(Rotation.deleted_at.is_(None)).order_by(Rotation.id)
             .options(selectinload(Rotation.members)))
    if (role_id := _q().role_id) is not None:
        query = query.where(Rotation.role_id == role_id)
    if (person_id := _q().person_id) is not None:
        query = query.where(Rotation.members.any(RotationMember.person_id == person_id))
    if (after := _q().ends_after) is not None:
        query = query.where(or_(Rotation.ends_on.is_(None),
                                Rotation.ends_on > after.astimezone(_tz()).date()))
    return _paginated(query, rotation_json)


@bp.get("/rotations/<int:rotation_id>")
@operation(ok=S.Rotation, errors=[404], tags=["on-call"])
def rotation(rotation_id):
    """One rotation and its members in turn order."""
    return _entry_answer(_get(Rotation, rotation_id))


# --- Reads: call trees, patterns, scenarios, mode, search ------------------


@bp.get("/call-trees")
@operation(ok=S.PAGES[S.CallTree], query=S.CallTreesQuery, tags=["call trees"])
def call_trees():
    """Call trees, in id order; filter by owning actor or mode."""
    query = select(CallTree).where(CallTree.deleted_at.is_(None)).order_by(CallTree.id)
    if (actor_id := _q().actor_id) is not None:
        query = query.where(CallTree.actor_id == actor_id)
    if mode := _q().mode:
        query = query.where(CallTree.mode == Mode(mode))
    return _paginated(query, tree_json)


@bp.get("/call-trees/<int:tree_id>")
@operation(ok=S.ResolvedCallTree, query=S.AtQuery, errors=[404], tags=["call trees"])
def call_tree(tree_id):
    """A call tree resolved for its mode now (or at `at`): who, which numbers, then whom."""
    _get(CallTree, tree_id)
    tree = calltrees.load_tree(tree_id)
    at = _q().at or utcnow()
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
@operation(ok=S.PAGES[S.Pattern], query=S.ByActorQuery, tags=["coordination"])
def patterns():
    """Collaboration patterns with their channels and next meetings; filter by convener."""
    query = _pattern_query()
    if (actor_id := _q().actor_id) is not None:
        query = query.where(CollaborationPattern.convener_actor_id == actor_id)
    now = utcnow()
    return _paginated(query, lambda p: pattern_json(p, now))


@bp.get("/patterns/<int:pattern_id>")
@operation(ok=S.Pattern, errors=[404], tags=["coordination"])
def pattern(pattern_id):
    """One collaboration pattern with its channels and next meetings."""
    return _answer(pattern_json(_get(CollaborationPattern, pattern_id), utcnow()))


@bp.get("/scenarios")
@operation(ok=S.PAGES[S.Scenario], query=S.Paged, tags=["coordination"])
def scenarios():
    """Scenarios and their agreed directions, in id order."""
    query = (select(Scenario).where(Scenario.deleted_at.is_(None))
             .options(selectinload(Scenario.measures)).order_by(Scenario.id))
    return _paginated(query, scenario_json)


@bp.get("/scenarios/<int:scenario_id>")
@operation(ok=S.Scenario, errors=[404], tags=["coordination"])
def scenario(scenario_id):
    """One scenario: facts, assumptions, goal and prioritised measures per phase."""
    return _answer(scenario_json(_get(Scenario, scenario_id)))


@bp.get("/mode")
@operation(ok=S.ModeOverview, tags=["mode"])
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
@operation(ok=S.SearchResults, query=S.SearchQuery, tags=["lookup"])
def search_directory():
    """Search by name, role or label ("haninge tib"): best first, paths for the mode in force."""
    query = _q().q.strip()
    limit = min(_q().limit, MAX_RESULTS)
    hits = [h for h in search(query, limit=limit)
            if not isinstance(h.entry, ContactPoint) or visible([h.entry])]
    roles = [h.entry for h in hits if isinstance(h.entry, Role)]
    on_call_now = on_call_for_roles(roles, utcnow(), _tz())
    states = mode_states()
    return _answer({"query": query,
                    "results": [_hit_json(hit, states, on_call_now) for hit in hits]})


@bp.get("/lookup")
@operation(ok=S.LookupResults, query=S.LookupQuery, tags=["lookup"])
def lookup():
    """Reverse lookup: who has this number? Any common way of writing it works."""
    typed = _q().number.strip()
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


def _flat(messages) -> list[str]:
    """A field's messages; a list field's come per entry (lists, often empty)."""
    flat = []
    for message in messages:
        if isinstance(message, list | tuple):
            flat += [m for m in _flat(message) if m not in flat]
        elif str(message) not in flat:
            flat.append(str(message))
    return flat


def _validated_form(form_class, values: dict, prepare=None):
    """The page's form, filled as if posted with `values`, validated."""
    formdata = MultiDict()
    for name, value in values.items():
        if isinstance(value, list):  # a FieldList: name-0, name-1, …
            for index, item in enumerate(value):
                formdata.add(f"{name}-{index}", _form_value(item))
            continue
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
            for message in _flat(messages)
        ])
    return form


def _current_values(entry, form_class) -> dict:
    """The entry's values under its form's names (a rotation's members as person ids)."""
    form = form_class(formdata=None, meta={"csrf": False})
    values = {name: getattr(entry, name) for name in form._fields
              if name not in form_class.NOT_VALUES and hasattr(entry, name)}
    if isinstance(entry, Rotation):
        values["members"] = [member.person_id for member in entry.members]
    return values


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


def _sent(model) -> dict:
    """The fields a validated body names (not those left out)."""
    return {name: getattr(model, name) for name in model.model_fields_set}


def _sent_back(entry, extra: dict) -> None:
    """Fields of the entry as read, sent back: allowed unchanged, refused otherwise."""
    current = SERIALIZERS[type(entry)](entry)
    errors = []
    for key, value in extra.items():
        if key == "version":
            if not isinstance(value, int) or isinstance(value, bool):
                errors.append({"field": key, "message": _l("Give a whole number.")})
        elif key not in current:
            errors.append({"field": key, "message": _l("Unknown field.")})
        elif current[key] != value:
            errors.append({"field": key, "message": _l("This field cannot be changed here.")})
    if errors:
        raise Invalid(errors)


def _write(kind: "Kind", entry, body, *, is_new: bool, prepare=None):
    """Validate a body with the page's form and save it: the one path for writes.

    The body has passed its schema (types, fields, choices); the page's form
    then checks it as it checks a post (lengths, numbers, the rules between
    fields), with its messages. `kind.moments` are fields the API takes as
    exact ISO 8601 moments (the form only checks them, to the minute, in UTC).
    """
    expected = None
    if not is_new:
        extra = body.model_extra or {}
        sent_version = extra.get("version")
        expected = _expected_version(entry)
        if isinstance(sent_version, int) and not isinstance(sent_version, bool) \
                and sent_version != entry.version:
            raise _stale(entry, since=sent_version)  # before the fields that changed with it
        _sent_back(entry, extra)
    values = {k: v for k, v in _sent(body).items() if k not in kind.parents}
    exact, errors = {}, []
    for name in kind.moments:
        if isinstance(values.get(name), str):
            try:
                exact[name] = parse_moment(values[name], name)
            except Invalid as error:
                errors += error.errors
    if errors:
        raise Invalid(errors)
    merged = {**kind.defaults, **({} if is_new else _current_values(entry, kind.form))}
    merged.update({k: v for k, v in values.items() if k not in exact})
    merged.update(exact)
    form = _validated_form(kind.form, merged, prepare)
    extra_values = {name: merged[name] for name in kind.moments if name in merged}
    return _save(entry, form, expected_version=expected, extra=extra_values)


def _parent(value: int, field: str, model):
    """The live entry a new one belongs to, named by id in the body; 403 if not yours."""
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


def _persons_of(actor_id: int):
    """The pages' choice of who may staff a role: the actor's live persons."""

    def prepare(form):
        choices = person_choices(actor_id)
        form.person_id.choices = choices
        if hasattr(form, "replaces_person_id"):
            form.replaces_person_id.choices = [SelectChoice(0, "–"), *choices]

    return prepare


OWNER_MODELS = {"actor": Actor, "role": Role, "person": Person,
                "pattern": CollaborationPattern}


def _owner(body) -> dict:
    """A new contact path's owner, named by owner_type and owner_id."""
    owner = _parent(body.owner_id, "owner_id", OWNER_MODELS[body.owner_type])
    return {f"{body.owner_type}_id": owner.id}


def _role_parent(body) -> dict:
    return {"role_id": _parent(body.role_id, "role_id", Role).id}


def _actor_parent(body) -> dict:
    return {"actor_id": _parent(body.actor_id, "actor_id", Actor).id}


def _staff_of_role(entry):
    return _persons_of(db.session.get(Role, entry.role_id).actor_id)


def _members_of_role(entry):
    """A rotation's form offers the role's actor's live persons as members."""
    choices = person_choices(db.session.get(Role, entry.role_id).actor_id)
    return lambda form: form.set_person_choices(choices)


@dataclass(frozen=True)
class Kind:
    """An entry kind the API writes, and how: the table `_register` reads.

    `form` validates it (the page's own), `parents` are the body fields that
    name what a new entry belongs to (and `owner(body)` finds it, 403 when not
    the user's), `defaults` are what a new entry gets for fields left out,
    `prepare(entry)` fills the form's choices, `moments` are exact moments.
    """

    model: type
    form: type
    answer: type
    path: str
    name: str
    tag: str
    parents: dict = field(default_factory=dict)
    owner: Callable | None = None
    defaults: dict = field(default_factory=dict)
    prepare: Callable | None = None
    moments: tuple = ()
    verbs: tuple = ("create", "update", "delete")
    what: str = ""
    example: dict | None = None  # a new entry, where entry 1 of each kind is yours
    change: dict | None = None  # a change of one
    id_name: str = ""  # the id's name in the URL, when not `<name>_id`

    @property
    def key(self) -> str:
        return self.id_name or f"{self.name}_id"


ID = (int, S.ID_SCHEMA)
PERIOD_MOMENTS = ("starts_at", "ends_at")
KINDS = (
    Kind(Actor, ActorForm, S.Actor, "actors", "actor", "directory", verbs=("update",),
         what="an actor's details", change={"notes": "Granskad i december."}),
    Kind(Person, PersonForm, S.Person, "persons", "person", "directory",
         parents={"actor_id": ID}, owner=_actor_parent, what="a person of an actor you edit",
         example={"actor_id": 1, "name": "Cilla Ny", "title": "Kommunikatör"},
         change={"title": "Säkerhetssamordnare"}),
    Kind(Role, RoleForm, S.Role, "roles", "role", "directory",
         parents={"actor_id": ID}, owner=_actor_parent,
         what="an on-call role of an actor you edit",
         example={"actor_id": 1, "name": "Krisledningsstab", "short_name": "KLS"},
         change={"description": "Dygnet runt."}),
    Kind(ContactPoint, ContactPointForm, S.ContactPoint, "contact-points", "contact_point",
         "directory",
         parents={"owner_type": (S.OwnerTypeValue, {}), "owner_id": ID}, owner=_owner,
         defaults={"mode": PathMode.BOTH.value, "priority": 1}, id_name="point_id",
         example={"owner_type": "role", "owner_id": 1, "kind": "mobile",
                  "value": "070-174 06 98", "label": "Reserv"},
         change={"label": "Dygnet runt"},
         what="a contact path of an actor, role, person or pattern you edit"),
    Kind(Shift, ShiftForm, S.Shift, "shifts", "shift", "on-call",
         parents={"role_id": ID}, owner=_role_parent, prepare=_staff_of_role,
         moments=PERIOD_MOMENTS, what="a single shift of a role you edit",
         example={"role_id": 1, "person_id": 1, "starts_at": "2026-12-24T08:00:00+01:00",
                  "ends_at": "2026-12-24T20:00:00+01:00", "note": "Julafton"},
         change={"note": "Byte med Bo"}),
    Kind(Override, OverrideForm, S.Override, "overrides", "override", "on-call",
         parents={"role_id": ID}, owner=_role_parent, prepare=_staff_of_role,
         moments=PERIOD_MOMENTS, what="an override (someone takes over a role you edit)",
         example={"role_id": 1, "person_id": 2, "starts_at": "2026-12-25T08:00:00+01:00",
                  "ends_at": "2026-12-26T08:00:00+01:00", "reason": "Semester"},
         change={"reason": "Sjukdom"}),
    Kind(Rotation, RotationForm, S.Rotation, "rotations", "rotation", "on-call",
         parents={"role_id": ID}, owner=_role_parent, prepare=_members_of_role,
         what="a rotation (members taking turns) of a role you edit",
         example={"role_id": 1, "name": "Veckovis", "kind": "weekly",
                  "handover_time": "08:00", "starts_on": "2026-01-05", "members": [1, 2]},
         change={"name": "Veckovis, vinter"}),
)


def _register(kind: Kind) -> None:
    """Create (POST), change (PATCH) and delete (DELETE) of one kind, from its row."""
    create_body = S.write_model(kind.model.__name__, kind.form, create=True,
                                parents=kind.parents, defaults=kind.defaults)
    update_body = S.write_model(kind.model.__name__, kind.form, create=False)
    links = (kind.name, kind.key) if "delete" in kind.verbs else None

    def create():
        body = request.context.json
        entry = kind.model(**kind.owner(body))
        prepare = kind.prepare(entry) if kind.prepare else None
        _write(kind, entry, body, is_new=True, prepare=prepare)
        return _entry_answer(entry, status=201, headers={
            "Location": url_for(f"api.{kind.name}", **{kind.key: entry.id})})

    def may_change(**ident):
        _for_edit(kind.model, ident[kind.key])

    def update(**ident):
        entry = _for_edit(kind.model, ident[kind.key])
        prepare = kind.prepare(entry) if kind.prepare else None
        return _entry_answer(_write(kind, entry, request.context.json, is_new=False,
                                    prepare=prepare))

    def delete(**ident):
        return _delete(_for_edit(kind.model, ident[kind.key]))

    create.__doc__ = f"Add {kind.what}."
    update.__doc__ = f"Change {kind.what}."
    delete.__doc__ = f"Delete {kind.what} (restorable from the history)."
    one = f"/{kind.path}/<int:{kind.key}>"
    views = {
        "create": (f"/{kind.path}", "POST", operation(
            ok=kind.answer, status=201, body=create_body, tags=[kind.tag],
            errors=[403, 409], links=links, guard=_require_some_edit_right,
            example=kind.example)(create)),
        "update": (one, "PATCH", operation(
            ok=kind.answer, body=update_body, tags=[kind.tag], errors=[403, 404],
            conditional=True, guard=may_change, example=kind.change)(update)),
        "delete": (one, "DELETE", operation(
            tags=[kind.tag], errors=[403, 404], conditional=True)(delete)),
    }
    for verb in kind.verbs:
        rule, method, view = views[verb]
        bp.add_url_rule(rule, endpoint=f"{kind.name}_{verb}", view_func=view,
                        methods=[method])


for _kind in KINDS:
    _register(_kind)


def _require_admin() -> None:
    """The coordinators (admins) switch modes, as on the mode page."""
    if not is_admin(current_user):
        raise ApiError(403, _("Only coordinators may do this."))


@bp.post("/mode")
@operation(ok=S.ModeState, body=S.ModeSwitch, tags=["mode"], errors=[403],
           guard=_require_admin, example={"mode": "activated", "reason": "Snöstorm"})
def mode_switch():
    """Switch the region or one actor to ordinary or activated mode, and log why."""
    body = request.context.json
    actor = _get_named(Actor, body.actor_id, "actor_id") if body.actor_id else None
    scenario = (_get_named(Scenario, body.scenario_id, "scenario_id")
                if body.scenario_id else None)
    try:
        change = switch_mode(actor, Mode(body.mode), reason=body.reason, user=current_user,
                             scenario=scenario)
    except ModeError as error:
        db.session.rollback()
        raise invalid("reason", _(str(error))) from None
    db.session.commit()
    notify_mode_switch(change)  # as the page does: after the commit, a failure only logged
    return _answer(mode_json(mode_for(actor)))


def _get_named(model, ident: int, field_name: str):
    """A live entry named in a body, or a 422 on that field."""
    entry = db.session.get(model, ident)
    if entry is None or entry.deleted_at is not None:
        raise invalid(field_name, _l("There is no such entry."))
    return entry


@bp.post("/actors/<int:actor_id>/review")
@operation(ok=S.Actor, tags=["directory"], errors=[403, 404], conditional=True)
def actor_review(actor_id):
    """Confirm that the actor's entries are reviewed and still correct."""
    actor = _for_edit(Actor, actor_id)
    _expected_version(actor)
    services.confirm_review(actor, current_user)
    db.session.commit()
    return _entry_answer(actor)
