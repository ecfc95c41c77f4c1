"""Forms for directory entries (Flask-WTF: validation, CSRF, per-field errors).

Each form knows its entry's fields and nothing about permissions or saving;
`values()` hands the cleaned data to the service functions.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    DateTimeLocalField,
    FieldList,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from .models import ActorKind, ActorLevel, ContactKind, PathMode, RotationKind, UserRole
from .moments import EARLIEST_YEAR, LATEST_YEAR, in_range
from .phones import PhoneNumberError, normalise_phone
from .text import unsafe_character

KIND_LABELS = {
    ContactKind.MOBILE: _l("Mobile"),
    ContactKind.LANDLINE: _l("Landline"),
    ContactKind.SWITCHBOARD: _l("Switchboard"),
    ContactKind.SMS: _l("SMS"),
    ContactKind.SATELLITE: _l("Satellite phone"),
    ContactKind.BRIDGE: _l("Conference bridge"),
    ContactKind.EMAIL: _l("E-mail"),
    ContactKind.RAKEL_GROUP: _l("Rakel talk group"),
    ContactKind.RAKEL_ISSI: _l("Rakel ISSI"),
    ContactKind.WEB: _l("Web"),
    ContactKind.ADDRESS: _l("Address"),
    ContactKind.OTHER: _l("Other"),
}
MODE_LABELS = {
    PathMode.BOTH: _l("Both modes"),
    PathMode.ORDINARY: _l("Ordinary mode only"),
    PathMode.ACTIVATED: _l("Activated mode only"),
}


def _choices(enum_class, labels=None) -> list[SelectChoice]:
    return [
        SelectChoice(m.value, labels[m] if labels else m.value.replace("_", " "))
        for m in enum_class
    ]


class Form(FlaskForm):
    """Every form of the app: text and dates are checked here, once, for all fields.

    No text field may hold a control character or a text-direction override
    (a NUL byte breaks PostgreSQL), and no date may lie outside the years the
    directory accepts. New forms inherit the checks by inheriting this class;
    a test fails for any form that does not.
    """

    def validate(self, extra_validators=None):
        checks = {name: list(found) for name, found in (extra_validators or {}).items()}
        for name, field in self._fields.items():
            if isinstance(field, StringField):
                checks.setdefault(name, []).append(_plain_text)
            elif isinstance(field, DateField | DateTimeLocalField | DateTimeField) \
                    and not isinstance(field, TimeField):
                checks.setdefault(name, []).append(_within_years)
        return super().validate(extra_validators=checks)


def _plain_text(form, field) -> None:
    code = unsafe_character(field.data, multiline=isinstance(field, TextAreaField))
    if code is not None:
        raise ValidationError(
            _l("Contains an invisible character (%(code)s) that cannot be stored. "
               "Remove it and save again.", code=code)
        )


def _within_years(form, field) -> None:
    if not in_range(field.data):
        raise ValidationError(
            _l("Give a date between %(first)d and %(last)d.", first=EARLIEST_YEAR,
               last=LATEST_YEAR)
        )


class VersionedForm(Form):
    """Carries the version of the entry the user saw, to refuse stale saves."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        return int(self.version.data) if (self.version.data or "").isdigit() else None


class EntryForm(VersionedForm):
    """A form for an entry's fields."""

    submit = SubmitField(_l("Save"))

    NOT_VALUES = frozenset({"version", "submit", "csrf_token"})

    def fill(self, entry) -> None:
        """Set fields that do not map one-to-one onto the entry's columns."""

    def after_save(self, entry) -> None:
        """Save parts of the entry that `values()` does not cover."""

    def values(self) -> dict:
        """The cleaned field values; text left out of the post is empty text."""
        return {
            name: "" if field.data is None and isinstance(field, StringField) else field.data
            for name, field in self._fields.items()
            if name not in self.NOT_VALUES
        }


class ActorForm(EntryForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[Length(max=60)])
    kind = SelectField(_l("Kind"), choices=_choices(ActorKind))
    level = SelectField(_l("Level"), choices=_choices(ActorLevel))
    review_interval_days = IntegerField(
        _l("Review interval (days)"), validators=[InputRequired(), NumberRange(1, 3650)]
    )
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])

    def values(self) -> dict:
        data = super().values()
        data["kind"] = ActorKind(data["kind"])
        data["level"] = ActorLevel(data["level"])
        return data


class PersonForm(EntryForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    title = StringField(_l("Title"), validators=[Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])


class RoleForm(EntryForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[Length(max=40)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])


class ContactPointForm(EntryForm):
    kind = SelectField(_l("Kind"), choices=_choices(ContactKind, KIND_LABELS))
    value = StringField(_l("Number or address"), validators=[DataRequired(), Length(max=300)])
    pin = StringField(_l("PIN (conference bridge)"), validators=[Length(max=40)])
    label = StringField(_l("Label"), validators=[Length(max=200)])
    mode = SelectField(_l("Applies in"), choices=_choices(PathMode, MODE_LABELS))
    priority = IntegerField(
        _l("Order (1 = primary)"), default=1, validators=[InputRequired(), NumberRange(1, 99)]
    )
    available_from = TimeField(_l("Available from"), validators=[Optional()])
    available_until = TimeField(_l("Available until"), validators=[Optional()])
    confidential = BooleanField(_l("Confidential"))

    def validate_value(self, field):
        if self.kind.data not in {k.value for k in ContactKind}:
            return  # the kind field itself says it is not a valid choice
        kind = ContactKind(self.kind.data)
        raw = (field.data or "").strip()
        if kind.is_phone:
            try:
                field.data = normalise_phone(raw, current_app.config["DEFAULT_REGION"])
            except PhoneNumberError as error:
                raise ValidationError(str(error)) from None
        elif kind is ContactKind.EMAIL:
            try:
                field.data = validate_email(raw, check_deliverability=False).normalized
            except EmailNotValidError:
                raise ValidationError(_l("Enter a valid e-mail address.")) from None
        elif kind is ContactKind.WEB and not raw.startswith(("https://", "http://")):
            raise ValidationError(_l("A web address starts with https:// or http://."))
        else:
            field.data = raw

    def validate(self, extra_validators=None):
        # Not an inline validator: Optional() stops those when a time is empty.
        valid = super().validate(extra_validators)
        if (self.available_from.data is None) != (self.available_until.data is None):
            self.available_until.errors.append(
                _l("Give both times, or neither for around the clock.")
            )
            return False
        return valid

    def values(self) -> dict:
        data = super().values()
        data["kind"] = ContactKind(data["kind"])
        data["mode"] = PathMode(data["mode"])
        return data


def strong_password(form, field) -> None:
    """NIST SP 800-63B: long enough and not common (users.password_problem)."""
    from .users import password_problem

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


class ConfirmForm(VersionedForm):
    """An empty form: a button with CSRF protection (delete, restore, review)."""

    submit = SubmitField(_l("Confirm"))


class SettingsForm(Form):
    viewers_see_confidential = BooleanField(
        _l("Viewers (duty officers) may see confidential numbers")
    )
    submit = SubmitField(_l("Save"))


def local_to_utc(value: datetime | None) -> datetime | None:
    """A naive local time typed in a form, as an aware UTC moment."""
    if value is None:
        return None
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    return value.replace(tzinfo=tz).astimezone(UTC)


def utc_to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).replace(tzinfo=None)


class PeriodForm(EntryForm):
    """A stretch of duty typed in local time: who, from when, until when."""

    person_id = SelectField(_l("Who is on call"), coerce=int)
    starts_at = DateTimeLocalField(_l("From"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired()])
    ends_at = DateTimeLocalField(_l("Until"), format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired()])

    def validate_ends_at(self, field):
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must be after the start."))

    def fill(self, entry) -> None:
        self.starts_at.data = utc_to_local(entry.starts_at)
        self.ends_at.data = utc_to_local(entry.ends_at)

    def values(self) -> dict:
        data = super().values()
        data["starts_at"] = local_to_utc(data["starts_at"])
        data["ends_at"] = local_to_utc(data["ends_at"])
        return data


class ShiftForm(PeriodForm):
    note = StringField(_l("Note"), validators=[Length(max=300)])


class OverrideForm(PeriodForm):
    replaces_person_id = SelectField(_l("Replaces (optional)"), coerce=int, default=0)
    reason = StringField(_l("Reason"), validators=[Length(max=300)])

    def values(self) -> dict:
        data = super().values()
        data["replaces_person_id"] = data["replaces_person_id"] or None
        return data


ROTATION_KIND_LABELS = {
    RotationKind.DAILY: _l("Daily"),
    RotationKind.WEEKLY: _l("Weekly"),
    RotationKind.CUSTOM: _l("Custom length"),
}
MAX_ROTATION_MEMBERS = 8


class RotationForm(EntryForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    kind = SelectField(_l("Turns"), choices=_choices(RotationKind, ROTATION_KIND_LABELS))
    length_days = IntegerField(_l("Days per turn (custom length)"), default=7,
                               validators=[Optional(), NumberRange(1, 366)])
    handover_time = TimeField(_l("Handover time"), validators=[InputRequired()])
    starts_on = DateField(_l("First handover on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on (optional)"), validators=[Optional()])
    members = FieldList(SelectField(_l("Member"), coerce=int, default=0),
                        min_entries=MAX_ROTATION_MEMBERS, max_entries=MAX_ROTATION_MEMBERS)

    def set_person_choices(self, choices) -> None:
        for entry in self.members:
            entry.choices = [SelectChoice(0, "–"), *choices]

    def member_ids(self) -> list[int]:
        return [entry.data for entry in self.members if entry.data]

    def validate_members(self, field):
        ids = self.member_ids()
        if not ids:
            raise ValidationError(_l("Choose at least one member."))
        if len(ids) != len(set(ids)):
            raise ValidationError(_l("Each person can be in the order only once."))

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data <= self.starts_on.data:
            raise ValidationError(_l("The end must be after the start."))

    def fill(self, entry) -> None:
        for slot, member in zip(self.members, entry.members, strict=False):
            slot.data = member.person_id

    def values(self) -> dict:
        data = super().values()
        data.pop("members")
        data["kind"] = kind = RotationKind(data["kind"])
        data["length_days"] = {RotationKind.DAILY: 1, RotationKind.WEEKLY: 7}.get(
            kind, data["length_days"] or 1
        )
        return data

    def after_save(self, entry) -> None:
        from .services import set_rotation_members

        set_rotation_members(entry, self.member_ids())
