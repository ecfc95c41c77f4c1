"""The coordinators' registry: mode switching, scenarios and collaboration patterns.

Switching the mode is for coordinators (admins); everyone signed in sees the
mode log, the agreed directions per risk and when actors meet.
"""

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from .extensions import db
from .models import (
    Actor,
    CallTree,
    CollaborationPattern,
    Mode,
    ModeChange,
    PathMode,
    Scenario,
    utcnow,
)
from .modes import ModeError, mode_states, region_mode, switch_mode
from .patterns import occurrences
from .security import require_admin
from .text import swedish_sort_key

bp = Blueprint("coordination", __name__)

MODE_LOG_LENGTH = 50


class ModeForm(FlaskForm):
    scope = SelectField(_l("For"), coerce=int)  # 0 = the whole region
    mode = RadioField(
        _l("Mode"),
        choices=[SelectChoice(Mode.ORDINARY.value, _l("Ordinary mode")),
                 SelectChoice(Mode.ACTIVATED.value, _l("Activated mode"))],
        validators=[DataRequired()],
    )
    scenario = SelectField(_l("Scenario"), coerce=int, default=0)
    reason = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Switch mode"))


def _mode_form() -> ModeForm:
    form = ModeForm()
    actors = db.session.scalars(select(Actor).where(Actor.deleted_at.is_(None))).all()
    actors.sort(key=lambda a: swedish_sort_key(a.name))
    form.scope.choices = [SelectChoice(0, _("The whole region"))] + [
        SelectChoice(a.id, a.name) for a in actors
    ]
    scenarios = db.session.scalars(
        select(Scenario).where(Scenario.deleted_at.is_(None)).order_by(Scenario.name)
    ).all()
    form.scenario.choices = [SelectChoice(0, "–")] + [
        SelectChoice(s.id, s.name) for s in scenarios
    ]
    return form


@bp.route("/mode", methods=["GET", "POST"])
def mode():
    """The mode in force, its log, and (for coordinators) the switch."""
    form = _mode_form()
    if request.method == "POST":
        require_admin()
        if form.validate_on_submit():
            actor = db.session.get(Actor, form.scope.data) if form.scope.data else None
            scenario = db.session.get(Scenario, form.scenario.data) if form.scenario.data else None
            try:
                switch_mode(actor, Mode(form.mode.data), reason=form.reason.data,
                            user=current_user, scenario=scenario)
            except ModeError as error:
                form.reason.errors.append(str(error))
            else:
                db.session.commit()
                flash(_("The mode is switched."), "success")
                return redirect(url_for("coordination.mode"))
    states = mode_states()
    actor_states = []
    for scope, state in states.items():
        if scope.startswith("actor:"):
            actor = db.session.get(Actor, int(scope.split(":")[1]))
            if actor is not None:
                actor_states.append((actor, state))
    log = db.session.scalars(
        select(ModeChange)
        .options(selectinload(ModeChange.changed_by), selectinload(ModeChange.scenario))
        .order_by(ModeChange.changed_at.desc(), ModeChange.id.desc())
        .limit(MODE_LOG_LENGTH)
    ).all()
    actor_names = {a.id: a.name for a, _state in actor_states}
    for change in log:
        if change.actor_id and change.actor_id not in actor_names:
            actor = db.session.get(Actor, change.actor_id)
            actor_names[change.actor_id] = actor.name if actor else "?"
    status = 422 if request.method == "POST" else 200
    return render_template(
        "coordination/mode.html",
        form=form,
        region=region_mode(states),
        actor_states=actor_states,
        log=log,
        actor_names=actor_names,
    ), status


@bp.get("/scenarios")
def scenarios():
    """The agreed regional directions, one per risk."""
    rows = db.session.scalars(
        select(Scenario).where(Scenario.deleted_at.is_(None)).order_by(Scenario.name)
    ).all()
    return render_template("coordination/scenarios.html", scenarios=rows)


@bp.get("/scenarios/<slug>")
def scenario(slug):
    """A scenario's direction: facts, assumptions, goal, measures, what applies."""
    row = db.session.scalar(
        select(Scenario)
        .where(Scenario.slug == slug, Scenario.deleted_at.is_(None))
        .options(selectinload(Scenario.measures))
    )
    if row is None:
        abort(404)
    trees = db.session.scalars(
        select(CallTree)
        .where(CallTree.scenario_id == row.id, CallTree.deleted_at.is_(None))
        .order_by(CallTree.mode, CallTree.name)
    ).all()
    patterns = db.session.scalars(
        select(CollaborationPattern)
        .where(CollaborationPattern.scenario_id == row.id,
               CollaborationPattern.deleted_at.is_(None))
        .order_by(CollaborationPattern.name)
    ).all()
    return render_template("coordination/scenario.html", scenario=row, trees=trees,
                           patterns=patterns)


@bp.get("/patterns")
def patterns():
    """How the actors meet: conferences, bridges and talk groups, next meetings."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    now = utcnow()
    rows = db.session.scalars(
        select(CollaborationPattern)
        .where(CollaborationPattern.deleted_at.is_(None))
        .options(
            selectinload(CollaborationPattern.convener_actor),
            selectinload(CollaborationPattern.convener_role),
            selectinload(CollaborationPattern.channels),
            selectinload(CollaborationPattern.participants),
            selectinload(CollaborationPattern.scenario),
        )
        .order_by(CollaborationPattern.name)
    ).all()
    region = region_mode()
    return render_template(
        "coordination/patterns.html",
        patterns=[(p, occurrences(p, now, tz, 3),
                   PathMode(p.mode).applies_in(region.mode)) for p in rows],
    )
