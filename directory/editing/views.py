"""Editing an actor's own entries: details, persons, roles and contact paths.

Every route loads its entry through `security.get_for_edit` (404/403 in one
place), validates with a form, and writes through `services`. A save based on
an old version answers 409 with what the other person changed, keeping what
this user typed.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from directory.core import entries as services
from directory.core import targets, verification
from directory.core.audit import ENTRY_TYPES
from directory.core.extensions import db
from directory.core.forms import ConfirmForm
from directory.core.limits import id_from_text
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    CallOutcome,
    CheckSource,
    CollaborationPattern,
    ContactPoint,
    Override,
    PathCheck,
    Person,
    Role,
    Rotation,
    Shift,
    utcnow,
)
from directory.core.pages import actor_for_edit, actor_url, delete_entry, is_safe_next
from directory.core.schedules import resolve_on_call
from directory.core.security import (
    can_edit,
    can_edit_escalation,
    can_mark_tested,
    get_for_edit,
    get_or_404,
    require_admin,
)
from directory.core.targets import parse_target, target_value
from directory.core.visibility import HiddenValue, mask_path_history
from directory.editing import actors as actor_rules
from directory.editing.forms import (
    ActorForm,
    ContactPointForm,
    EscalationForm,
    MoveActorForm,
    NewActorForm,
    OverrideForm,
    PathCheckForm,
    PersonForm,
    RoleForm,
    RotationForm,
    ShiftForm,
    escalation_choices,
    for_actor,
    parent_choices,
    person_choices,
    staff_choices,
)

bp = Blueprint("editing", __name__)


def edit_entry(
    entry, form_class, heading: str, back_url: str, *, is_new=False, delete_url=None,
    prepare=None, extra=None, quick=None,
):
    """Show and save a form for a new or existing entry.

    `prepare(form)` fills choices that depend on the entry (the actor's
    persons, say); forms may convert values with `fill()` and `values()` and
    save parts with `after_save()`.
    """
    form = form_class(obj=None if is_new or request.method == "POST" else entry)
    if prepare is not None:
        prepare(form)
    if request.method == "GET" and not is_new:
        form.version.data = str(entry.version)
        form.fill(entry)
    conflict = None
    if form.validate_on_submit():
        try:
            services.save(entry, form.values(), None if is_new else form.expected_version())
            form.after_save(entry)
            db.session.commit()
        except services.ConflictError as error:
            conflict = error.events
            db.session.rollback()
        except StaleDataError:
            db.session.rollback()
            conflict = []
        except IntegrityError:
            db.session.rollback()
            form.form_errors.append(
                _("This entry clashes with an existing one (same name or slug?).")
            )
        else:
            warnings = getattr(form, "warnings", [])
            for warning in warnings:
                flash(str(warning), "warning")
            if not warnings:
                flash(_("Saved."), "success")
            return redirect(back_url)
        if conflict is not None:
            fresh = db.session.get(type(entry), entry.id)
            conflict = services.changes_since(fresh, form.expected_version() or 0)
            form.version.data = str(fresh.version)
    status = 200
    if request.method == "POST":
        status = 409 if conflict is not None else 422
    return (
        render_template(
            "editing/form.html",
            form=form,
            heading=heading,
            back_url=back_url,
            conflict=conflict,
            entry=None if is_new else entry,
            delete_url=delete_url,
            **(extra or {}),
            quick=quick,
        ),
        status,
    )


@bp.route("/actors/<slug>/edit", methods=["GET", "POST"])
def actor_edit(slug):
    """Edit an actor's details."""
    actor = actor_for_edit(slug)
    return edit_entry(actor, ActorForm, _("Edit %(name)s", name=actor.name), actor_url(actor),
                      prepare=for_actor(actor))


@bp.route("/actors/new", methods=["GET", "POST"])
def actor_new():
    """Create an actor (coordinators); its editors fill in the rest."""
    require_admin()
    form = NewActorForm()
    form.parent.choices = parent_choices()
    if form.validate_on_submit():
        parent = db.session.get(Actor, form.parent.data) if form.parent.data else None
        try:
            actor = actor_rules.create_actor(
                form.name.data, parent=parent, kind=ActorKind(form.kind.data),
                level=ActorLevel(form.level.data), short_name=form.short_name.data)
            db.session.commit()
        except actor_rules.ActorError as error:
            db.session.rollback()
            form.name.errors.append(str(error))
        else:
            flash(_("%(name)s is created. Add its roles and contact paths.", name=actor.name),
                  "success")
            return redirect(actor_url(actor))
    return render_template("editing/form.html", form=form, heading=_("New actor"),
                           back_url=url_for("lookup.home"), conflict=None, entry=None,
                           delete_url=None), 422 if request.method == "POST" else 200


@bp.route("/actors/<slug>/move", methods=["GET", "POST"])
def actor_move(slug):
    """Place an actor under another one, or at the top level (coordinators)."""
    require_admin()
    actor = actor_for_edit(slug)
    form = MoveActorForm()
    form.parent.choices = parent_choices(exclude=actor)
    if request.method == "GET":
        form.parent.data = actor.parent_id or 0
        form.version.data = str(actor.version)
    elif form.validate_on_submit():
        parent = db.session.get(Actor, form.parent.data) if form.parent.data else None
        try:
            actor_rules.move_actor(actor, parent, form.expected_version())
            db.session.commit()
        except actor_rules.ActorError as error:
            db.session.rollback()
            form.parent.errors.append(str(error))
        except (services.ConflictError, StaleDataError):
            db.session.rollback()
            form.form_errors.append(_("Someone changed the actor meanwhile. Look again first."))
        else:
            flash(_("Moved."), "success")
            return redirect(actor_url(actor))
    return render_template("editing/form.html", form=form,
                           heading=_("Move %(name)s", name=actor.name), back_url=actor_url(actor),
                           conflict=None, entry=None, delete_url=None), \
        422 if request.method == "POST" else 200


@bp.post("/actors/<slug>/retire")
def actor_retire(slug):
    """Retire an actor (coordinators); restorable from its history."""
    require_admin()
    actor = actor_for_edit(slug)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        actor_rules.retire_actor(actor, form.expected_version())
        db.session.commit()
    except actor_rules.ActorError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(actor_url(actor))
    except (services.ConflictError, StaleDataError):
        db.session.rollback()
        flash(_("Not retired: someone changed the actor meanwhile. Look again first."), "error")
        return redirect(actor_url(actor))
    flash(_("%(name)s is retired. It can be restored from its history.", name=actor.name),
          "success")
    return redirect(url_for("editing.history", entity_type="actor", entity_id=actor.id))


@bp.post("/actors/<slug>/review")
def actor_review(slug):
    """Confirm that the actor's entries are reviewed and still correct."""
    actor = actor_for_edit(slug)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.confirm_review(actor, current_user)
    db.session.commit()
    flash(_("Marked as reviewed."), "success")
    return redirect(actor_url(actor))


@bp.route("/actors/<slug>/persons/new", methods=["GET", "POST"])
def person_new(slug):
    """Add a person to an actor."""
    actor = actor_for_edit(slug)
    return edit_entry(Person(actor_id=actor.id), PersonForm, _("New person"), actor_url(actor),
                      is_new=True)


@bp.route("/persons/<int:person_id>/edit", methods=["GET", "POST"])
def person_edit(person_id):
    """Edit a person."""
    person = get_for_edit(Person, person_id)
    return edit_entry(person, PersonForm, _("Edit %(name)s", name=person.name),
                      actor_url(person.actor),
                      delete_url=url_for("editing.person_delete", person_id=person.id))


@bp.post("/persons/<int:person_id>/delete")
def person_delete(person_id):
    """Delete a person (restorable from the history)."""
    person = get_for_edit(Person, person_id)
    return delete_entry(person, actor_url(person.actor))


@bp.route("/actors/<slug>/roles/new", methods=["GET", "POST"])
def role_new(slug):
    """Add an on-call role to an actor."""
    actor = actor_for_edit(slug)
    return edit_entry(
        Role(actor_id=actor.id), RoleForm, _("New role"), actor_url(actor), is_new=True
    )


@bp.route("/roles/<int:role_id>/edit", methods=["GET", "POST"])
def role_edit(role_id):
    """Edit an on-call role."""
    role = get_for_edit(Role, role_id)
    return edit_entry(role, RoleForm, _("Edit %(name)s", name=role.name), actor_url(role.actor),
                      delete_url=url_for("editing.role_delete", role_id=role.id))


@bp.route("/roles/<int:role_id>/escalation", methods=["GET", "POST"])
def role_escalation(role_id):
    """Edit a role's escalation: "no answer within N minutes → call …", in steps."""
    from directory.core import escalations

    role = get_or_404(Role, role_id)
    if not can_edit_escalation(current_user, role):
        abort(403)
    form = EscalationForm()
    if request.method == "GET":
        form.version.data = str(role.version)
        for slot, step in zip(form.steps, escalations.steps_of(role), strict=False):
            slot.form.target.data = target_value(step.target)
            slot.form.minutes.data = step.after_minutes
    choices = escalation_choices(role, form.chosen(), find=targets.sought())
    form.set_choices(choices.choices)
    conflict = None
    if choices.found is None and form.validate_on_submit():  # not a search by name: a save
        steps = [(parse_target(slot.form.target.data), slot.form.minutes.data or 0)
                 for slot in form.steps if slot.form.target.data]
        try:
            warnings = escalations.set_steps(role, steps, form.expected_version())
            db.session.commit()
        except escalations.EscalationError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        except (services.ConflictError, StaleDataError):
            db.session.rollback()
            conflict = services.changes_since(db.session.get(Role, role.id),
                                              form.expected_version() or 0)
            form.version.data = str(db.session.get(Role, role.id).version)
        else:
            for warning in warnings:
                flash(warning, "warning")
            flash(_("Saved."), "success")
            return redirect(url_for("lookup.role", role_id=role.id) + "#escalation")
    status = (200 if request.method == "GET" or choices.found is not None
              else 409 if conflict is not None else 422)
    return render_template("editing/escalation.html", form=form, role=role,
                           conflict=conflict, targets=choices), status


@bp.post("/roles/<int:role_id>/delete")
def role_delete(role_id):
    """Delete an on-call role (restorable from the history)."""
    role = get_for_edit(Role, role_id)
    return delete_entry(role, actor_url(role.actor))


def _new_contact_owner(actor: Actor, owner: str) -> dict:
    """`actor`, `role-<id>` or `person-<id>`: an owner within this actor.

    Ids, not objects: a new entry must not join its owner's collections
    before it is valid and saved.
    """
    if owner in ("", "actor"):
        return {"actor_id": actor.id}
    kind, _sep, ident = owner.partition("-")
    model = {"role": Role, "person": Person, "pattern": CollaborationPattern}.get(kind)
    ident = id_from_text(ident)
    entry = db.session.get(model, ident) if model and ident else None
    if entry is None or entry.owning_actor_id != actor.id or entry.deleted_at is not None:
        abort(404)
    return {f"{kind}_id": entry.id}


@bp.route("/actors/<slug>/contacts/new", methods=["GET", "POST"])
def contact_new(slug):
    """Add a contact path to an actor, one of its roles or persons."""
    actor = actor_for_edit(slug)
    point = ContactPoint(**_new_contact_owner(actor, request.args.get("owner", "")))
    return edit_entry(point, ContactPointForm, _("New contact path"), actor_url(actor),
                      is_new=True)


def _contact_actor(point: ContactPoint) -> Actor:
    return db.session.get(Actor, point.owning_actor_id)


def _checks_section(point: ContactPoint, check_form: PathCheckForm | None = None) -> dict:
    """What the path's page shows of its calls: status, the test form, recent calls."""
    return {
        "check_form": check_form or PathCheckForm(formdata=None),
        "check_status": verification.status_of(point),
        "checks": verification.checks_of(point),
    }


@bp.route("/contacts/<int:point_id>/edit", methods=["GET", "POST"])
def contact_edit(point_id):
    """Edit a contact path."""
    point = get_for_edit(ContactPoint, point_id)
    return edit_entry(point, ContactPointForm, _("Edit contact path"),
                      actor_url(_contact_actor(point)),
                      delete_url=url_for("editing.contact_delete", point_id=point.id),
                      extra=_checks_section(point))


@bp.post("/contacts/<int:point_id>/check")
def contact_check(point_id):
    """Record an editor's test of a path: "tested, works" or "tested, failed"."""
    point = get_for_edit(ContactPoint, point_id)
    if not can_mark_tested(current_user, point):
        abort(403)
    check_form = PathCheckForm()
    if not check_form.validate_on_submit():
        form = ContactPointForm(obj=point)
        form.version.data = str(point.version)
        form.fill(point)
        return render_template(
            "editing/form.html", form=form, heading=_("Edit contact path"),
            back_url=actor_url(_contact_actor(point)), conflict=None, entry=point,
            delete_url=url_for("editing.contact_delete", point_id=point.id),
            **_checks_section(point, check_form),
        ), 422
    check = verification.record_call(point, check_form.outcome(), source=CheckSource.EDITOR,
                                     user=current_user, note=check_form.note.data)
    db.session.commit()
    flash(_("Recorded: the number works.") if check.outcome == CallOutcome.REACHED
          else _("Recorded: the number failed. It is flagged until a call reaches someone."),
          "success")
    return redirect(url_for("editing.contact_edit", point_id=point.id))


@bp.post("/checks/<int:check_id>/<any(withdraw, restore):action>")
def check_change(check_id, action):
    """Withdraw an editor's test recorded by mistake, or restore it (both recorded)."""
    check = get_for_edit(PathCheck, check_id, include_deleted=True)
    if check.source != CheckSource.EDITOR:
        abort(404)  # what a drill or call-out recorded is kept as it happened
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if action == "withdraw" and check.deleted_at is None:
        verification.withdraw(check)
        flash(_("Withdrawn. It can be restored below."), "success")
    elif action == "restore" and check.deleted_at is not None:
        verification.reinstate(check)
        flash(_("Restored."), "success")
    db.session.commit()
    return redirect(url_for("editing.contact_edit", point_id=check.contact_point_id))


@bp.post("/contacts/<int:point_id>/delete")
def contact_delete(point_id):
    """Delete a contact path (restorable from the history)."""
    point = get_for_edit(ContactPoint, point_id)
    return delete_entry(point, actor_url(_contact_actor(point)))


# --- Schedules: rotations, shifts, overrides -------------------------------


def role_url(role: Role) -> str:
    return url_for("lookup.role", role_id=role.id)


def _rotation_prepare(actor_id: int):
    def prepare(form):
        form.set_person_choices(person_choices(actor_id))

    return prepare


SCHEDULE_KINDS = {
    # kind: (model, form, new heading, edit heading, prepare)
    "rotations": (Rotation, RotationForm, _l("New rotation"), _l("Edit rotation"),
                  _rotation_prepare),
    "shifts": (Shift, ShiftForm, _l("New shift"), _l("Edit shift"), staff_choices),
    "overrides": (Override, OverrideForm, _l("New override"), _l("Edit override"),
                  staff_choices),
}


def _schedule_kind(kind: str):
    if kind not in SCHEDULE_KINDS:
        abort(404)
    return SCHEDULE_KINDS[kind]


@bp.route("/roles/<int:role_id>/<any(rotations, shifts, overrides):kind>/new",
          methods=["GET", "POST"])
def schedule_new(role_id, kind):
    """Add a rotation, a single shift or an override to a role."""
    role = get_for_edit(Role, role_id)
    model, form_class, heading, _edit_heading, prepare = _schedule_kind(kind)
    quick = None
    if kind == "overrides":
        prepare, quick = _sick_call(role, prepare(role.actor_id)), SICK_CALL_PRESETS
    else:
        prepare = prepare(role.actor_id)
    return edit_entry(model(role_id=role.id), form_class, str(heading), role_url(role),
                      is_new=True, prepare=prepare, quick=quick)


# A sick call at 06:00 on a phone: one tap instead of two date pickers.
SICK_CALL_PRESETS = (("now", _l("From now")), ("8h", _l("8 h")), ("24h", _l("24 h")),
                     ("handover", _l("Until the next handover")))


def _sick_call(role: Role, prepare):
    """Prefill an override: from now, for `?for=`, replacing whoever is on call now."""
    def with_presets(form):
        prepare(form)
        if request.method != "GET":
            return
        tz = ZoneInfo(current_app.config["TIMEZONE"])
        now = utcnow().replace(second=0, microsecond=0)
        duty = resolve_on_call(role, now, tz)
        if duty.person is not None:
            form.replaces_person_id.data = duty.person.id
        preset = request.args.get("for", "")
        if preset not in {key for key, _label in SICK_CALL_PRESETS}:
            return
        form.starts_at.data = now.astimezone(tz).replace(tzinfo=None)
        ends = {"8h": now + timedelta(hours=8), "24h": now + timedelta(hours=24),
                "handover": duty.ends_at}.get(preset)
        if ends is not None:
            form.ends_at.data = ends.astimezone(tz).replace(tzinfo=None)
    return with_presets


@bp.route("/<any(rotations, shifts, overrides):kind>/<int:entry_id>/edit",
          methods=["GET", "POST"])
def schedule_edit(kind, entry_id):
    """Edit a rotation, shift or override."""
    model, form_class, _heading, heading, prepare = _schedule_kind(kind)
    entry = get_for_edit(model, entry_id)
    return edit_entry(entry, form_class, str(heading), role_url(entry.role),
                      prepare=prepare(entry.role.actor_id),
                      delete_url=url_for("editing.schedule_delete", kind=kind, entry_id=entry.id))


@bp.post("/<any(rotations, shifts, overrides):kind>/<int:entry_id>/delete")
def schedule_delete(kind, entry_id):
    """Delete a rotation, shift or override (restorable from the history)."""
    model = _schedule_kind(kind)[0]
    entry = get_for_edit(model, entry_id)
    return delete_entry(entry, role_url(entry.role))


@bp.post("/contacts/<int:point_id>/move")
def contact_move(point_id):
    """Move a contact path one step up or down in its owner's PACE order."""
    point = get_for_edit(ContactPoint, point_id)
    form = ConfirmForm()
    direction = request.form.get("direction")
    if not form.validate_on_submit() or direction not in ("up", "down"):
        abort(400)
    try:
        services.move_contact_point(point, direction, form.expected_version())
        db.session.commit()
    except (services.ConflictError, StaleDataError):
        db.session.rollback()
        flash(_("Not moved: someone changed the entry meanwhile. Look again first."), "error")
    return redirect(request.form.get("back") if is_safe_next(request.form.get("back"))
                    else actor_url(_contact_actor(point)))


def _entry_model(entity_type: str):
    model = ENTRY_TYPES.get(entity_type)
    if model is None:
        abort(404)
    return model


@bp.get("/history/<entity_type>/<int:entity_id>")
def history(entity_type, entity_id):
    """Every recorded change of one entry, newest first."""
    entry = db.session.get(_entry_model(entity_type), entity_id)
    if entry is None:
        abort(404)
    events = services.history(entity_type, entity_id)
    if isinstance(entry, ContactPoint):
        # Hidden as it was when recorded, not as the path is now.
        rows = mask_path_history(events, point=entry)
    else:
        rows = [{"event": e, "before": e.before, "after": e.after} for e in events]
    return render_template(
        "editing/history.html",
        entry=entry,
        entity_type=entity_type,
        rows=rows,
        may_restore=entry.deleted_at is not None and can_edit(current_user, entry),
        masked=any(v is not None and any(isinstance(x, HiddenValue) for x in v.values())
                   for row in rows for v in (row["before"], row["after"])),
        form=ConfirmForm(),
    )


@bp.post("/history/<entity_type>/<int:entity_id>/restore")
def restore(entity_type, entity_id):
    """Restore a deleted entry with the values it had."""
    entry = get_for_edit(_entry_model(entity_type), entity_id, include_deleted=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if entry.deleted_at is None:
        flash(_("This entry is not deleted."), "info")
    else:
        services.restore(entry)
        db.session.commit()
        flash(_("Restored."), "success")
    return redirect(url_for("editing.history", entity_type=entity_type, entity_id=entity_id))
