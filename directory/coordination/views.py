"""The coordinators' registry: mode switching, scenarios and collaboration patterns.

Switching the mode is for coordinators (admins); everyone signed in sees the
mode log, the agreed directions per risk and when actors meet.
"""

from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from directory.coordination import operations
from directory.coordination.forms import ModeForm, PatternForm, ScenarioForm
from directory.core.extensions import db
from directory.core.forms import editable_actor_choices, live_actor_choices
from directory.core.limits import id_from_text
from directory.core.models import (
    Actor,
    CallTree,
    CollaborationPattern,
    Mode,
    ModeChange,
    PathMode,
    Role,
    Scenario,
    utcnow,
)
from directory.core.modes import (
    ModeError,
    mode_states,
    preview_region_switch,
    region_mode,
    switch_mode,
)
from directory.core.pages import delete_entry
from directory.core.patterns import (
    describe_rrule,
    occurrences,
)
from directory.core.security import (
    can_edit,
    get_for_edit,
    may_create_anything,
    require_admin,
    require_may_place_under,
)
from directory.core.text import swedish_sort_key
from directory.reminders.notices import notify_mode_switch

bp = Blueprint("coordination", __name__)

MODE_LOG_LENGTH = 50


def _mode_form() -> ModeForm:
    form = ModeForm()
    form.scope.choices = [SelectChoice(0, _("The whole region")), *live_actor_choices()]
    scenarios = db.session.scalars(
        select(Scenario).where(Scenario.deleted_at.is_(None)).order_by(Scenario.name)
    ).all()
    form.scenario.choices = [SelectChoice(0, "–")] + [SelectChoice(s.id, s.name) for s in scenarios]
    return form


@bp.route("/mode", methods=["GET", "POST"])
def mode():
    """The mode in force, its log, and (for coordinators) the switch."""
    form = _mode_form()
    if request.method == "GET":  # offer the switch people come here for
        form.mode.data = (
            Mode.ORDINARY.value if region_mode().is_activated else Mode.ACTIVATED.value
        )
    if request.method == "POST":
        require_admin()
        if form.validate_on_submit():
            actor = db.session.get(Actor, form.scope.data) if form.scope.data else None
            scenario = db.session.get(Scenario, form.scenario.data) if form.scenario.data else None
            target = Mode(form.mode.data)
            if actor is None and form.confirmed.data != "1":
                form.confirmed.data = "1"
                return render_template(
                    "coordination/mode_confirm.html", form=form, scenario=scenario,
                    preview=preview_region_switch(target, scenario), region=region_mode())
            try:
                change = switch_mode(
                    actor,
                    target,
                    reason=form.reason.data,
                    user=current_user,
                    scenario=scenario,
                )
            except ModeError as error:
                form.reason.errors.append(str(error))
            else:
                db.session.commit()
                notify_mode_switch(change)  # after the commit; a failure is only logged
                flash(_("The mode is switched."), "success")
                if actor is None and form.then_print.data:
                    return redirect(url_for("printing.binder"))
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
        .where(
            CollaborationPattern.scenario_id == row.id, CollaborationPattern.deleted_at.is_(None)
        )
        .order_by(CollaborationPattern.name)
    ).all()
    return render_template(
        "coordination/scenario.html", scenario=row, trees=trees, patterns=patterns
    )


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
        patterns=[
            (p, occurrences(p, now, tz, 3), PathMode(p.mode).applies_in(region.mode)) for p in rows
        ],
        may_create=may_create_anything(current_user),
        editable={p.id for p in rows if can_edit(current_user, p)},
    )


# --- Editing patterns and scenarios -------------------------------------------


def _pattern_form(pattern: CollaborationPattern | None) -> PatternForm:
    form = PatternForm(obj=None if request.method == "POST" else pattern)
    form.convener.choices = editable_actor_choices(current_user)
    form.participants.choices = live_actor_choices()
    roles = db.session.scalars(
        select(Role).where(Role.deleted_at.is_(None)).options(selectinload(Role.actor))
    ).all()
    form.convener_role_id.choices = [SelectChoice(0, "–")] + [
        SelectChoice(r.id, f"{r.short_name or r.name} – {r.actor.name}")
        for r in sorted(roles, key=lambda r: swedish_sort_key(r.actor.name))
    ]
    scenarios = db.session.scalars(select(Scenario).where(Scenario.deleted_at.is_(None))).all()
    form.scenario_id.choices = [SelectChoice(0, "–")] + [SelectChoice(s.id, s.name)
                                                         for s in scenarios]
    if request.method == "GET":
        if pattern is not None:
            form.convener.data = pattern.convener_actor_id
            form.convener_role_id.data = pattern.convener_role_id or 0
            form.scenario_id.data = pattern.scenario_id or 0
            form.mode.data = pattern.mode.value
            form.participants.data = [p.actor_id for p in pattern.participants]
            form.frequency.data, form.weekdays.data, form.times.data = describe_rrule(
                pattern.recurrence
            )
        else:
            form.starts_on.data = date.today()
    return form


def _save_pattern(pattern: CollaborationPattern, form: PatternForm) -> None:
    try:
        operations.save_pattern(pattern, form.values(), form.convener.data, current_user)
    except operations.NotAllowed:
        abort(403)


@bp.route("/patterns/new", methods=["GET", "POST"])
def pattern_new():
    """Create a collaboration pattern convened by one of your actors."""
    form = _pattern_form(None)
    if not form.convener.choices:
        abort(403)
    if request.method == "POST":
        require_may_place_under(id_from_text(request.form.get("convener")))
    if form.validate_on_submit():
        pattern = CollaborationPattern()
        _save_pattern(pattern, form)
        db.session.commit()
        return redirect(url_for("coordination.patterns") + f"#pattern-{pattern.id}")
    status = 422 if request.method == "POST" else 200
    return render_template("coordination/pattern_form.html", form=form, pattern=None), status


@bp.route("/patterns/<int:pattern_id>/edit", methods=["GET", "POST"])
def pattern_edit(pattern_id):
    """Edit a collaboration pattern: cadence, participants, purpose and mandate."""
    pattern = get_for_edit(CollaborationPattern, pattern_id)
    form = _pattern_form(pattern)
    if request.method == "POST":
        require_may_place_under(id_from_text(request.form.get("convener")))
    if form.validate_on_submit():
        _save_pattern(pattern, form)
        db.session.commit()
        return redirect(url_for("coordination.patterns") + f"#pattern-{pattern.id}")
    status = 422 if request.method == "POST" else 200
    return render_template("coordination/pattern_form.html", form=form, pattern=pattern), status


@bp.post("/patterns/<int:pattern_id>/delete")
def pattern_delete(pattern_id):
    """Delete a collaboration pattern (restorable from its history)."""
    pattern = get_for_edit(CollaborationPattern, pattern_id)
    return delete_entry(pattern, url_for("coordination.patterns"))


def _save_scenario(scenario: Scenario, form: ScenarioForm) -> None:
    operations.save_scenario(scenario, form.values())


@bp.route("/scenarios/new", methods=["GET", "POST"])
def scenario_new():
    """Write down a new scenario's agreed direction."""
    require_admin()
    form = ScenarioForm()
    if form.validate_on_submit():
        scenario = Scenario()
        try:
            _save_scenario(scenario, form)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            form.name.errors.append(_("A scenario with this name already exists."))
        else:
            return redirect(url_for("coordination.scenario", slug=scenario.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("coordination/scenario_form.html", form=form, scenario=None), status


@bp.route("/scenarios/<slug>/edit", methods=["GET", "POST"])
def scenario_edit(slug):
    """Edit a scenario's facts, assumptions, goal and measures."""
    require_admin()
    scenario = db.session.scalar(select(Scenario).where(Scenario.slug == slug))
    if scenario is None or scenario.deleted_at is not None:
        abort(404)
    form = ScenarioForm(obj=None if request.method == "POST" else scenario)
    if request.method == "GET":
        form.fill(scenario)
    if form.validate_on_submit():
        _save_scenario(scenario, form)
        db.session.commit()
        return redirect(url_for("coordination.scenario", slug=scenario.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("coordination/scenario_form.html", form=form, scenario=scenario), status
