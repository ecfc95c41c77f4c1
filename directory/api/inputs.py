"""What the API takes: query parameters and request bodies, as pydantic models.

SpecTree (`directory.api.spec`) validates every request against these, and
the description (/api/v1/openapi.json) is generated from them; the answers
are `directory.api.schemas`.

Request bodies are made from the pages' forms (`write_model`): the model
checks the shape (which fields, their JSON types, choices, what is
required); the lengths, ranges and patterns are read from the form's
validators into the schema, and the form itself then checks them with its
own (translated) messages, as it does for the pages. Query parameters are
checked with the API's own messages, not pydantic's.
"""

import typing
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError
from wtforms import (
    BooleanField,
    DateField,
    DateTimeField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.meta import DefaultMeta
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from directory.api.schemas import (
    DEFAULT_PER_PAGE,
    MAX_ID,
    MAX_PAGE,
    MAX_PER_PAGE,
    MAX_SEARCH_RESULTS,
    OWNER_TYPES,
    TIME_PATTERN,
    ActorKindValue,
    ActorLevelValue,
    ModeValue,
    one_of,
    values_of,
)
from directory.core.models import (
    ActorKind,
    ActorLevel,
    ContactKind,
    Mode,
)
from directory.core.patterns import TIMES_PATTERN
from directory.core.text import UNSAFE_IN_LINE, UNSAFE_IN_TEXT

# --- Query parameters --------------------------------------------------------


def _whole(low: int, high: int, default=None):
    """A query number in range, or the API's message (not pydantic's); empty: left out."""

    def check(raw):
        if raw == "":
            return default
        if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 12 \
                and low <= int(raw) <= high:
            return int(raw)
        raise PydanticCustomError("kv", _("Give a whole number from %(low)d to %(high)d.",
                                          low=low, high=high))

    return BeforeValidator(check)


def _choice(values):
    def check(raw):
        if raw == "":
            return None
        if raw in values:
            return raw
        raise PydanticCustomError("kv", _("Choose one of: %(values)s.",
                                          values=", ".join(values)))

    return BeforeValidator(check)


# Moments the API reasons about: far enough for any schedule, near enough
# that date arithmetic in the schedules never leaves Python's calendar.
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)


def parse_moment(raw) -> datetime:
    """An ISO 8601 moment; without an offset it is local time in the region."""
    try:
        moment = datetime.fromisoformat(raw.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError, AttributeError, TypeError):
        raise PydanticCustomError("kv", _(
            "Give a date and time like 2026-12-24T03:00 (local time)"
            " or 2026-12-24T03:00+01:00.")) from None
    if not EARLIEST <= moment < LATEST:
        raise PydanticCustomError("kv", _("Give a date and time between 1970 and 2199."))
    return moment


def _left_out(schema: dict) -> None:
    """An optional query parameter is left out, never sent as null."""
    schema.pop("default", None)
    branches = schema.pop("anyOf", None)
    if branches:
        schema.update(next(b for b in branches if b.get("type") != "null"))


def _query_id(description: str):
    return Annotated[int | None, Field(None, ge=1, le=MAX_ID, description=description,
                                       json_schema_extra=_left_out), _whole(1, MAX_ID)]


def _query_choice(values, description: str):
    values = tuple(values)
    return Annotated[one_of(values) | None, Field(None, description=description,
                                                    json_schema_extra=_left_out),
                     _choice(values)]


def _query_moment(description: str):
    def schema(value: dict) -> None:
        _left_out(value)
        value.update({"type": "string", "format": "date-time"})

    return Annotated[datetime | None, Field(None, description=description,
                                            json_schema_extra=schema),
                     BeforeValidator(lambda raw: None if raw == "" else parse_moment(raw))]


class Query(BaseModel):
    """Query parameters: those named here are checked, others are ignored."""

    model_config = ConfigDict(extra="ignore")


class Paged(Query):
    page: Annotated[int, Field(1, ge=1, le=MAX_PAGE, description="The page, from 1."),
                    _whole(1, MAX_PAGE, 1)]
    per_page: Annotated[int, Field(DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE,
                                   description="Entries per page."),
                        _whole(1, MAX_PER_PAGE, DEFAULT_PER_PAGE)]


AT = "The moment to answer for (RFC 3339; without an offset, local time in the region)." \
     " Default: now."


class ActorsQuery(Paged):
    slug: str | None = Field(None, description="Only the actor with this slug.",
                             json_schema_extra=_left_out)
    kind: _query_choice(values_of(ActorKind), "Only actors of this kind.")
    level: _query_choice(values_of(ActorLevel), "Only actors of this level.")


class ByActorQuery(Paged):
    actor_id: _query_id("Only those of this actor.")


class OnCallQuery(ByActorQuery):
    at: _query_moment(AT)


class AtQuery(Query):
    at: _query_moment(AT)


class ContactPointsQuery(Paged):
    owner_type: _query_choice(OWNER_TYPES, "With owner_id: only the paths of this owner.")
    owner_id: _query_id("With owner_type: the owner's id.")
    kind: _query_choice(values_of(ContactKind), "Only paths of this kind.")


class PeriodsQuery(Paged):
    role_id: _query_id("Only those of this role.")
    person_id: _query_id("Only those of this person.")
    ends_after: _query_moment("Only those ending after this moment.")


class CallTreesQuery(ByActorQuery):
    mode: _query_choice(values_of(Mode), "Only trees for this mode.")


class SearchQuery(Query):
    q: str = Field(min_length=1, max_length=200, pattern=r"\S",
                   description='Words, each the start of a word of the entry ("haninge tib").',
                   examples=["haninge tib"])
    limit: Annotated[int, Field(20, ge=1, le=MAX_SEARCH_RESULTS,
                                description="At most this many results."),
                     _whole(1, MAX_SEARCH_RESULTS, 20)]


class LookupQuery(Query):
    number: str = Field(min_length=1, max_length=100, pattern=r"\S",
                        description="A phone number written any common way.",
                        examples=["08-700 00 00"])


# --- Request bodies, from the forms -------------------------------------------


class ModeSwitch(BaseModel):
    """Switch the region (actor_id null or left out) or one actor to a mode."""

    model_config = ConfigDict(extra="forbid", strict=True)

    actor_id: int | None = Field(None, ge=1, le=MAX_ID,
                                 description="The actor; null: the whole region.")
    mode: ModeValue
    scenario_id: int | None = Field(None, ge=1, le=MAX_ID,
                                    description="The scenario that caused it, if any.")
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S",
                        description="Why the mode changes (kept in the mode log).")


class NewActor(BaseModel):
    """A new actor (coordinators): what they decide; its editors fill in the rest."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=200, pattern=r"\S",
                      description="Unique among live actors (case does not matter).")
    short_name: str = Field("", max_length=60)
    parent_id: int | None = Field(None, ge=1, le=MAX_ID,
                                  description="The live actor it is part of; null: top level.")
    kind: ActorKindValue = "other"
    level: ActorLevelValue = "regional"


class ActorMove(BaseModel):
    """Where an actor sits: under another live actor (never under itself or one of its
    parts), or at the top level (null)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    parent_id: int | None = Field(ge=1, le=MAX_ID)


FIELD_NOTES = {
    "value": "By kind: a phone number written any common way (stored in E.164, national"
             " short numbers such as 112 or 113 13 as digits), an e-mail address, a web"
             " address starting with https:// or http://, or text.",
    "available_from": "Local time (HH:MM) from which the path applies; null: around the"
                      " clock. Give both times or neither.",
    "available_until": "Local time (HH:MM) until which the path applies.",
    "starts_at": "RFC 3339 moment; without an offset, local time in the region.",
    "ends_at": "RFC 3339 moment, after starts_at.",
    "person_id": "A live person of the role's actor.",
    "replaces_person_id": "The person taken over from (a live person of the role's"
                          " actor), or null.",
    "priority": "PACE order, 1 = primary.",
    "target": "Whom to call: role-<id>, person-<id> or actor-<id> (a live entry).",
    "alternates": "Who to call next, in order, each after `minutes` without an answer.",
    "parent_id": "The step of the same tree that calls this one; null: a top step.",
    "position": "The place among its siblings, from 0 (left out: at the end, or kept).",
    "times": "Local times of day, like \"09:00, 15:00\".",
    "weekdays": "With frequency weekly: the days it meets.",
    "participants": "The ids of the taking-part actors.",
    "preparatory": "Measures of the preparatory phase, one per line, most important first.",
    "handling": "Measures of the handling phase, one per line, most important first.",
}
# Choices set per request (entries) that are not ids: their shape.
FIELD_PATTERNS = {"target": "^(role|person|actor)-[1-9][0-9]{0,9}$"}
# Text fields with a shape the form checks.
TEXT_PATTERNS = {"times": TIMES_PATTERN}
SKIPPED_FIELDS = (HiddenField, SubmitField)
ID_SCHEMA = {"minimum": 1, "maximum": MAX_ID}


def _whole_number(value):
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_ID:
        return int(value)
    return value


class Body(BaseModel):
    """A request body: strict JSON types, no field but those described."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _whole_numbers(cls, value, info):
        """JSON Schema's integer includes 1.0: take it as 1 where a number is wanted."""
        field = cls.model_fields.get(info.field_name)
        if field is None:
            return value
        kinds = (*typing.get_args(field.annotation), field.annotation)
        if list[int] in kinds and isinstance(value, list):
            return [_whole_number(item) for item in value]
        if int in kinds:
            return _whole_number(value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                value = "\x00"
            if "\x00" in value:
                raise PydanticCustomError("kv", _("The text contains characters that"
                                                  " cannot be stored."))
        return value


class ChangeBody(Body):
    """A change (PATCH): what was read may be sent back, unchanged (checked by the
    view against the entry); the description still lists only what may change."""

    model_config = ConfigDict(extra="allow", strict=True,
                              json_schema_extra={"additionalProperties": False})


def _is_required(form_field) -> bool:
    return any(isinstance(v, DataRequired | InputRequired) for v in form_field.validators)


def _is_nullable(form_field) -> bool:
    return any(isinstance(v, Optional) for v in form_field.validators)


def _without_default(schema: dict) -> None:
    schema.pop("default", None)


def _bounds(form_field) -> dict:
    """The form's own limits, for the description (the form checks them)."""
    extra = {}
    for validator in form_field.validators:
        if isinstance(validator, NumberRange):
            if validator.min is not None:
                extra["minimum"] = validator.min
            if validator.max is not None:
                extra["maximum"] = validator.max
        if isinstance(validator, Length):
            if validator.max is not None and validator.max >= 0:
                extra["maxLength"] = validator.max
            if validator.min is not None and validator.min > 0:
                extra["minLength"] = validator.min
    if isinstance(form_field, StringField) and not isinstance(form_field, DateTimeField):
        extra["pattern"] = _text_pattern(form_field)
        if _is_required(form_field):
            extra["minLength"] = max(extra.get("minLength", 1), 1)
    return extra


def _text_pattern(form_field) -> str:
    """No character the form refuses (control characters; tab and line breaks in
    a one-line field); a required field holds more than white space."""
    unsafe = UNSAFE_IN_TEXT if isinstance(form_field, TextAreaField) else UNSAFE_IN_LINE
    if not _is_required(form_field):
        return f"^[^{unsafe}]*$"
    return f"^[^{unsafe}]*[^\\s{unsafe}][^{unsafe}]*$"


def field_type(form_field) -> tuple[Any, dict] | None:
    """The JSON type of one form field, and what the description adds to it."""
    if isinstance(form_field, SKIPPED_FIELDS) or form_field.name == "csrf_token":
        return None
    extra = _bounds(form_field)
    if isinstance(form_field, BooleanField):
        kind = bool
    elif isinstance(form_field, IntegerField):
        kind = int
    elif isinstance(form_field, FieldList) and _is_form_list(form_field):  # alternates
        kind = Annotated[list[nested_model(form_field)],
                         Field(max_length=form_field.max_entries)]
    elif isinstance(form_field, FieldList):  # a rotation's order: person ids
        kind = list[int]
        extra = {**extra, "items": {"type": "integer", **ID_SCHEMA},
                 "maxItems": form_field.max_entries, "minItems": 1, "uniqueItems": True}
    elif isinstance(form_field, SelectMultipleField):
        if form_field.coerce is int:  # entries, by id
            kind = list[int]
            extra = {**extra, "items": {"type": "integer", **ID_SCHEMA}, "uniqueItems": True}
        else:
            kind = list[one_of([c.value if isinstance(c, SelectChoice) else c[0]
                                  for c in form_field.choices])]
            extra = {**extra, "uniqueItems": True}
    elif isinstance(form_field, DateField):
        kind, extra = (str | None) if _is_nullable(form_field) else str, {**extra, "format": "date"}
    elif isinstance(form_field, TimeField):  # opening times may be cleared, a handover not
        kind = (str | None) if _is_nullable(form_field) else str
        extra = {**extra, "pattern": TIME_PATTERN}
    elif isinstance(form_field, DateTimeField):
        kind, extra = str, {**extra, "format": "date-time"}
    elif isinstance(form_field, SelectField):
        if form_field.coerce is int:  # a choice among entries: an id
            kind = int | None if form_field.default == 0 else int
            extra = {**extra, **ID_SCHEMA}
        elif form_field.choices is None:  # entries named otherwise (a call's target)
            kind = str
            extra = {**extra, "pattern": FIELD_PATTERNS[form_field.name]}
        else:
            kind = one_of([c.value if isinstance(c, SelectChoice) else c[0]
                             for c in form_field.choices])
    elif isinstance(form_field, StringField):
        kind = str
        if form_field.name in TEXT_PATTERNS:
            extra = {**extra, "pattern": TEXT_PATTERNS[form_field.name]}
    else:
        raise TypeError(f"no JSON type for {type(form_field).__name__}")
    if form_field.name in FIELD_NOTES:
        extra["description"] = FIELD_NOTES[form_field.name]
    return kind, extra


def _schema_extra(extra: dict, *, optional: bool):
    def adjust(schema: dict) -> None:
        if optional:
            _without_default(schema)
        target = schema
        if "anyOf" in schema:  # nullable: the limits belong to the non-null branch
            target = next(s for s in schema["anyOf"] if s.get("type") != "null")
        for key, value in extra.items():
            (schema if key == "description" else target)[key] = value

    return adjust


def _is_form_list(form_field) -> bool:
    return form_field.unbound_field.field_class is FormField


_NESTED: dict = {}


def nested_model(form_field) -> type[BaseModel]:
    """The JSON object of one entry of a list of sub-forms (a node's alternate)."""
    form_class = form_field.unbound_field.args[0]
    if form_class not in _NESTED:
        fields: dict[str, Any] = {}
        for inner in form_fields(form_class):
            typed = field_type(inner)
            if typed is None:
                continue
            kind, extra = typed
            if _is_required(inner) or (isinstance(inner, SelectField)
                                       and inner.choices is None):
                fields[inner.name] = (kind, Field(json_schema_extra=_schema_extra(
                    extra, optional=False)))
            else:
                fields[inner.name] = (kind, Field(None, json_schema_extra=_schema_extra(
                    extra, optional=True)))
        name = form_class.__name__.removesuffix("Form")
        _NESTED[form_class] = create_model(name, __base__=Body, __doc__=form_class.__doc__
                                           or f"One {name.lower()}.", **fields)
    return _NESTED[form_class]


def form_fields(form_class) -> list:
    """A form's fields in their order, bound without an app (at import time)."""
    unbound = sorted(
        ((name, value) for name in dir(form_class)
         if isinstance(value := getattr(form_class, name), UnboundField)),
        key=lambda item: item[1].creation_counter)
    meta = DefaultMeta()
    return [value.bind(form=None, name=name, _meta=meta) for name, value in unbound]


def write_model(name: str, form_class, *, create: bool, parents: dict | None = None,
                defaults: dict | None = None) -> type[BaseModel]:
    """The body of a create (POST) or change (PATCH) of an entry kind, from its form.

    `parents` are the fields naming what a new entry belongs to (JSON type and
    schema), set when it is created and never changed; `defaults` are what a
    new entry gets for fields left out.
    """
    fields: dict[str, Any] = {}
    if create:
        for key, (kind, extra) in (parents or {}).items():
            fields[key] = (kind, Field(json_schema_extra=extra))
    for form_field in form_fields(form_class):
        typed = field_type(form_field)
        if typed is None:
            continue
        kind, extra = typed
        needed = _is_required(form_field) or (
            isinstance(form_field, FieldList) and not _is_form_list(form_field)) or (
            isinstance(form_field, SelectField) and form_field.default is None
            and not isinstance(form_field, SelectMultipleField))
        if create and needed and form_field.name not in (defaults or {}):
            fields[form_field.name] = (kind, Field(
                json_schema_extra=_schema_extra(extra, optional=False)))
        else:
            fields[form_field.name] = (kind, Field(
                None, json_schema_extra=_schema_extra(extra, optional=True)))
    description = (
        f"A new {name}: the fields of its form." if create else
        f"The fields of the {name} to change; the others keep their values. Fields of"
        " the entry as read may be sent back unchanged; a `version` sent back acts"
        " like If-Match."
    )
    return create_model(f"{name}{'Create' if create else 'Update'}",
                        __base__=Body if create else ChangeBody, __doc__=description,
                        **fields)

