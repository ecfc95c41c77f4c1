"""Hooks for the fuzz run (tests/test_api_fuzz.py), loaded by schemathesis.

The run fails when most of the data schemathesis means to be valid is
refused (`validation_mismatch`, `low_valid_rate`): the logic behind those
refusals would go untested. What a JSON Schema can say is in the
description (types, bounds, lengths, patterns, unique items); what it
cannot say is mended here, on positive cases only, by the app's own rules:

- the end at least a minute after the start (periods are kept to the
  minute), and both opening times or neither; a period (shift, override)
  patched at one end gets the other end too, as the stored one is relative
  to the day the suite runs;
- dates and moments in the years the app accepts, 2000-2100 in the
  region's time zone (a JSON Schema `format` has no bounds);
- a meeting's times that one pattern can hold (09:30 and 15:00 need two);
- a contact path's value that suits its kind (a phone number for a phone
  kind, an address for e-mail, a web address for the web);
- ids that name an entry: the coverage phase sends the schema's largest id,
  which names nothing (that refusal is tested, with negative cases and in
  tests/test_api_writes.py); such an id becomes one of the kept entries;
- the person of a shift or an override is one of the role's actor's: a
  person the run made for another actor (whose id the stateful phase
  reuses) becomes one of the kept role's persons;
- a step moved under another: to the top (which parent is of the step's own
  tree, and not below it, depends on the step; tests/test_api_writes.py
  moves steps between parents);
- a role's name is unique within its actor, an actor's among live actors:
  each new role and actor gets a name of its own.

Negative cases are sent as generated.
"""

import itertools
from datetime import date, datetime, timedelta

import schemathesis
from email_validator import EmailNotValidError, validate_email
from schemathesis import GenerationMode

from directory.core.models.base import ContactKind
from directory.core.moments import EARLIEST_YEAR, LATEST_YEAR
from directory.core.numbers import PhoneNumberError, normalise_phone
from directory.core.patterns import CadenceError, build_rrule, parse_times

# Entries that tests/test_api_fuzz.py seeds and the run does not delete (ids
# far above those the run's deletes try, and actors with kept parts, which
# cannot be retired); bodies name them most of the time (the run's dictionaries).
KEPT = {
    "actors": [1], "roles": [9003], "owners": [1, 9003], "persons": [9003, 9004],
    "scenarios": [9002], "trees": [9002], "steps": [9004], "participants": [1, 2],
    "targets": ["role-9003", "person-9003", "person-9004", "actor-1"],
}
# Body fields that name entries, and which kept entries they may name.
ID_FIELDS = {
    "actor_id": "actors", "role_id": "roles", "owner_id": "owners", "scenario_id": "scenarios",
    "tree_id": "trees", "parent_id": "steps", "convener_actor_id": "actors",
    "convener_role_id": "roles", "person_id": "persons", "replaces_person_id": "persons",
}
LIST_FIELDS = {"participants": "participants", "members": "persons"}
# Larger ids than any the run makes: the schema's boundary values.
NAMES_NOTHING = 100_000
# The years the app accepts (directory.core.moments); a moment a day inside
# them, as it is read in the region's time zone, not in UTC.
FIRST_DATE, LAST_DATE = date(EARLIEST_YEAR, 1, 1), date(LATEST_YEAR, 12, 31)
FIRST_MOMENT = datetime(EARLIEST_YEAR, 1, 2)
LAST_MOMENT = datetime(LATEST_YEAR, 12, 30)
# Periods are kept to the minute (the forms' precision): an end within the
# start's minute is no later than the start.
LEAST_PERIOD = timedelta(minutes=1)
DATE_FIELDS = ("starts_on", "ends_on", "valid_from", "next_review_on")
EXAMPLES = {"email": "tib@example.org", "web": "https://example.org", "phone": "070-174 06 98"}

_numbers = itertools.count(1)


def _is_positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode == GenerationMode.POSITIVE


def _named_entries(body: dict) -> None:
    for field, kept in ID_FIELDS.items():
        value = body.get(field)
        if isinstance(value, int) and value > NAMES_NOTHING:
            body[field] = KEPT[kept][0]
    for field, kept in LIST_FIELDS.items():
        values = body.get(field)
        if isinstance(values, list):
            named = [v if not isinstance(v, int) or v <= NAMES_NOTHING else KEPT[kept][0]
                     for v in values]
            body[field] = list(dict.fromkeys(named))  # in turn, each once
    if isinstance(body.get("target"), str) and int(body["target"].split("-")[-1]) > NAMES_NOTHING:
        body["target"] = KEPT["targets"][0]
    for alternate in body.get("alternates") or []:
        if isinstance(alternate, dict) and isinstance(alternate.get("target"), str) \
                and int(alternate["target"].split("-")[-1]) > NAMES_NOTHING:
            alternate["target"] = KEPT["targets"][1]


# Persons of the kept role's actor, as a shift's or an override's persons must be.
STAFF_FIELDS = {"person_id": 0, "replaces_person_id": 1}


def _staff_of_kept_role(body: dict) -> None:
    for field, index in STAFF_FIELDS.items():
        value = body.get(field)
        if isinstance(value, int) and value not in KEPT["persons"]:
            body[field] = KEPT["persons"][index]


def _day(text):
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _moment(text):
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def _dates(body: dict) -> None:
    for field in DATE_FIELDS:
        day = _day(body.get(field))
        if day is not None and not FIRST_DATE <= day <= LAST_DATE:
            body[field] = day.replace(year=2026 if day.month != 2 else 2028).isoformat()
    starts, ends = _day(body.get("starts_on")), _day(body.get("ends_on"))
    if starts and ends and ends <= starts:
        body["ends_on"] = (starts + timedelta(days=30)).isoformat()
    for field in ("starts_at", "ends_at"):
        moment = _moment(body.get(field))
        if moment is not None and not FIRST_MOMENT <= moment.replace(tzinfo=None) <= LAST_MOMENT:
            body[field] = moment.replace(year=2026 if moment.month != 2 else 2028).isoformat()
    starts, ends = _moment(body.get("starts_at")), _moment(body.get("ends_at"))
    if starts and ends and (starts.tzinfo is None) == (ends.tzinfo is None) \
            and ends - starts < LEAST_PERIOD:
        body["ends_at"] = (starts + timedelta(hours=8)).isoformat()


def _period_patch(body: dict) -> None:
    starts, ends = _moment(body.get("starts_at")), _moment(body.get("ends_at"))
    if starts is not None and "ends_at" not in body:
        body["ends_at"] = (starts + timedelta(hours=8)).isoformat()
    elif ends is not None and "starts_at" not in body:
        body["starts_at"] = (ends - timedelta(hours=8)).isoformat()


def _opening_times(body: dict) -> None:
    if ("available_from" in body or "available_until" in body) \
            and (body.get("available_from") is None) != (body.get("available_until") is None):
        body["available_from"] = body["available_until"] = None


def _value_for_kind(body: dict) -> None:
    kind, value = body.get("kind"), body.get("value")
    if kind not in {k.value for k in ContactKind} or not isinstance(value, str):
        return
    kind = ContactKind(kind)
    if kind.is_phone:
        try:
            normalise_phone(value)
        except PhoneNumberError:
            body["value"] = EXAMPLES["phone"]
    elif kind is ContactKind.EMAIL:
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError:
            body["value"] = EXAMPLES["email"]
    elif kind is ContactKind.WEB and not value.strip().startswith(("https://", "http://")):
        body["value"] = EXAMPLES["web"]


def _cadence(body: dict) -> None:
    if body.get("frequency") == "weekly" and not body.get("weekdays"):
        body["weekdays"] = ["MO"]
    if isinstance(body.get("times"), str) and isinstance(body.get("weekdays", []), list):
        try:
            times = parse_times(body["times"])
        except CadenceError:
            return  # the pattern in the description keeps positive cases readable
        try:
            build_rrule(body.get("frequency", "daily"), body.get("weekdays") or ["MO"], times)
        except CadenceError:
            body["times"] = times[0].strftime("%H:%M")


@schemathesis.hook
def before_call(context, case, **kwargs):
    if not isinstance(case.body, dict):
        return
    body = dict(case.body)
    if case.method.upper() == "POST" and case.path in ("/roles", "/actors") \
            and isinstance(body.get("name"), str) and body["name"].strip():
        body["name"] = f"{body['name']} {next(_numbers)}"
    if _is_positive(case) and case.method.upper() in ("POST", "PATCH", "PUT"):
        _named_entries(body)
        if case.path.startswith(("/shifts", "/overrides")):
            _staff_of_kept_role(body)
        if case.method.upper() == "PATCH" and case.path.startswith(("/shifts/", "/overrides/")):
            _period_patch(body)
        _dates(body)
        _opening_times(body)
        _value_for_kind(body)
        _cadence(body)
        if case.method.upper() == "PATCH" and case.path.startswith("/call-tree-nodes/") \
                and "parent_id" in body:
            body["parent_id"] = None
    case.body = body
