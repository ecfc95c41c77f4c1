"""The pages every signed-in user sees, and the health check."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import contains_eager, selectinload

from directory.core import escalations, pagecache
from directory.core.database import among
from directory.core.extensions import db
from directory.core.forms import ConfirmForm
from directory.core.models import (
    PHONE_KINDS,
    Actor,
    CallTree,
    CallTreeNode,
    CollaborationPattern,
    ContactPoint,
    Mode,
    Override,
    PatternParticipant,
    Person,
    Role,
    Shift,
    UserRole,
    utcnow,
)
from directory.core.modes import actors_apart, mode_for, mode_states, region_mode
from directory.core.moments import at_argument
from directory.core.numbers import display_phone, tel_uri
from directory.core.pagecache import Page, ahead
from directory.core.pages import is_safe_next
from directory.core.patterns import next_occurrence
from directory.core.schedules import (
    next_on_call,
    outlook,
)
from directory.core.security import (
    can_edit,
    can_edit_escalation,
    get_or_404,
    may_see,
    rate_limit_store_ok,
    require_admin,
    visible,
)
from directory.core.text import swedish_sort_key
from directory.core.visibility import HiddenValue, paths_seen
from directory.lookup.callers import caller_of, national_name
from directory.lookup.forms import SynonymsForm
from directory.lookup.numbers import looks_like_number, lookup_number
from directory.lookup.search import Hit, search
from directory.lookup.synonyms import save_synonyms, saved_synonyms
from directory.review.rules import is_overdue, review_due_at

bp = Blueprint("lookup", __name__)

WEEKS_AHEAD = 4  # how far a role page looks ahead


@bp.get("/healthz")
def healthz():
    """Report whether the app, its database and its limiter store answer.

    Without the database nothing works (503). Without the limiter's store
    sign-in still works, counted in each process's memory: "degraded", 200.
    """
    store = "ok" if rate_limit_store_ok() else "unavailable"
    if store != "ok":
        current_app.logger.error("healthz: the rate-limit store does not answer")
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "down"
        db.session.rollback()
        return jsonify(status="error", database="unavailable", rate_limit_store=store), 503
    status = "ok" if store == "ok" else "degraded"
    return jsonify(status=status, database="ok", rate_limit_store=store)


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _actor_of(entry) -> Actor | None:
    if isinstance(entry, Actor):
        return entry
    if isinstance(entry, Role | Person):
        return entry.actor
    if isinstance(entry, ContactPoint):
        owner = entry.owner
        return owner if isinstance(owner, Actor) else _actor_of(owner)
    if isinstance(entry, CollaborationPattern):
        return entry.convener_actor
    return None


def way_in(actor: Actor | None, mode: Mode) -> dict | None:
    """How to reach someone of this actor whose own number is hidden: a duty role's
    phone for the mode, else the actor's own (switchboard), as this reader sees them."""
    if actor is None:
        return None
    roles = [(role, role.contact_points) for role in actor.roles if role.deleted_at is None]
    return _way_in(actor, roles, actor.contact_points, mode)


def _way_in(actor: Actor, roles, own_points, mode: Mode) -> dict | None:
    """`way_in` from the actor's live roles, each with its paths (`roles`: (role,
    paths) pairs; a role without a phone may be left out), and its own paths."""
    def first_phone(points):
        return next((p for p in paths_seen(points, mode)[0] if p.kind.is_phone), None)

    for role, points in sorted(
        roles, key=lambda pair: (swedish_sort_key(pair[0].short_name or pair[0].name), pair[0].id)
    ):
        point = first_phone(points)
        if point is not None:
            return {"label": role.short_name or role.name, "point": point}
    point = first_phone(own_points)
    if point is not None:
        return {"label": point.label or actor.short_name or actor.name, "point": point}
    return None


def ways_in(actors, states) -> dict[int, dict | None]:
    """`way_in` for many actors at once (a search's results span many).

    Only phones can be a way in: the phones of the actors' live roles, each
    with its role, and the actors' own phones, in two statements. A large
    municipality's other roles and its roles' other paths are not read."""
    actors = {actor.id: actor for actor in actors}
    if not actors:
        return {}
    ids = sorted(actors)
    phone = (ContactPoint.kind.in_(PHONE_KINDS), ContactPoint.deleted_at.is_(None))
    roles: dict[int, dict[Role, list]] = {actor_id: {} for actor_id in ids}
    for point in db.session.scalars(
        select(ContactPoint).join(ContactPoint.role)
        .where(among(Role.actor_id, ids), Role.deleted_at.is_(None), *phone)
        .options(contains_eager(ContactPoint.role))
    ):
        roles[point.role.actor_id].setdefault(point.role, []).append(point)
    own: dict[int, list] = {actor_id: [] for actor_id in ids}
    for point in db.session.scalars(
        select(ContactPoint).where(among(ContactPoint.actor_id, ids), *phone)
    ):
        own[point.actor_id].append(point)
    return {i: _way_in(actor, roles[i].items(), own[i], mode_for(actor, states).mode)
            for i, actor in actors.items()}


def _result(hit: Hit, states, on_call, upcoming=None) -> dict:
    """What a search result shows: the number for the mode in force first.

    Where every path for the mode is hidden from the reader, `route` (the way
    in to the actor) is left for `_with_ways_in` to fill, for all results at once.
    """
    entry = hit.entry
    actor = _actor_of(entry)
    mode = mode_for(actor, states)
    hidden = []
    if isinstance(entry, ContactPoint):
        points, others = [entry], []
    else:
        points = getattr(entry, "contact_points", None) or getattr(entry, "channels", [])
        points, others = seen = paths_seen(points, mode.mode)
        hidden = seen.hidden
    return {
        "kind": hit.entity_type,
        "entry": entry,
        "actor": actor,
        "mode": mode,
        "primary": points[0] if points else None,
        "alternates": points[1:],
        "other_mode": others,
        "on_call": on_call.get(entry.id) if isinstance(entry, Role) else None,
        "next": (upcoming or {}).get(entry.id) if isinstance(entry, Role) else None,
        "hidden": hidden,
        "route": None,
    }


def _with_ways_in(results: list[dict], states) -> list[dict]:
    """Results whose every path for the mode is hidden get their actor's way in."""
    lost = [r for r in results
            if r["primary"] is None and r["hidden"] and r["actor"] is not None]
    ways = ways_in((r["actor"] for r in lost), states)
    for r in lost:
        r["route"] = ways[r["actor"].id]
    return results


@bp.get("/")
def home():
    """The start page: one search box, and the actors of the region."""
    return pagecache.render(("home",), _home_page)


def _home_page() -> Page:
    actors = db.session.execute(  # names and slugs only: thousands at national scale
        select(Actor.name, Actor.slug).where(Actor.deleted_at.is_(None))
    ).all()
    actors.sort(key=lambda a: swedish_sort_key(a.name))
    now = utcnow()
    mine = my_actors(current_user, now)
    return Page("lookup/home.html",
                dict(actors=actors, query="", results=None, my_actors=mine),
                # an editor's own actors: "Review overdue" from when each falls due
                valid_until=pagecache.earliest(now, (ahead(now, row["due"]) for row in mine)))


def my_actors(user, now) -> list[dict]:
    """An editor's own actors with their review state, overdue first: where they start."""
    if user.role != UserRole.EDITOR:
        return []
    rows = [{"actor": a, "due": review_due_at(a), "overdue": is_overdue(a, now)}
            for a in user.actors if a.deleted_at is None]
    return sorted(rows, key=lambda r: (not r["overdue"], swedish_sort_key(r["actor"].name)))


@bp.get("/search")
def search_page():
    """Search by name, role or label, or look up who has a phone number."""
    query = (request.args.get("q") or "").strip()[:200]
    fragment = bool(request.args.get("fragment"))
    return pagecache.render(("search", query, fragment), lambda: _search_page(query, fragment))


def _search_page(query: str, fragment: bool) -> Page:
    results, lookup, found = [], None, None
    now = utcnow()
    duty = outlook((), now, _tz())  # no role shown: nobody's duty to follow
    if looks_like_number(query):
        lookup = lookup_number(query)
        lookup.national = national_name(lookup.number)
        lookup.callers = [caller_of(p) for p in lookup.points if not may_see(current_user, p)]
        lookup.points = visible(lookup.points)
    elif query:
        found = search(query)
        states = mode_states()
        roles = [h.entry for h in found if isinstance(h.entry, Role)]
        duty = outlook(roles, now, _tz())
        results = _in_use_first(_with_ways_in([
            _result(hit, states, duty.now, duty.next)
            for hit in found
            if not isinstance(hit.entry, ContactPoint) or may_see(current_user, hit.entry)
        ], states))
    return Page(
        "lookup/_results.html" if fragment else "lookup/home.html",
        dict(query=query, results=results, lookup=lookup, actors=None,
             meant=found.did_you_mean(query) if found and found.corrections else None,
             partial=bool(found and found.partial)),
        # who is on call for the roles found, and who comes next
        valid_until=duty.unchanged_until,
        layout=not fragment,
    )


def _in_use_first(results: list[dict]) -> list[dict]:
    """Among roles of one actor, those reachable in the mode in force first.

    A role whose every path is for the other mode (say a staff number only
    used when activated) is not the one to call now; it moves after its
    actor's roles that are, keeping the ranking otherwise.
    """
    def not_in_use(r):
        return r["kind"] == "role" and r["primary"] is None and bool(r["other_mode"])

    out: list[dict] = []
    for r in results:
        if r["kind"] == "role" and not not_in_use(r):
            # move ahead of the run of not-in-use roles of the same actor just before it
            i = len(out)
            while i > 0 and not_in_use(out[i - 1]) and out[i - 1]["actor"] == r["actor"]:
                i -= 1
            out.insert(i, r)
        else:
            out.append(r)
    return out


@bp.route("/search/synonyms", methods=["GET", "POST"])
def synonyms():
    """Words the region uses for one thing; coordinators keep them, search uses them."""
    require_admin()
    form = SynonymsForm()
    if request.method == "GET":
        form.groups.data = "\n".join(saved_synonyms())
    if form.validate_on_submit():
        save_synonyms(form.terms())
        db.session.commit()
        flash(_("Synonyms saved."), "success")
        return redirect(url_for("lookup.synonyms"))
    return render_template("lookup/synonyms.html", form=form)


@bp.get("/actors/<slug>")
def actor(slug):
    """An actor's page: paths for the mode in force first, roles, people, patterns."""
    return pagecache.render(("actor", slug), lambda: _actor_page(slug))


def _actor_page(slug) -> Page:
    actor = db.session.scalar(
        select(Actor)
        .where(Actor.slug == slug, Actor.deleted_at.is_(None))
        .options(
            selectinload(Actor.parent),
            selectinload(Actor.contact_points),
            selectinload(Actor.roles).selectinload(Role.contact_points),
            selectinload(Actor.roles).selectinload(Role.escalation),
            selectinload(Actor.persons).selectinload(Person.contact_points),
        )
    )
    if actor is None:
        abort(404)
    now, tz = utcnow(), _tz()
    mode = mode_for(actor)
    roles = [r for r in actor.roles if r.deleted_at is None]
    roles.sort(key=lambda r: swedish_sort_key(r.name))
    duty = outlook(roles, now, tz)
    persons = [p for p in actor.persons if p.deleted_at is None]
    persons.sort(key=lambda p: swedish_sort_key(p.name))
    patterns = db.session.scalars(
        select(CollaborationPattern)
        .where(
            CollaborationPattern.deleted_at.is_(None),
            or_(
                CollaborationPattern.convener_actor_id == actor.id,
                CollaborationPattern.participants.any(PatternParticipant.actor_id == actor.id),
            ),
        )
        .options(selectinload(CollaborationPattern.channels))
        .order_by(CollaborationPattern.name)
    ).all()
    trees = db.session.scalars(
        select(CallTree)
        .where(
            CallTree.deleted_at.is_(None),
            or_(
                CallTree.actor_id == actor.id,
                CallTree.nodes.any(
                    or_(
                        CallTreeNode.target_actor_id == actor.id,
                        CallTreeNode.target_role.has(Role.actor_id == actor.id),
                        CallTreeNode.target_person.has(Person.actor_id == actor.id),
                    )
                ),
            ),
        )
        .order_by(CallTree.name)
    ).all()
    patterns = [(p, next_occurrence(p, now, tz)) for p in patterns]
    review_due = review_due_at(actor)
    return Page("lookup/actor.html", dict(
        actor=actor,
        mode=mode,
        paths=paths_seen(actor.contact_points, mode.mode),
        roles=[(r, paths_seen(r.contact_points, mode.mode)) for r in roles],
        persons=[(p, paths_seen(p.contact_points, mode.mode)) for p in persons],
        route=way_in(actor, mode.mode),
        on_call=duty.now,
        # Who takes over next and when: the same helper the search results use.
        next_on_call=duty.next,
        escalation={r.id: escalations.steps_of(r) for r in roles},
        patterns=patterns,
        trees=trees,
        overdue=is_overdue(actor, now),
        review_due=review_due,
        may_edit=can_edit(current_user, actor),
        review_form=ConfirmForm(),
    ), valid_until=pagecache.earliest(
        now,
        duty.unchanged_until,  # on call now, who comes next
        ahead(now, review_due),  # "Review overdue"
        (next_at for _pattern, next_at in patterns),  # "Next: <meeting>"
    ))


@bp.get("/roles/<int:role_id>")
def role(role_id):
    """Who is on call for a role now (or at ?at=), the next handover, coming weeks."""
    asked = at_argument(request.args.get("at"))
    if asked is not None:  # another moment: asked for now and then, not kept
        return pagecache.render_now(_role_page(role_id, asked, request.args["at"]))
    return pagecache.render(("role", role_id), lambda: _role_page(role_id, utcnow()))


def _role_page(role_id: int, at, asked_at: str | None = None) -> Page:
    role = get_or_404(Role, role_id)
    tz = _tz()
    escalation = escalations.chain(role, at, tz)
    # the role's stretches over the coming weeks, and until when they and who is
    # on call for the roles its escalation goes to read the same
    duty = outlook([role, *(s.step.target for s in escalation if isinstance(s.step.target, Role))],
                   at, tz, timedelta(weeks=WEEKS_AHEAD))
    stretches = duty.timelines[role.id]
    mode = mode_for(role.actor)
    window_end = at + timedelta(weeks=WEEKS_AHEAD)
    upcoming = {
        model.__tablename__: db.session.scalars(
            select(model)
            .where(model.role_id == role.id, model.deleted_at.is_(None),
                   model.ends_at > at, model.starts_at < window_end)
            .order_by(model.starts_at)
        ).all()
        for model in (Shift, Override)
    }
    return Page("lookup/role.html", dict(
        rotations=[r for r in role.rotations if r.deleted_at is None],
        shifts=upcoming["shift"],
        overrides=upcoming["override"],
        role=role,
        at=at,
        asked_at=asked_at,
        now_on_call=stretches[0] if stretches else None,
        next_on_call=next_on_call(stretches),
        escalation=escalation,
        may_edit_escalation=can_edit_escalation(current_user, role),
        stretches=stretches,
        gaps=[s for s in stretches if s.person is None],
        mode=mode,
        paths=paths_seen(role.contact_points, mode.mode),
        route=way_in(role.actor, mode.mode),
        overdue=is_overdue(role.actor),
        may_edit=can_edit(current_user, role),
    ), valid_until=pagecache.earliest(
        at,
        pagecache.next_minute(at),  # the coming weeks are printed from now, to the minute
        duty.unchanged_until,
        ahead(at, review_due_at(role.actor)),
    ))


@bp.app_template_filter("phone")
def phone_filter(value: str) -> str:
    """Show a stored number the way people read it."""
    if isinstance(value, HiddenValue):
        return value
    return display_phone(value, current_app.config["DEFAULT_REGION"])


@bp.app_template_filter("tel")
def tel_filter(value: str) -> str:
    """A `tel:` link; none for a number hidden from the reader."""
    if isinstance(value, HiddenValue):
        return ""
    return tel_uri(value)


@bp.app_template_global("escalation_label")
def escalation_label(target) -> str:
    """A role escalation's target as people read it ("VB – Haninge kommun")."""
    return escalations.target_label(target)


@bp.app_template_global("live")
def live(entries):
    """Entries not deleted, in their given order."""
    return [e for e in entries if e.deleted_at is None]


@bp.post("/language")
def set_language():
    """Choose Swedish or English; remembered in the session and on the user."""
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            current_user.locale = locale
            db.session.commit()
    target = request.form.get("next")
    return redirect(target if is_safe_next(target) else url_for("lookup.home"))


@bp.app_context_processor
def _mode_banner():
    """The region's mode, and the actors apart from it, for the banner on every page."""
    if not current_user.is_authenticated:
        return {"region_mode": None}
    try:
        states = mode_states()
        return {"region_mode": region_mode(states), "actors_apart": actors_apart(states)}
    except SQLAlchemyError:  # the 503 page must render without the database
        db.session.rollback()
        return {"region_mode": None}
