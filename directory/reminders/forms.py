"""The account page's form: how often the digest comes, and mode notices."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from wtforms import BooleanField, RadioField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from directory.core.forms import Form
from directory.core.models import ReminderFrequency


class MailPreferencesForm(Form):
    reminder_frequency = RadioField(
        _l("Reminder digest (what needs attention in your actors' entries)"),
        choices=[
            SelectChoice(ReminderFrequency.DAILY.value, lazy_pgettext("how often", "Daily")),
            SelectChoice(ReminderFrequency.WEEKLY.value, _l("Weekly")),
            SelectChoice(ReminderFrequency.OFF.value, _l("Off")),
        ],
        validators=[InputRequired()],
    )
    mode_notices = BooleanField(_l("Mail me when the region or my actor changes mode"))
    submit = SubmitField(_l("Save"))
