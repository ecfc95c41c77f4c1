"""Forms of the phone pages: an import's upload and a calendar feed's making."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import Length

from directory.core.forms import Form


class ImportForm(Form):
    file = FileField(_l("File (vCard or CSV)"), validators=[FileRequired(_l("Choose a file."))])
    confidential_mobiles = BooleanField(
        _l("Mark imported mobile numbers as confidential"), default=True
    )
    submit = SubmitField(_l("Preview"))


class FeedForm(Form):
    subject = SelectField(_l("Feed of"), choices=[], validate_choice=False)
    name = StringField(_l("Name (for you to recognise it)"), validators=[Length(max=200)])
    submit = SubmitField(_l("Make the feed URL"))
