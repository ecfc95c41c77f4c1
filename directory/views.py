"""The pages every signed-in user sees, and the health check."""

from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select, text
from sqlalchemy.orm import selectinload

from .auth import is_safe_next
from .extensions import db
from .forms import ConfirmForm
from .models import Actor, Person, Role, utcnow
from .phones import display_phone, tel_uri
from .schedules import resolve_on_call
from .security import can_edit
from .text import swedish_sort_key

bp = Blueprint("views", __name__)


@bp.get("/healthz")
def healthz():
    """Report whether the app and its database answer (for monitoring)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database is "down"
        db.session.rollback()
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")


@bp.get("/")
def home():
    """The start page: the search box and the actors of the region."""
    actors = db.session.scalars(select(Actor).where(Actor.deleted_at.is_(None))).all()
    actors.sort(key=lambda a: swedish_sort_key(a.name))
    return render_template("views/home.html", actors=actors)


@bp.get("/actors/<slug>")
def actor(slug):
    """An actor's page: its contact paths, roles and persons."""
    actor = db.session.scalar(
        select(Actor)
        .where(Actor.slug == slug, Actor.deleted_at.is_(None))
        .options(
            selectinload(Actor.contact_points),
            selectinload(Actor.roles).selectinload(Role.contact_points),
            selectinload(Actor.persons).selectinload(Person.contact_points),
        )
    )
    if actor is None:
        abort(404)
    now = utcnow()
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    on_call = {role.id: resolve_on_call(role, now, tz) for role in actor.roles}
    return render_template(
        "views/actor.html",
        actor=actor,
        on_call=on_call,
        may_edit=can_edit(current_user, actor),
        review_form=ConfirmForm(),
    )


@bp.app_template_filter("phone")
def phone_filter(value: str) -> str:
    """Show a stored number the way people read it."""
    return display_phone(value, current_app.config["DEFAULT_REGION"])


@bp.app_template_filter("tel")
def tel_filter(value: str) -> str:
    return tel_uri(value)


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
    return redirect(target if is_safe_next(target) else url_for("views.home"))
