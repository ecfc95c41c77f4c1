"""The form that starts a call-out (marking a step is a plain POST of its outcome)."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from directory.core.forms import Form


class StartForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)],
                        description=_l("What everyone will see, e.g. “Larm: snö/halka, "
                                       "aktiverat läge”."))
    kind = RadioField(_l("Kind"), default="real", choices=[
        SelectChoice("real", _l("Real call-out")), SelectChoice("drill", _l("Drill"))])
    submit = SubmitField(_l("Start the call-out"))
