"""The coordinators' pages: user accounts and the actors editors may edit."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from directory.accounts.forms import PasswordResetForm, SettingsForm, UserForm
from directory.accounts.users import UserError, create_user, deactivate, new_password, set_password
from directory.core.extensions import db
from directory.core.forms import live_actor_choices
from directory.core.models import Actor, User, UserRole
from directory.core.security import require_admin
from directory.core.settings import (
    LOOKUP_NAMES_PERSON,
    VERIFY_AFTER_DAYS,
    VIEWERS_SEE_CONFIDENTIAL,
    get_setting,
    set_setting,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only():
    require_admin()


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/users")
def users():
    """List the user accounts."""
    accounts = db.session.scalars(select(User).order_by(User.email)).all()
    return render_template("accounts/users.html", users=accounts)


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    """Create a user account."""
    form = UserForm()
    form.actors.choices = live_actor_choices()
    if form.validate_on_submit():
        actors = [db.session.get(Actor, i) for i in form.actors.data]
        password = form.password.data or new_password()
        try:
            user = create_user(form.email.data, password, UserRole(form.role.data),
                               name=form.name.data or "", actors=actors)
        except UserError as error:
            form.email.errors.append(str(error))
        else:
            user.active = form.active.data
            db.session.commit()
            if not form.password.data:
                # Shown in this answer only, never flashed: the session
                # cookie is signed, not encrypted, and a secret does not go in it.
                return render_template("accounts/user_created.html", user=user,
                                       password=password), 201
            flash(_("Created %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id):
    """Change a user's role, actors and whether they may sign in."""
    user = _get_user(user_id)
    form = UserForm(obj=None if request.method == "POST" else user)
    form.actors.choices = live_actor_choices()
    if request.method == "GET":
        form.actors.data = [a.id for a in user.actors]
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        clash = db.session.scalar(select(User).where(User.email == email, User.id != user.id))
        if clash is not None:
            form.email.errors.append(_("Another user has this e-mail."))
        else:
            user.email = email
            user.name = form.name.data or ""
            user.role = UserRole(form.role.data)
            if user.active and not form.active.data:
                deactivate(user)  # and every session of theirs ends now
            user.active = form.active.data
            user.actors = [db.session.get(Actor, i) for i in form.actors.data]
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.users"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/user_form.html", form=form, user=user,
                           password_form=PasswordResetForm()), status


@bp.post("/users/<int:user_id>/password")
def user_password(user_id):
    """Set a new password for a user."""
    user = _get_user(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            set_password(user, form.password.data)
        except UserError as error:
            form.password.errors.append(str(error))
        else:
            db.session.commit()
            flash(_("Password set for %(email)s. Their other sessions and API tokens "
                    "have ended.", email=user.email), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    user_form = UserForm(obj=user)
    user_form.actors.choices = live_actor_choices()
    user_form.actors.data = [a.id for a in user.actors]
    return render_template("accounts/user_form.html", form=user_form, user=user,
                           password_form=form), 422


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Settings of the whole directory (who may see confidential numbers)."""
    form = SettingsForm()
    if request.method == "GET":
        form.viewers_see_confidential.data = get_setting(VIEWERS_SEE_CONFIDENTIAL)
        form.lookup_names_person.data = get_setting(LOOKUP_NAMES_PERSON)
        form.verify_after_days.data = get_setting(VERIFY_AFTER_DAYS)
    if form.validate_on_submit():
        set_setting(VIEWERS_SEE_CONFIDENTIAL, bool(form.viewers_see_confidential.data))
        set_setting(LOOKUP_NAMES_PERSON, bool(form.lookup_names_person.data))
        if form.verify_after_days.data is not None:  # left empty: unchanged
            set_setting(VERIFY_AFTER_DAYS, int(form.verify_after_days.data))
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("admin.settings"))
    return render_template("accounts/settings.html", form=form)
