"""Forms for directory entries (Flask-WTF: validation, CSRF, per-field
errors). Each form knows its entry's fields and nothing about
permissions or saving; `values()` hands the cleaned data to the
entry operations."""

from contextlib import suppress

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from phonenumbers import NumberParseException
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from directory.core import targets
from directory.core.extensions import db
from directory.core.forms import (
    KIND_LABELS,
    MODE_LABELS,
    Form,
    VersionedForm,
    _choices,
    live_actor_choices,
    local_to_utc,
    utc_to_local,
)
from directory.core.models import (
    Actor,
    ActorKind,
    ActorLevel,
    ContactKind,
    ContactPoint,
    PathMode,
    Person,
    RotationKind,
)
from directory.core.numbers import PhoneNumberError, display_phone, normalise_phone
from directory.core.targets import Targets, target_value
from directory.core.text import swedish_sort_key
from directory.editing import actors


def person_choices(actor_id: int) -> list[SelectChoice]:
    persons = db.session.scalars(
        select(Person).where(Person.actor_id == actor_id, Person.deleted_at.is_(None))
    ).all()
    persons.sort(key=lambda p: swedish_sort_key(p.name))
    return [SelectChoice(p.id, p.name) for p in persons]


def staff_choices(actor_id: int):
    """Fill a shift's or override's choices of who is on call (and whom they
    replace) with the actor's live persons: the pages' and the API's one rule."""

    def prepare(form):
        choices = person_choices(actor_id)
        form.person_id.choices = choices
        if hasattr(form, "replaces_person_id"):
            form.replaces_person_id.choices = [SelectChoice(0, "–"), *choices]

    return prepare


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
    keywords = StringField(
        _l("Search words"),
        description=_l("Words search finds this by, separated by commas; not printed."),
        validators=[Length(max=1000)],
    )

    editing = None  # the actor edited (`for_actor`): its own name is no clash

    def validate_name(self, field):
        """Another live actor's name, in any case, is refused here, as on creating."""
        try:
            actors.check_name(field.data or "", self.editing)
        except actors.ActorError as error:
            raise ValidationError(str(error)) from None

    def values(self) -> dict:
        data = super().values()
        data["kind"] = ActorKind(data["kind"])
        data["level"] = ActorLevel(data["level"])
        return data


def for_actor(actor):
    """`prepare` for an actor's form (pages and API): the actor it edits."""
    def prepare(form):
        form.editing = actor
    return prepare


class PersonForm(EntryForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    title = StringField(_l("Title"), validators=[Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])


class RoleForm(EntryForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[Length(max=40)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    keywords = StringField(
        _l("Search words"),
        description=_l("Words search finds this by, separated by commas; not printed."),
        validators=[Length(max=1000)],
    )


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

    def fill(self, entry) -> None:
        """A stored number as every other page shows it (070-174 06 08), not E.164."""
        if ContactKind(entry.kind).is_phone:
            with suppress(ValueError, NumberParseException):
                self.value.data = display_phone(entry.value,
                                                current_app.config["DEFAULT_REGION"])

    def after_save(self, entry) -> None:
        """Warn, not block, when another actor has the same number: a shared duty phone
        or a number handed on is normal, a typing slip is not."""
        self.warnings = []
        others = db.session.scalars(select(ContactPoint).where(
            ContactPoint.value == entry.value, ContactPoint.id != entry.id,
            ContactPoint.deleted_at.is_(None))).all()
        actor_ids = {point.owning_actor_id for point in others} - {None, entry.owning_actor_id}
        names = sorted((actor.name for actor in db.session.scalars(
            select(Actor).where(Actor.id.in_(actor_ids), Actor.deleted_at.is_(None)))),
            key=swedish_sort_key)
        if names and ContactKind(entry.kind).is_phone:
            self.warnings.append(_l(
                "Saved, but note: %(number)s is also a number of %(actors)s. "
                "Check it is not a typing slip.",
                number=display_phone(entry.value, current_app.config["DEFAULT_REGION"]),
                actors=", ".join(names)))

    def values(self) -> dict:
        data = super().values()
        data["kind"] = ContactKind(data["kind"])
        data["mode"] = PathMode(data["mode"])
        return data


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
        from directory.core.entries import set_rotation_members

        set_rotation_members(entry, self.member_ids())


# --- A role's escalation ---------------------------------------------------------------


class EscalationStepForm(VersionedForm):
    class Meta:
        csrf = False  # part of the escalation form, which has the token

    version = None  # the role's version is carried once, by the outer form
    target = SelectField(_l("Then call"), default="")
    minutes = IntegerField(_l("after minutes without answer"), default=10,
                           validators=[Optional(), NumberRange(0, 1440)])


class EscalationForm(VersionedForm):
    steps = FieldList(FormField(EscalationStepForm), min_entries=4, max_entries=4)
    submit = SubmitField(_l("Save"))

    def set_choices(self, choices) -> None:
        for step in self.steps:
            step.form.target.choices = choices

    def chosen(self) -> list[str]:
        return [step.form.target.data for step in self.steps]


ESCALATION_GROUPS = {"role": _l("Roles"), "actor": _l("Switchboards"), "person": _l("Persons")}


def escalation_choices(role, chosen=(), find: str | None = None) -> Targets:
    """Roles, persons and actors' switchboards a role may escalate to (not
    itself); at national scale those of its actor and the actor's parent,
    those chosen and those found (`core.targets`)."""
    from directory.core.escalations import target_label

    return targets.target_choices(
        target_label, ESCALATION_GROUPS, near_actor_ids=(role.actor_id, role.actor.parent_id),
        chosen=chosen, find=find, leave_out=target_value(role))


class PathCheckForm(Form):
    """An editor's test of a contact path: it works, or it failed, with a note."""

    note = StringField(_l("Note (who answered, what you tried)"),
                       validators=[Optional(), Length(max=300)])
    works = SubmitField(_l("Tested, works"))
    failed = SubmitField(_l("Tested, failed"))

    def outcome(self):
        from directory.core.models import CallOutcome

        return CallOutcome.FAILED if self.failed.data else CallOutcome.REACHED


class NewActorForm(Form):
    """A new actor: what the coordinators decide; its editors fill in the rest."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[Length(max=60)])
    parent = SelectField(_l("Part of"), coerce=int, default=0)
    kind = SelectField(_l("Kind"), choices=_choices(ActorKind))
    level = SelectField(_l("Level"), choices=_choices(ActorLevel))
    submit = SubmitField(_l("Create actor"))


class MoveActorForm(VersionedForm):
    parent = SelectField(_l("Part of"), coerce=int, default=0)
    submit = SubmitField(_l("Move"))


def parent_choices(exclude: Actor | None = None) -> list[SelectChoice]:
    """Live actors an actor may be placed under ("–": the top level)."""
    return [SelectChoice(0, _l("– (top level)")),
            *live_actor_choices(leave_out=exclude.id if exclude is not None else None)]
