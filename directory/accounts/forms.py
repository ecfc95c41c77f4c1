"""Forms for signing in, users, passwords, API tokens, device passwords and the
region's settings."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from directory.accounts.devices import MAX_NAME_LENGTH
from directory.core.forms import Form, _choices
from directory.core.models import (
    UserRole,
)


def strong_password(form, field) -> None:
    """NIST SP 800-63B: long enough and not common (users.password_problem)."""
    from directory.accounts.users import password_problem

    if field.data:
        inputs = [getattr(form, name).data or "" for name in ("email", "name") if name in form]
        problem = password_problem(field.data, inputs)
        if problem:
            raise ValidationError(problem)


class UserForm(Form):
    email = StringField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=_choices(UserRole))
    actors = SelectMultipleField(_l("Actors this editor may edit"), coerce=int)
    password = PasswordField(
        _l("Password (new users; leave empty to generate one)"),
        validators=[Optional(), strong_password],
    )
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class PasswordResetForm(Form):
    password = PasswordField(_l("New password"), validators=[DataRequired(), strong_password])
    submit = SubmitField(_l("Set password"))


class SettingsForm(Form):
    viewers_see_confidential = BooleanField(
        _l("Viewers (duty officers) may see confidential numbers")
    )
    lookup_names_person = BooleanField(
        _l("Reverse lookup of a confidential number names the person (not only actor and role)")
    )
    verify_after_days = IntegerField(
        _l("A number not reached by a call for this many days is due for a test"),
        validators=[Optional(), NumberRange(min=1, max=3650)],
    )
    submit = SubmitField(_l("Save"))


class LoginForm(Form):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=500)])
    remember = BooleanField(_l("Remember this device"))
    submit = SubmitField(_l("Sign in"))


class TokenForm(Form):
    name = StringField(_l("What will use it?"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Create token"))


class DeviceForm(Form):
    name = StringField(_l("Which device? (for example “iPhone jobb”)"),
                       validators=[DataRequired(), Length(max=MAX_NAME_LENGTH)])
    submit = SubmitField(_l("Create device password"))
