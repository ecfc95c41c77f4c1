"""The JSON API under /api/v1, described by OpenAPI 3.1 at /api/v1/openapi.json.

Every operation names its models (`schemas`) in `spec.operation`: SpecTree
validates the query string and body against them before the view runs and
the answer after, and generates the description from them.

Reads answer what the pages answer (actors, persons, roles, contact paths, who
is on call, rotations, call trees resolved, collaboration patterns, scenarios,
the mode in force, search and reverse lookup) to anyone signed in; confidential
paths follow the pages' rule (`security.may_see`). Writes are in `writes`
(one table, `KINDS`, saved by the operations the pages use); the blueprint
and request helpers in `common`, the answers in `representations`.

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


from flask import (
    Flask,
    g,
    has_request_context,
    request,
)
from flask.sessions import SecureCookieSession
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import or_, select, true
from sqlalchemy.orm import selectinload
from werkzeug.http import HTTP_STATUS_CODES

from directory.accounts import credentials
from directory.api import inputs
from directory.api import schemas as S
from directory.api.common import (
    UNSAFE_METHODS,
    answer,
    bp,
    get_live,
    paginated,
    query_args,
    region_tz,
)
from directory.api.errors import ApiError, invalid
from directory.api.representations import (
    OWNERS,
    actor_json,
    entry_answer,
    iso,
    mode_json,
    on_call_json,
    override_json,
    pattern_json,
    person_json,
    point_json,
    ref_json,
    resolved_node_json,
    role_json,
    rotation_json,
    scenario_json,
    shift_json,
    tree_json,
)
from directory.api.spec import document, operation
from directory.calltrees import rules as calltrees
from directory.core import escalations
from directory.core.errors import problem
from directory.core.extensions import csrf, db, login_manager
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    CallTree,
    CallTreeNode,
    CollaborationPattern,
    ContactKind,
    ContactPoint,
    Mode,
    Override,
    Person,
    Role,
    Rotation,
    RotationMember,
    Scenario,
    Shift,
    utcnow,
)
from directory.core.modes import (
    mode_for,
    mode_states,
    paths_for_mode,
    region_mode,
)
from directory.core.schedules import on_call_for_roles
from directory.core.security import editable_actor_ids, is_admin, visible
from directory.core.settings import VIEWERS_SEE_CONFIDENTIAL, get_setting
from directory.lookup.callers import caller_of, national_name
from directory.lookup.numbers import lookup_number
from directory.lookup.search import MAX_RESULTS, search

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
    return answer(document())


@bp.get("/actors")
@operation(ok=S.PAGES[S.Actor], query=inputs.ActorsQuery, tags=["directory"])
def actors():
    """The actors, in id order; filter by slug, kind or level."""
    query = select(Actor).where(Actor.deleted_at.is_(None)).order_by(Actor.id)
    if slug := query_args().slug:
        query = query.where(Actor.slug == slug)
    if kind := query_args().kind:
        query = query.where(Actor.kind == ActorKind(kind))
    if level := query_args().level:
        query = query.where(Actor.level == ActorLevel(level))
    return paginated(query, actor_json)


@bp.get("/actors/<int:actor_id>")
@operation(ok=S.Actor, errors=[404], tags=["directory"])
def actor(actor_id):
    """One actor."""
    return entry_answer(get_live(Actor, actor_id))


@bp.get("/actors/<int:actor_id>/mode")
@operation(ok=S.ModeState, errors=[404], tags=["mode"])
def actor_mode(actor_id):
    """The mode in force for an actor: its own, its parent's, or the region's."""
    return answer(mode_json(mode_for(get_live(Actor, actor_id))))


@bp.get("/persons")
@operation(ok=S.PAGES[S.Person], query=inputs.ByActorQuery, tags=["directory"])
def persons():
    """Persons, in id order; filter by actor."""
    query = select(Person).where(Person.deleted_at.is_(None)).order_by(Person.id)
    if (actor_id := query_args().actor_id) is not None:
        query = query.where(Person.actor_id == actor_id)
    return paginated(query, person_json)


@bp.get("/persons/<int:person_id>")
@operation(ok=S.Person, errors=[404], tags=["directory"])
def person(person_id):
    """One person."""
    return entry_answer(get_live(Person, person_id))


@bp.get("/roles")
@operation(ok=S.PAGES[S.Role], query=inputs.ByActorQuery, tags=["directory"])
def roles():
    """On-call roles, in id order; filter by actor."""
    query = (select(Role).where(Role.deleted_at.is_(None)).order_by(Role.id)
             .options(*escalations.loads()))
    if (actor_id := query_args().actor_id) is not None:
        query = query.where(Role.actor_id == actor_id)
    states = mode_states()
    return paginated(query, lambda role: role_json(role, states))


@bp.get("/roles/<int:role_id>")
@operation(ok=S.Role, errors=[404], tags=["directory"])
def role(role_id):
    """One on-call role."""
    return entry_answer(get_live(Role, role_id))


def _live_paths(points, mode: Mode) -> list[dict]:
    applies, _others = paths_for_mode(visible(points), mode)
    return [point_json(p) for p in applies]


@bp.get("/roles/<int:role_id>/on-call")
@operation(ok=S.RoleOnCall, query=inputs.AtQuery, errors=[404], tags=["on-call"])
def role_on_call(role_id):
    """Who is on call for a role now (or at `at`), and the numbers for the mode in force."""
    role = get_live(Role, role_id)
    at = query_args().at or utcnow()
    on_call = on_call_for_roles([role], at, region_tz())[role.id]
    mode = mode_for(role.actor)
    person = on_call.person
    return answer({
        "role": ref_json(role),
        "at": iso(at),
        "mode": mode.mode.value,
        "on_call": on_call_json(on_call),
        "role_contact_points": _live_paths(role.contact_points, mode.mode),
        "person_contact_points": _live_paths(person.contact_points, mode.mode) if person else [],
    })


@bp.get("/on-call")
@operation(ok=S.PAGES[S.OnCallItem], query=inputs.OnCallQuery, tags=["on-call"])
def on_call():
    """Who is on call now (or at `at`) for each role, in id order; filter by actor."""
    query = (select(Role).where(Role.deleted_at.is_(None)).order_by(Role.id)
             .options(selectinload(Role.actor)))
    if (actor_id := query_args().actor_id) is not None:
        query = query.where(Role.actor_id == actor_id)
    at = query_args().at or utcnow()
    answers = {}

    def resolve(rows):
        answers.update(on_call_for_roles(rows, at, region_tz()))
        return rows

    def serialize(role):
        return {"role": ref_json(role), "at": iso(at), "on_call": on_call_json(answers[role.id])}

    return paginated(query, serialize, page_filter=resolve)


@bp.get("/contact-points")
@operation(ok=S.PAGES[S.ContactPoint], query=inputs.ContactPointsQuery, tags=["directory"])
def contact_points():
    """Contact paths you may see, in id order; filter by owner or kind."""
    query = (select(ContactPoint)
             .where(ContactPoint.deleted_at.is_(None), visible_points_clause(current_user))
             .order_by(ContactPoint.id))
    if editable_actor_ids(current_user):  # whose each path is: `visible` asks it of editors
        query = query.options(*(selectinload(getattr(ContactPoint, owner)) for owner in OWNERS))
    kind, owner_id = query_args().owner_type, query_args().owner_id
    if (kind is None) != (owner_id is None):
        raise invalid("owner_type" if kind is None else "owner_id",
                      _l("Give owner_type and owner_id together."))
    if kind is not None:
        query = query.where(getattr(ContactPoint, f"{kind}_id") == owner_id)
    if point_kind := query_args().kind:
        query = query.where(ContactPoint.kind == ContactKind(point_kind))
    return paginated(query, point_json, page_filter=visible)


@bp.get("/contact-points/<int:point_id>")
@operation(ok=S.ContactPoint, errors=[404], tags=["directory"])
def contact_point(point_id):
    """One contact path (not found when it is confidential and not for you)."""
    return entry_answer(_visible_or_404(get_live(ContactPoint, point_id)))


def _period_query(model):
    query = select(model).where(model.deleted_at.is_(None)).order_by(model.id)
    if (role_id := query_args().role_id) is not None:
        query = query.where(model.role_id == role_id)
    if (person_id := query_args().person_id) is not None:
        query = query.where(model.person_id == person_id)
    if (after := query_args().ends_after) is not None:
        query = query.where(model.ends_at > after)
    return query


@bp.get("/shifts")
@operation(ok=S.PAGES[S.Shift], query=inputs.PeriodsQuery, tags=["on-call"])
def shifts():
    """Single shifts, in id order; filter by role, person, or those ending after a moment."""
    return paginated(_period_query(Shift), shift_json)


@bp.get("/shifts/<int:shift_id>")
@operation(ok=S.Shift, errors=[404], tags=["on-call"])
def shift(shift_id):
    """One shift."""
    return entry_answer(get_live(Shift, shift_id))


@bp.get("/overrides")
@operation(ok=S.PAGES[S.Override], query=inputs.PeriodsQuery, tags=["on-call"])
def overrides():
    """Overrides, in id order; filter by role, person, or those ending after a moment."""
    return paginated(_period_query(Override), override_json)


@bp.get("/overrides/<int:override_id>")
@operation(ok=S.Override, errors=[404], tags=["on-call"])
def override(override_id):
    """One override."""
    return entry_answer(get_live(Override, override_id))


@bp.get("/rotations")
@operation(ok=S.PAGES[S.Rotation], query=inputs.PeriodsQuery, tags=["on-call"])
def rotations():
    """Rotations, in id order; filter by role, person (a member), or those ending after a day."""
    query = (select(Rotation).where(Rotation.deleted_at.is_(None)).order_by(Rotation.id)
             .options(selectinload(Rotation.members)))
    if (role_id := query_args().role_id) is not None:
        query = query.where(Rotation.role_id == role_id)
    if (person_id := query_args().person_id) is not None:
        query = query.where(Rotation.members.any(RotationMember.person_id == person_id))
    if (after := query_args().ends_after) is not None:
        query = query.where(or_(Rotation.ends_on.is_(None),
                                Rotation.ends_on > after.astimezone(region_tz()).date()))
    return paginated(query, rotation_json)


@bp.get("/rotations/<int:rotation_id>")
@operation(ok=S.Rotation, errors=[404], tags=["on-call"])
def rotation(rotation_id):
    """One rotation and its members in turn order."""
    return entry_answer(get_live(Rotation, rotation_id))


# --- Reads: call trees, patterns, scenarios, mode, search ------------------


@bp.get("/call-trees")
@operation(ok=S.PAGES[S.CallTree], query=inputs.CallTreesQuery, tags=["call trees"])
def call_trees():
    """Call trees, in id order; filter by owning actor or mode."""
    query = select(CallTree).where(CallTree.deleted_at.is_(None)).order_by(CallTree.id)
    if (actor_id := query_args().actor_id) is not None:
        query = query.where(CallTree.actor_id == actor_id)
    if mode := query_args().mode:
        query = query.where(CallTree.mode == Mode(mode))
    return paginated(query, tree_json)


@bp.get("/call-trees/<int:tree_id>")
@operation(ok=S.ResolvedCallTree, query=inputs.AtQuery, errors=[404], tags=["call trees"])
def call_tree(tree_id):
    """A call tree resolved for its mode now (or at `at`): who, which numbers, then whom."""
    get_live(CallTree, tree_id)
    tree = calltrees.load_tree(tree_id)
    at = query_args().at or utcnow()
    resolved = calltrees.resolve_tree(tree, at, region_tz())  # need-to-know: all shown
    return answer({**tree_json(tree), "at": iso(at),
                    "nodes": [resolved_node_json(node) for node in resolved]})


@bp.get("/call-tree-nodes/<int:node_id>")
@operation(ok=S.CallTreeStep, errors=[404], tags=["call trees"])
def call_tree_node(node_id):
    """One step of a call tree as stored: whom it calls, where it sits, who next."""
    node = get_live(CallTreeNode, node_id)
    if node.tree.deleted_at is not None:
        raise ApiError(404, _("There is no such entry."))
    return entry_answer(node)


def _pattern_query():
    return (select(CollaborationPattern)
            .where(CollaborationPattern.deleted_at.is_(None))
            .options(selectinload(CollaborationPattern.participants),
                     selectinload(CollaborationPattern.channels))
            .order_by(CollaborationPattern.id))


@bp.get("/patterns")
@operation(ok=S.PAGES[S.Pattern], query=inputs.ByActorQuery, tags=["coordination"])
def patterns():
    """Collaboration patterns with their channels and next meetings; filter by convener."""
    query = _pattern_query()
    if (actor_id := query_args().actor_id) is not None:
        query = query.where(CollaborationPattern.convener_actor_id == actor_id)
    now = utcnow()
    return paginated(query, lambda p: pattern_json(p, now))


@bp.get("/patterns/<int:pattern_id>")
@operation(ok=S.Pattern, errors=[404], tags=["coordination"])
def pattern(pattern_id):
    """One collaboration pattern with its channels and next meetings."""
    return answer(pattern_json(get_live(CollaborationPattern, pattern_id), utcnow()))


@bp.get("/scenarios")
@operation(ok=S.PAGES[S.Scenario], query=inputs.Paged, tags=["coordination"])
def scenarios():
    """Scenarios and their agreed directions, in id order."""
    query = (select(Scenario).where(Scenario.deleted_at.is_(None))
             .options(selectinload(Scenario.measures)).order_by(Scenario.id))
    return paginated(query, scenario_json)


@bp.get("/scenarios/<int:scenario_id>")
@operation(ok=S.Scenario, errors=[404], tags=["coordination"])
def scenario(scenario_id):
    """One scenario: facts, assumptions, goal and prioritised measures per phase."""
    return answer(scenario_json(get_live(Scenario, scenario_id)))


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
    return answer({"region": mode_json(region_mode(states)), "actors": own})


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
@operation(ok=S.SearchResults, query=inputs.SearchQuery, tags=["lookup"])
def search_directory():
    """Search by name, role or label ("haninge tib"): best first, paths for the mode in force."""
    query = query_args().q.strip()
    limit = min(query_args().limit, MAX_RESULTS)
    hits = [h for h in search(query, limit=limit)
            if not isinstance(h.entry, ContactPoint) or visible([h.entry])]
    roles = [h.entry for h in hits if isinstance(h.entry, Role)]
    on_call_now = on_call_for_roles(roles, utcnow(), region_tz())
    states = mode_states()
    return answer({"query": query,
                    "results": [_hit_json(hit, states, on_call_now) for hit in hits]})


@bp.get("/lookup")
@operation(ok=S.LookupResults, query=inputs.LookupQuery, tags=["lookup"])
def lookup():
    """Reverse lookup: who has this number? Any common way of writing it works."""
    typed = query_args().number.strip()
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
    return answer({"query": typed, "number": found.number, "is_short": found.is_short,
                    "national": national_name(found.number),
                    "results": results,
                    "callers": [{"actor": ref_json(c.actor),
                                 "roles": [ref_json(r) for r in c.roles],
                                 "person": ref_json(c.person),
                                 "pattern": ref_json(c.pattern)} for c in callers]})

