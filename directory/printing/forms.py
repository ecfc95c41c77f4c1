"""Forms of the print pages: a binder's preview and a new revision."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from directory.core.forms import Form


class RevisionForm(Form):
    mode = SelectField(_l("Mode"), choices=[SelectChoice("", _l("The mode in force")),
                                           SelectChoice("ordinary", _l("Ordinary mode")),
                                           SelectChoice("activated", _l("Activated mode"))],
                       default="", validators=[Optional()])
    at = DateField(_l("On call as of (date, optional)"), validators=[Optional()])
    submit = SubmitField(_l("Print a new revision"))


class PreviewForm(Form):
    actor = HiddenField()
    mode = RevisionForm.mode
    at = RevisionForm.at
    submit = SubmitField(_l("Preview PDF"))
