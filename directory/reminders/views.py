"""The account page: a person's own mail preferences."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from directory.core.extensions import db
from directory.core.models import ReminderFrequency, UserRole
from directory.reminders.forms import MailPreferencesForm

bp = Blueprint("reminders", __name__)


@bp.route("/account", methods=["GET", "POST"])
def account():
    """Your account: how often reminders come, and whether mode switches are mailed."""
    user = current_user._get_current_object()
    form = MailPreferencesForm()
    if request.method == "GET":
        form.reminder_frequency.data = ReminderFrequency(user.reminder_frequency).value
        form.mode_notices.data = user.mode_notices
    if form.validate_on_submit():
        user.reminder_frequency = ReminderFrequency(form.reminder_frequency.data)
        user.mode_notices = bool(form.mode_notices.data)
        db.session.commit()
        flash(_("Saved."), "success")
        return redirect(url_for("reminders.account"))
    return render_template(
        "reminders/account.html", form=form, user=user,
        gets_digest=user.role in (UserRole.ADMIN, UserRole.EDITOR),
    ), (422 if request.method == "POST" else 200)
