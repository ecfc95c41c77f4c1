"""The OpenAPI 3.1 description of /api/v1: every path, parameter and schema.

Request bodies are derived from the pages' forms (types, lengths, ranges,
choices, what is required), so the description says what the API checks:
the API validates with those same forms. Answers are described by hand, and
the fuzzing run (tests/test_api_fuzz.py) checks the app against them.
"""

import enum
from dataclasses import dataclass, field

from wtforms import (
    BooleanField,
    DateTimeField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from directory.core.models import ActorKind, ActorLevel, ContactKind, Mode, PathMode
from directory.editing.forms import (
    ActorForm,
    ContactPointForm,
    OverrideForm,
    PersonForm,
    RoleForm,
    ShiftForm,
)

DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 50, 200, 100_000
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns
TIME_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
JSON, PROBLEM = "application/json", "application/problem+json"


class OwnerType(enum.StrEnum):
    """What a contact path belongs to."""

    ACTOR = "actor"
    ROLE = "role"
    PERSON = "person"
    PATTERN = "pattern"


def _values(enum_class) -> list[str]:
    return [member.value for member in enum_class]


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def obj(properties: dict, *, required=None, description: str = "") -> dict:
    """A closed object; every property is present unless `required` says otherwise."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else list(required),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


STR = {"type": "string"}
INT = {"type": "integer"}
BOOL = {"type": "boolean"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
MOMENT = {"type": "string", "format": "date-time"}
DAY = {"type": "string", "format": "date"}
CLOCK = {"type": "string", "pattern": TIME_PATTERN}


# --- Request bodies, from the forms -----------------------------------------


@dataclass(frozen=True)
class Write:
    """An entry kind the API writes: the form that validates it, and more.

    `parents` name what a new entry belongs to (set when it is created, never
    changed); `defaults` are what a new entry gets for fields left out.
    """

    form: type
    parents: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)


WRITES = {
    "Actor": Write(ActorForm),
    "Person": Write(PersonForm, {"actor_id": ID}),
    "Role": Write(RoleForm, {"actor_id": ID}),
    "ContactPoint": Write(
        ContactPointForm,
        {"owner_type": {"type": "string", "enum": _values(OwnerType)}, "owner_id": ID},
        {"mode": PathMode.BOTH.value, "priority": 1},
    ),
    "Shift": Write(ShiftForm, {"role_id": ID}),
    "Override": Write(OverrideForm, {"role_id": ID}),
}

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
}
SKIPPED_FIELDS = (HiddenField, SubmitField)


def _is_required(form_field) -> bool:
    return any(isinstance(v, DataRequired | InputRequired) for v in form_field.validators)


def field_schema(form_field) -> dict | None:
    """The JSON Schema of one form field, as the API takes it."""
    if isinstance(form_field, SKIPPED_FIELDS) or form_field.name == "csrf_token":
        return None
    if isinstance(form_field, BooleanField):
        schema = dict(BOOL)
    elif isinstance(form_field, IntegerField):
        schema = dict(INT)
        for validator in form_field.validators:
            if isinstance(validator, NumberRange):
                if validator.min is not None:
                    schema["minimum"] = validator.min
                if validator.max is not None:
                    schema["maximum"] = validator.max
    elif isinstance(form_field, TimeField):
        schema = nullable(CLOCK)
    elif isinstance(form_field, DateTimeField):
        schema = dict(MOMENT)
    elif isinstance(form_field, SelectField):
        if form_field.coerce is int:  # a choice among entries: an id
            schema = nullable(ID) if form_field.default == 0 else dict(ID)
        else:
            schema = {"type": "string", "enum": [
                c.value if isinstance(c, SelectChoice) else c[0] for c in form_field.choices
            ]}
    elif isinstance(form_field, StringField):
        schema = dict(STR)
        for validator in form_field.validators:
            if isinstance(validator, Length):
                if validator.max is not None and validator.max >= 0:
                    schema["maxLength"] = validator.max
                if validator.min is not None and validator.min > 0:
                    schema["minLength"] = validator.min
        if _is_required(form_field):
            schema["minLength"] = max(schema.get("minLength", 1), 1)
            schema["pattern"] = r"\S"  # not only white space
    else:
        raise TypeError(f"no JSON Schema for {type(form_field).__name__}")
    if form_field.name in FIELD_NOTES:
        schema["description"] = FIELD_NOTES[form_field.name]
    return schema


def write_schema(name: str, *, create: bool) -> dict:
    """The body of a create (POST) or change (PATCH) of an entry kind."""
    spec = WRITES[name]
    form = spec.form(formdata=None, meta={"csrf": False})
    properties, required = {}, []
    if create:
        properties.update(spec.parents)
        required += list(spec.parents)
    for form_field in form:
        schema = field_schema(form_field)
        if schema is None:
            continue
        properties[form_field.name] = schema
        needed = _is_required(form_field) or (
            isinstance(form_field, SelectField) and form_field.default is None
        )
        if create and needed and form_field.name not in spec.defaults:
            required.append(form_field.name)
    description = (
        f"A new {name}: the fields of its form." if create else
        f"The fields of the {name} to change; the others keep their values. Fields of"
        " the entry as read may be sent back unchanged; a `version` sent back acts"
        " like If-Match."
    )
    return obj(properties, required=required, description=description)


# --- Answers ------------------------------------------------------------------


def _entry(properties: dict, description: str) -> dict:
    return obj({"id": INT, "version": INT, "updated_at": MOMENT, **properties},
               description=description)


def _schemas() -> dict:
    point = ref("ContactPoint")
    schemas = {
        "Problem": {
            "type": "object",
            "description": "An RFC 9457 problem; `errors` lists the fields that failed.",
            "properties": {
                "type": STR,
                "title": STR,
                "status": INT,
                "detail": STR,
                "errors": array(obj({"field": STR, "message": STR})),
                "current_version": INT,
                "changed_fields": array(STR),
            },
            "required": ["type", "title", "status"],
        },
        "Actor": _entry({
            "slug": STR, "name": STR, "short_name": STR,
            "kind": {"type": "string", "enum": _values(ActorKind)},
            "level": {"type": "string", "enum": _values(ActorLevel)},
            "parent_id": nullable(INT), "notes": STR, "review_interval_days": INT,
            "last_reviewed_at": nullable(MOMENT), "review_due_at": nullable(MOMENT),
            "is_demo": BOOL,
        }, "An organisation taking part in the region's cooperation."),
        "Person": _entry({"actor_id": INT, "name": STR, "title": STR, "notes": STR},
                         "Someone who works for an actor and can be reached."),
        "Role": _entry({"actor_id": INT, "name": STR, "short_name": STR, "description": STR},
                       "An on-call function of an actor, such as TiB."),
        "ContactPoint": _entry({
            "owner_type": {"type": "string", "enum": _values(OwnerType)},
            "owner_id": INT,
            "kind": {"type": "string", "enum": _values(ContactKind)},
            "value": {**STR, "description": "Phones in E.164, short numbers as digits."},
            "display": {**STR, "description": "The value as people read it."},
            "uri": {**nullable(STR), "description": "tel:, mailto: or web address."},
            "pin": STR, "label": STR,
            "mode": {"type": "string", "enum": _values(PathMode)},
            "priority": INT,
            "available_from": nullable(CLOCK), "available_until": nullable(CLOCK),
            "weekdays": {**INT, "description": "Bit mask, Monday = 1 … Sunday = 64."},
            "confidential": BOOL,
        }, "One way to reach an owner: a number, an address or a radio channel."),
        "Shift": _entry({"role_id": INT, "person_id": INT, "starts_at": MOMENT,
                         "ends_at": MOMENT, "note": STR},
                        "A single stretch of on-call duty."),
        "Override": _entry({"role_id": INT, "person_id": INT,
                            "replaces_person_id": nullable(INT), "starts_at": MOMENT,
                            "ends_at": MOMENT, "reason": STR},
                           "Someone takes over a role for a while (beats shifts and rotations)."),
        "Ref": obj({"type": {"type": "string", "enum": _values(OwnerType)}, "id": INT,
                    "name": STR, "label": STR, "actor_id": INT},
                   description="A short reference to an actor, role, person or pattern."),
        "OnCall": obj({
            "source": {"type": "string", "enum": ["override", "shift", "rotation", "nobody"]},
            "person": nullable(ref("Ref")),
            "starts_at": nullable(MOMENT), "ends_at": nullable(MOMENT),
        }, description="Who is on call, why (override > shift > rotation), from when to when."),
        "RoleOnCall": obj({
            "role": ref("Ref"), "at": MOMENT,
            "mode": {"type": "string", "enum": _values(Mode)},
            "on_call": ref("OnCall"),
            "role_contact_points": array(point),
            "person_contact_points": array(point),
        }, description="Who is on call for a role, with the paths for the mode in force"
                       " (PACE order)."),
        "OnCallItem": obj({"role": ref("Ref"), "at": MOMENT, "on_call": ref("OnCall")}),
        "ModeState": obj({
            "mode": {"type": "string", "enum": _values(Mode)}, "scope": STR,
            "since": nullable(MOMENT), "reason": STR, "scenario_id": nullable(INT),
        }, description="The mode in force for a scope (`region` or `actor:<id>`)."),
        "ActorModeState": obj({
            "actor_id": INT, "mode": {"type": "string", "enum": _values(Mode)}, "scope": STR,
            "since": nullable(MOMENT), "reason": STR, "scenario_id": nullable(INT),
        }),
        "ModeOverview": obj({"region": ref("ModeState"), "actors": array(ref("ActorModeState"))}),
        "CallTree": _entry({
            "name": STR, "actor_id": nullable(INT),
            "mode": {"type": "string", "enum": _values(Mode)},
            "scenario_id": nullable(INT), "revision": INT, "valid_from": DAY,
            "next_review_on": nullable(DAY), "notes": STR,
        }, "Who calls whom, in which order, for one mode; actor_id null: regional."),
        "Reach": obj({
            "target": ref("Ref"), "on_call": nullable(ref("OnCall")),
            "contact_points": array(point),
            "escalate_after_minutes": nullable(INT),
        }, description="A target resolved: who is on call and the paths for the tree's mode."),
        "CallTreeNode": obj({
            "id": INT, "depth": INT, "instructions": STR,
            "target": ref("Ref"), "on_call": nullable(ref("OnCall")),
            "contact_points": array(point),
            "escalate_after_minutes": nullable(INT),
            "alternates": array(ref("Reach")),
            "warnings": array({"type": "string",
                               "enum": ["no_path", "alternate_no_path", "nobody_on_call",
                                        "review_overdue"]}),
            "children": array(ref("CallTreeNode")),
        }, description="A step of a call tree, its alternates in order, then its children."),
        "Pattern": _entry({
            "name": STR, "convener_actor_id": INT, "convener_role_id": nullable(INT),
            "mode": {"type": "string", "enum": _values(PathMode)},
            "scenario_id": nullable(INT),
            "recurrence": {**STR, "description": "An RFC 5545 RRULE, local time."},
            "starts_on": DAY, "duration_minutes": INT, "meeting_place": STR,
            "purpose": STR, "mandate": STR,
            "participants": array(obj({"actor_id": INT, "role_id": nullable(INT)})),
            "channels": array(point),
            "next_meetings": array(MOMENT),
        }, "How actors meet: a conference, bridge or talk group on a cadence."),
        "Scenario": _entry({
            "slug": STR, "name": STR, "facts": STR, "assumptions": STR, "goal": STR,
            "measures": obj({"preparatory": array(STR), "handling": array(STR)}),
        }, "A risk and the regional direction agreed for it."),
        "SearchHit": obj({
            "type": {"type": "string", "enum": ["actor", "role", "person", "pattern",
                                                "contact_point", "scenario"]},
            "id": INT, "name": STR,
            "owner": nullable(ref("Ref")), "actor": nullable(ref("Ref")),
            "mode": {"type": "string", "enum": _values(Mode)},
            "contact_points": array(point),
            "on_call": nullable(ref("OnCall")),
        }),
        "SearchResults": obj({"query": STR, "results": array(ref("SearchHit"))}),
        "LookupResults": obj({
            "query": STR,
            "number": {**STR, "description": "The number as stored: E.164 or short digits."},
            "is_short": BOOL,
            "national": nullable({**STR, "description": "The name of a national number."}),
            "results": array(obj({"contact_point": point, "owner": ref("Ref"),
                                  "actor": nullable(ref("Ref"))})),
            "callers": array(obj({
                "actor": nullable(ref("Ref")), "roles": array(ref("Ref")),
                "person": nullable(ref("Ref")), "pattern": nullable(ref("Ref")),
            }, description="Whose hidden number it is: actor and role; the person "
               "only when the coordinators allow it. The path itself is not given.")),
        }),
    }
    for name in ("Actor", "Person", "Role", "ContactPoint", "Shift", "Override",
                 "OnCallItem", "CallTree", "Pattern", "Scenario"):
        schemas[f"{name}Page"] = obj({
            "items": array(ref(name)), "page": INT, "per_page": INT, "total": INT, "pages": INT,
        }, description=f"One page of {name} entries, in id order.")
    schemas["ResolvedCallTree"] = {
        **schemas["CallTree"],
        "properties": {**schemas["CallTree"]["properties"], "at": MOMENT,
                       "nodes": array(ref("CallTreeNode"))},
        "required": [*schemas["CallTree"]["required"], "at", "nodes"],
        "description": "A call tree resolved at a moment, for the tree's mode.",
    }
    for name in ("Actor",):
        schemas[f"{name}Update"] = write_schema(name, create=False)
    for name in ("Person", "Role", "ContactPoint", "Shift", "Override"):
        schemas[f"{name}Create"] = write_schema(name, create=True)
        schemas[f"{name}Update"] = write_schema(name, create=False)
    return schemas


# --- Parameters and responses ---------------------------------------------


def _query(name, schema, description, *, required=False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


def _path(name: str, what: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID,
            "description": f"The {what}'s id."}


PARAMETERS = {
    "page": _query("page", {**INT, "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                   "The page, from 1."),
    "per_page": _query("per_page", {**INT, "minimum": 1, "maximum": MAX_PER_PAGE,
                                    "default": DEFAULT_PER_PAGE}, "Entries per page."),
    "at": _query("at", MOMENT, "The moment to answer for (RFC 3339; without an offset, local"
                               " time in the region). Default: now."),
    "actor_id": _query("actor_id", ID, "Only those of this actor."),
    "role_id": _query("role_id", ID, "Only those of this role."),
    "person_id": _query("person_id", ID, "Only those of this person."),
    "ends_after": _query("ends_after", MOMENT, "Only those ending after this moment."),
    "If-None-Match": {"name": "If-None-Match", "in": "header", "required": False,
                      "schema": STR, "description": "An ETag read before: 304 if unchanged."},
    "If-Match": {"name": "If-Match", "in": "header", "required": False, "schema": STR,
                 "description": "The entry's ETag (or version) as read: 412 if it changed"
                                " since."},
}


def _param(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _problem(description: str) -> dict:
    return {"description": description, "content": {PROBLEM: {"schema": ref("Problem")}}}


RESPONSES = {
    "NotModified": {"description": "Not modified since the ETag sent in If-None-Match."},
    "BadRequest": _problem("The request cannot be read: the body is not a JSON object,"
                           " or the address holds a control character."),
    "Unauthorized": _problem("Not signed in, or the bearer token is not valid or revoked."),
    "Forbidden": _problem("Not allowed for you, or (signed-in session) the CSRF token is"
                          " missing."),
    "NotFound": _problem("There is no such entry (or it is not for you to see)."),
    "Conflict": _problem("The entry clashes with an existing one, or was saved by someone"
                         " else at the same moment."),
    "PreconditionFailed": _problem("The entry changed since the version named in If-Match:"
                                   " read it again."),
    "UnsupportedMediaType": _problem("The body is not application/json."),
    "Invalid": _problem("Some fields (or query parameters) are not valid; `errors` says"
                        " which and why."),
}


def _response(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


ETAG = {"description": "The entry's version, or a hash of the answer.", "required": True,
        "schema": STR}
LINK = {"description": "RFC 8288 links to the first, previous, next and last page.",
        "schema": STR}


def _ok(schema_name: str, *, status="200", description="OK", location=False) -> dict:
    headers = {"ETag": ETAG}
    if schema_name.endswith("Page"):
        headers["Link"] = LINK
    if location:
        headers["Location"] = {"description": "The new entry's URL.", "required": True,
                               "schema": STR}
    return {status: {"description": description, "headers": headers,
                     "content": {JSON: {"schema": ref(schema_name)}}}}


def _read(op_id, summary, schema_name, *, tag, params=(), not_found=False, invalid=False,
          description=""):
    responses = {**_ok(schema_name), "304": _response("NotModified"),
                 "400": _response("BadRequest"), "401": _response("Unauthorized")}
    if not_found:
        responses["404"] = _response("NotFound")
    if invalid or schema_name.endswith("Page"):
        responses["422"] = _response("Invalid")
    operation = {"operationId": op_id, "summary": summary, "tags": [tag],
                 "parameters": [*params, _param("If-None-Match")], "responses": responses}
    if description:
        operation["description"] = description
    return operation


def _list(op_id, summary, schema_name, *, tag, params=()):
    return _read(op_id, summary, f"{schema_name}Page", tag=tag,
                 params=[*params, _param("page"), _param("per_page")])


# Any address with a control character is refused with 400 (`limits`).
WRITE_ERRORS = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden"}


def _links(kind: str, parameter: str) -> dict:
    """What a new entry's id leads to: reading, changing and deleting it."""
    value = {parameter: "$response.body#/id"}
    name = "".join(word.title() for word in kind.split("_"))
    return {
        f"Get{name}": {"operationId": f"api.{kind}", "parameters": value},
        f"Update{name}": {"operationId": f"api.{kind}_update", "parameters": value},
        f"Delete{name}": {"operationId": f"api.{kind}_delete", "parameters": value},
    }


def _write(op_id, summary, *, tag, params=(), body=None, ok=None, status="200",
           conditional=True, location=False, description="", links=None):
    responses = dict(_ok(ok, status=status, location=location)) if ok else {
        "204": {"description": "Done."}}
    if links:
        responses[status]["links"] = links
    codes = {**WRITE_ERRORS}
    if params:
        codes["404"] = "NotFound"
    if body:
        codes.update({"400": "BadRequest", "409": "Conflict", "415": "UnsupportedMediaType",
                      "422": "Invalid"})
    if conditional:
        codes.update({"409": "Conflict", "412": "PreconditionFailed"})
    responses.update({code: _response(name) for code, name in sorted(codes.items())})
    operation = {"operationId": op_id, "summary": summary, "tags": [tag],
                 "parameters": [*params, *([_param("If-Match")] if conditional else [])],
                 "responses": responses}
    if body:
        operation["requestBody"] = {"required": True,
                                    "content": {JSON: {"schema": ref(body)}}}
    if description:
        operation["description"] = description
    return operation


def _enum_query(name, enum_class, description):
    return _query(name, {"type": "string", "enum": _values(enum_class)}, description)


def _paths() -> dict:
    actor_id, person_id, role_id = (_path("actor_id", "actor"), _path("person_id", "person"),
                                    _path("role_id", "role"))
    point_id, shift_id, override_id = (_path("point_id", "contact path"),
                                       _path("shift_id", "shift"),
                                       _path("override_id", "override"))
    return {
        "/openapi.json": {"get": {
            "operationId": "api.openapi", "summary": "This description.", "tags": ["meta"],
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {JSON: {"schema": {"type": "object"}}}},
                          "304": _response("NotModified"), "400": _response("BadRequest"),
                          "401": _response("Unauthorized")},
            "parameters": [_param("If-None-Match")],
        }},
        "/actors": {"get": _list("api.actors", "The actors.", "Actor", tag="directory", params=[
            _query("slug", STR, "Only the actor with this slug."),
            _enum_query("kind", ActorKind, "Only actors of this kind."),
            _enum_query("level", ActorLevel, "Only actors of this level."),
        ])},
        "/actors/{actor_id}": {
            "get": _read("api.actor", "One actor.", "Actor", tag="directory",
                         params=[actor_id], not_found=True),
            "patch": _write("api.actor_update", "Change an actor's details.", tag="directory",
                            params=[actor_id], body="ActorUpdate", ok="Actor"),
        },
        "/actors/{actor_id}/review": {"post": _write(
            "api.actor_review", "Confirm the actor's entries are reviewed and still correct.",
            tag="directory", params=[actor_id], ok="Actor")},
        "/actors/{actor_id}/mode": {"get": _read(
            "api.actor_mode", "The mode in force for an actor.", "ModeState", tag="mode",
            params=[actor_id], not_found=True)},
        "/persons": {
            "get": _list("api.persons", "Persons.", "Person", tag="directory",
                         params=[_param("actor_id")]),
            "post": _write("api.person_create", "Add a person to an actor you edit.",
                           tag="directory", body="PersonCreate", ok="Person", status="201",
                           conditional=False, location=True,
                           links=_links("person", "person_id")),
        },
        "/persons/{person_id}": {
            "get": _read("api.person", "One person.", "Person", tag="directory",
                         params=[person_id], not_found=True),
            "patch": _write("api.person_update", "Change a person.", tag="directory",
                            params=[person_id], body="PersonUpdate", ok="Person"),
            "delete": _write("api.person_delete", "Delete a person (restorable).",
                             tag="directory", params=[person_id]),
        },
        "/roles": {
            "get": _list("api.roles", "On-call roles.", "Role", tag="directory",
                         params=[_param("actor_id")]),
            "post": _write("api.role_create", "Add an on-call role to an actor you edit.",
                           tag="directory", body="RoleCreate", ok="Role", status="201",
                           conditional=False, location=True,
                           links=_links("role", "role_id")),
        },
        "/roles/{role_id}": {
            "get": _read("api.role", "One on-call role.", "Role", tag="directory",
                         params=[role_id], not_found=True),
            "patch": _write("api.role_update", "Change an on-call role.", tag="directory",
                            params=[role_id], body="RoleUpdate", ok="Role"),
            "delete": _write("api.role_delete", "Delete an on-call role (restorable).",
                             tag="directory", params=[role_id]),
        },
        "/roles/{role_id}/on-call": {"get": _read(
            "api.role_on_call", "Who is on call for a role now or at a moment.",
            "RoleOnCall", tag="on-call", params=[role_id, _param("at")], not_found=True,
            invalid=True,
            description="Override beats shift beats rotation; handovers in the region's"
                        " time zone. The paths are those for the mode in force now.")},
        "/on-call": {"get": _list("api.on_call", "Who is on call for each role.",
                                  "OnCallItem", tag="on-call",
                                  params=[_param("actor_id"), _param("at")])},
        "/contact-points": {
            "get": _list("api.contact_points", "Contact paths you may see.", "ContactPoint",
                         tag="directory", params=[
                             _enum_query("owner_type", OwnerType,
                                         "With owner_id: only the paths of this owner."),
                             _query("owner_id", ID, "With owner_type: the owner's id."),
                             _enum_query("kind", ContactKind, "Only paths of this kind."),
                         ]),
            "post": _write("api.contact_point_create",
                           "Add a contact path to an actor, role, person or pattern you edit.",
                           tag="directory", body="ContactPointCreate", ok="ContactPoint",
                           status="201", conditional=False, location=True,
                           links=_links("contact_point", "point_id")),
        },
        "/contact-points/{point_id}": {
            "get": _read("api.contact_point", "One contact path.", "ContactPoint",
                         tag="directory", params=[point_id], not_found=True),
            "patch": _write("api.contact_point_update", "Change a contact path.",
                            tag="directory", params=[point_id], body="ContactPointUpdate",
                            ok="ContactPoint"),
            "delete": _write("api.contact_point_delete", "Delete a contact path (restorable).",
                             tag="directory", params=[point_id]),
        },
        "/shifts": {
            "get": _list("api.shifts", "Single shifts.", "Shift", tag="on-call",
                         params=[_param("role_id"), _param("person_id"),
                                 _param("ends_after")]),
            "post": _write("api.shift_create", "Add a shift to a role you edit.", tag="on-call",
                           body="ShiftCreate", ok="Shift", status="201", conditional=False,
                           location=True,
                           links=_links("shift", "shift_id")),
        },
        "/shifts/{shift_id}": {
            "get": _read("api.shift", "One shift.", "Shift", tag="on-call", params=[shift_id],
                         not_found=True),
            "patch": _write("api.shift_update", "Change a shift.", tag="on-call",
                            params=[shift_id], body="ShiftUpdate", ok="Shift"),
            "delete": _write("api.shift_delete", "Delete a shift (restorable).", tag="on-call",
                             params=[shift_id]),
        },
        "/overrides": {
            "get": _list("api.overrides", "Overrides.", "Override", tag="on-call",
                         params=[_param("role_id"), _param("person_id"),
                                 _param("ends_after")]),
            "post": _write("api.override_create", "Let someone take over a role you edit.",
                           tag="on-call", body="OverrideCreate", ok="Override", status="201",
                           conditional=False, location=True,
                           links=_links("override", "override_id")),
        },
        "/overrides/{override_id}": {
            "get": _read("api.override", "One override.", "Override", tag="on-call",
                         params=[override_id], not_found=True),
            "patch": _write("api.override_update", "Change an override.", tag="on-call",
                            params=[override_id], body="OverrideUpdate", ok="Override"),
            "delete": _write("api.override_delete", "Delete an override (restorable).",
                             tag="on-call", params=[override_id]),
        },
        "/call-trees": {"get": _list("api.call_trees", "Call trees.", "CallTree",
                                     tag="call trees", params=[
                                         _param("actor_id"),
                                         _enum_query("mode", Mode, "Only trees for this mode."),
                                     ])},
        "/call-trees/{tree_id}": {"get": _read(
            "api.call_tree", "A call tree resolved: whom to call, on which numbers, then whom.",
            "ResolvedCallTree", tag="call trees",
            params=[_path("tree_id", "call tree"), _param("at")], not_found=True, invalid=True)},
        "/patterns": {"get": _list("api.patterns", "Collaboration patterns.", "Pattern",
                                   tag="coordination", params=[_param("actor_id")])},
        "/patterns/{pattern_id}": {"get": _read(
            "api.pattern", "One collaboration pattern.", "Pattern", tag="coordination",
            params=[_path("pattern_id", "pattern")], not_found=True)},
        "/scenarios": {"get": _list("api.scenarios", "Scenarios.", "Scenario",
                                    tag="coordination")},
        "/scenarios/{scenario_id}": {"get": _read(
            "api.scenario", "One scenario and its agreed direction.", "Scenario",
            tag="coordination", params=[_path("scenario_id", "scenario")], not_found=True)},
        "/mode": {"get": _read("api.mode", "The mode in force: the region and actors with"
                                           " their own.", "ModeOverview", tag="mode")},
        "/search": {"get": _read(
            "api.search_directory", "Search by name, role or label, best first.",
            "SearchResults", tag="lookup", invalid=True, params=[
                _query("q", {**STR, "minLength": 1, "maxLength": 200},
                       "Words, each the start of a word of the entry (\"haninge tib\").",
                       required=True),
                _query("limit", {**INT, "minimum": 1, "maximum": 50, "default": 20},
                       "At most this many results."),
            ])},
        "/lookup": {"get": _read(
            "api.lookup", "Reverse lookup: who has this number?", "LookupResults",
            tag="lookup", invalid=True, params=[
                _query("number", {**STR, "minLength": 1, "maxLength": 100},
                       "A phone number written any common way.", required=True),
            ])},
    }


def document() -> dict:
    """The whole description (needs an app context: the forms are read)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kontaktvägar API",
            "version": "1.0.0",
            "description": (
                "Who to call, on which number, right now, and who next. Sign in with a"
                " personal token (`Authorization: Bearer kv_…`, made on the API tokens page"
                " or with `flask tokens create EMAIL`) or a signed-in session (unsafe methods"
                " then need the CSRF token in `X-CSRFToken`). Lists are paginated in id"
                " order. Every GET answers with an ETag and honours If-None-Match; writes"
                " take If-Match. Errors are RFC 9457 problem+json."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerToken": []}, {"session": []}],
        "tags": [{"name": name} for name in
                 ("directory", "on-call", "call trees", "coordination", "mode", "lookup",
                  "meta")],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "parameters": PARAMETERS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer",
                                "description": "A personal API token."},
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "The browser session; send X-CSRFToken with"
                                           " POST, PATCH and DELETE."},
            },
        },
    }
