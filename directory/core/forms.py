"""Forms for directory entries (Flask-WTF: validation, CSRF, per-field errors).

Each form knows its entry's fields and nothing about permissions or saving;
`values()` hands the cleaned data to the service functions.
"""

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    DateField,
    DateTimeField,
    DateTimeLocalField,
    HiddenField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    ValidationError,
)

from directory.core.extensions import db
from directory.core.limits import number_from_text
from directory.core.models import (
    Actor,
    ContactKind,
    PathMode,
)
from directory.core.moments import EARLIEST_YEAR, LATEST_YEAR, in_range
from directory.core.text import swedish_sort_key, unsafe_character


def actor_choices(actors) -> list[SelectChoice]:
    """Actors (anything with an id and a name) as choices, in Swedish order."""
    ordered = sorted(actors, key=lambda a: swedish_sort_key(a.name))
    return [SelectChoice(a.id, a.name) for a in ordered]


def live_actor_choices(*, leave_out: int | None = None) -> list[SelectChoice]:
    """Every live actor as a choice (but `leave_out`), in Swedish order.

    Ids and names only: the region has thousands of actors at national
    scale, and whole actors cost many times the rows (the mode page spent
    35 ms of 42 loading 2 000 of them for its scope list).
    """
    rows = db.session.execute(
        select(Actor.id, Actor.name).where(Actor.deleted_at.is_(None))).all()
    return actor_choices(row for row in rows if row.id != leave_out)


def editable_actor_choices(user) -> list[SelectChoice]:
    """The live actors `user` may change, as choices: `security.can_edit` asks
    of each, as of a whole actor (an actor's entries are its own), from its id
    and name alone."""
    from directory.core.security import can_edit

    user = getattr(user, "_get_current_object", lambda: user)()  # once, not per actor
    rows = db.session.execute(
        select(Actor.id, Actor.id.label("owning_actor_id"), Actor.name)
        .where(Actor.deleted_at.is_(None))).all()
    return actor_choices(row for row in rows if can_edit(user, row))


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


def kind_label(kind: str) -> str:
    """A kind of path (`ContactKind`'s value) named in the reader's language:
    an actor page names a dozen, a binder 100 000; each language's name of
    each kind is looked up once."""
    return _kind_label(str(get_locale()), kind)


@lru_cache(maxsize=128)
def _kind_label(_locale: str, kind: str) -> str:
    return str(_KIND_BY_VALUE.get(kind, kind))


_KIND_BY_VALUE = {kind.value: label for kind, label in KIND_LABELS.items()}
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
        """The version the user saw; None when the form carried none (a new
        entry). A version that cannot be read is 0, which no entry has: the
        save is refused as a conflict, never made over someone else's."""
        if not (self.version.data or "").strip():
            return None
        number = number_from_text(self.version.data)
        return 0 if number is None else number


class ConfirmForm(VersionedForm):
    """An empty form: a button with CSRF protection (delete, restore, review)."""

    submit = SubmitField(_l("Confirm"))


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



