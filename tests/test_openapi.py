"""The OpenAPI description and the API agree: every route described, nothing invented."""

import re

import jsonschema_rs
import pytest

from directory.api import spec
from directory.core.models import ContactKind, UserRole
from directory.editing.forms import ContactPointForm, PersonForm

PREFIX = "/api/v1"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def document(app):
    with app.test_request_context():
        return spec.document()


def api_routes(app) -> dict[tuple[str, str], tuple[str, set[str]]]:
    """(path as OpenAPI writes it, method) -> (endpoint, path variables) for /api/v1."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule).removeprefix(PREFIX)
        for method in rule.methods & METHODS:
            routes[path, method.lower()] = (rule.endpoint, set(rule.arguments))
    return routes


def described(document) -> dict[tuple[str, str], dict]:
    return {(path, method): operation
            for path, item in document["paths"].items()
            for method, operation in item.items()}


def test_every_api_route_is_described(app, document):
    missing = set(api_routes(app)) - set(described(document))
    assert not missing, f"routes without a description: {sorted(missing)}"


def test_every_described_operation_exists(app, document):
    invented = set(described(document)) - set(api_routes(app))
    assert not invented, f"described but not routed: {sorted(invented)}"


def test_each_operation_is_named_for_its_endpoint(app, document):
    routes = api_routes(app)
    for key, operation in described(document).items():
        assert operation["operationId"] == routes[key][0]


def resolve(document, item: dict) -> dict:
    if "$ref" in item:
        section, name = item["$ref"].split("/")[-2:]
        return document["components"][section][name]
    return item


def test_path_parameters_are_the_routes_variables(app, document):
    routes = api_routes(app)
    for key, operation in described(document).items():
        parameters = [resolve(document, p) for p in operation.get("parameters", [])]
        in_path = {p["name"] for p in parameters if p["in"] == "path"}
        assert in_path == routes[key][1], key
        assert all(p["required"] for p in parameters if p["in"] == "path")


def test_every_operation_describes_its_answers_and_errors(document):
    for (path, method), operation in described(document).items():
        codes = set(operation["responses"])
        assert codes & {"200", "201", "204"}, (path, method)
        assert "401" in codes, (path, method)
        if method != "get":
            assert {"403"} <= codes, (path, method)
        if "requestBody" in operation:
            assert {"400", "415", "422"} <= codes, (path, method)
        if "{" in path:
            assert "404" in codes, (path, method)


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_every_reference_resolves(document):
    for ref in refs(document):
        assert ref.startswith("#/components/"), ref
        section, name = ref.split("/")[2:]
        assert name in document["components"][section], ref


def test_every_link_leads_to_a_described_operation_and_parameter(document):
    operations = {op["operationId"]: op for op in described(document).values()}
    for operation in described(document).values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target = operations[link["operationId"]]
                names = {resolve(document, p)["name"] for p in target["parameters"]}
                assert set(link["parameters"]) <= names


def test_every_schema_is_a_valid_json_schema(document):
    assert document["openapi"] == "3.1.0"
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_request_bodies_follow_the_forms(app, document):
    schemas = document["components"]["schemas"]
    with app.test_request_context():
        person = PersonForm(formdata=None, meta={"csrf": False})
        point = ContactPointForm(formdata=None, meta={"csrf": False})
    name_length = next(v.max for v in person.name.validators if hasattr(v, "max"))
    assert schemas["PersonCreate"]["properties"]["name"]["maxLength"] == name_length
    assert set(schemas["PersonCreate"]["required"]) == {"actor_id", "name"}
    assert schemas["PersonUpdate"].get("required", []) == []
    kinds = schemas["ContactPointCreate"]["properties"]["kind"]["enum"]
    assert kinds == [c.value for c in point.kind.choices] == [k.value for k in ContactKind]
    assert set(schemas["ContactPointCreate"]["required"]) == {
        "owner_type", "owner_id", "kind", "value"}
    priority = schemas["ContactPointUpdate"]["properties"]["priority"]
    assert (priority["minimum"], priority["maximum"]) == (1, 99)
    assert schemas["ShiftCreate"]["properties"]["starts_at"]["format"] == "date-time"
    override = schemas["OverrideCreate"]["properties"]["replaces_person_id"]
    assert [branch["type"] for branch in override["anyOf"]] == ["integer", "null"]


def test_the_description_is_served_as_json(client, login_as, document):
    login_as(UserRole.VIEWER)
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json()["paths"].keys() == document["paths"].keys()
    assert response.headers["ETag"]


@pytest.mark.parametrize("times", ["09:00, 15:00", "9.30", " ,08:00;", "09:00 15:00", "0",
                                   "24:00", "09:60", "9", "09:00,x", ""])
def test_the_described_shape_of_a_meetings_times_is_what_the_form_reads(document, times):
    """The description's pattern for `times` and the form's reading agree, so valid
    generated data is not refused (the fuzz run fails when most of it is)."""
    from directory.core.patterns import CadenceError, parse_times

    pattern = document["components"]["schemas"]["CollaborationPatternCreate"][
        "properties"]["times"]["pattern"]
    try:
        parse_times(times)
        readable = True
    except CadenceError:
        readable = False
    assert bool(re.search(pattern, times)) is readable


@pytest.mark.parametrize("text", ["Åsa Öberg", "a\x00b", "tab\there", "line\nbreak",
                                  "x\u202ey", "\x85", "   ", "ok "])
def test_the_described_text_fields_refuse_what_the_forms_refuse(document, text):
    """Every one-line text field of a write says which characters it refuses, as the
    form does; a required one, that white space alone is not a value."""
    from directory.core.text import unsafe_character

    name = document["components"]["schemas"]["ActorCreate"]["properties"]["name"]
    notes = document["components"]["schemas"]["ActorCreate"]["properties"]["notes"]
    notes = next((s for s in notes.get("anyOf", [notes]) if "pattern" in s), notes)
    assert bool(re.search(name["pattern"], text)) is (
        unsafe_character(text) is None and bool(text.strip()))
    assert bool(re.search(notes["pattern"], text)) is (
        unsafe_character(text, multiline=True) is None)
