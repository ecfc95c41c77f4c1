"""SpecTree for /api/v1: one decorator per operation validates the request,
checks the answer, and contributes that operation to the OpenAPI document.

`operation(...)` names the models (`directory.api.schemas`) and what else
the operation can answer (problem+json errors, 304, ETag, Location). The
document (`document()`) is SpecTree's, from those models and the URL map,
with what SpecTree does not know about added from the same declarations:
the problem+json media type of errors, the response headers, operation ids
that are the endpoints' names, and links from a new entry to its operations.
"""

import copy
from functools import wraps

from flask import current_app, request
from flask_babel import gettext as _
from spectree import Response, SpecTree

from directory.api import schemas
from directory.api.errors import ApiError, Invalid

PREFIX = "/api/v1"
JSON, PROBLEM = "application/json", "application/problem+json"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

DESCRIPTION = (
    "Who to call, on which number, right now, and who next. Sign in with a personal"
    " token (`Authorization: Bearer kv_…`, made on the API tokens page or with `flask"
    " tokens create EMAIL`) or a signed-in session (unsafe methods then need the CSRF"
    " token in `X-CSRFToken`). Lists are paginated in id order. Every GET answers with"
    " an ETag and honours If-None-Match; writes take If-Match. Errors are RFC 9457"
    " problem+json. Generated from the schemas the API validates with."
)

ERRORS = {
    400: "The request cannot be read: the body is not a JSON object, or the address"
         " holds a control character.",
    401: "Not signed in, or the bearer token is not valid or revoked.",
    403: "Not allowed for you, or (signed-in session) the CSRF token is missing.",
    404: "There is no such entry (or it is not for you to see).",
    409: "The entry clashes with an existing one, or was saved by someone else at the"
         " same moment.",
    412: "The entry changed since the version named in If-Match: read it again.",
    415: "The body is not application/json.",
    422: "Some fields (or query parameters) are not valid; `errors` says which and why.",
}


def _field_message(error: dict) -> str:
    """A pydantic error as the API words it (translated, like the forms' messages)."""
    kind, value = error["type"], error.get("input")
    if kind == "kv":  # ours, already worded
        return error["msg"]
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if value is None and kind.endswith("_type"):
        return _("This field may not be null.")
    return {
        "string_type": _("Give a text."),
        "int_type": _("Give a whole number."),
        "bool_type": _("Give true or false."),
        "literal_error": _("Not a valid choice."),
    }.get(kind, _("Not a valid value."))


def field_errors(validation_error) -> list[dict]:
    """One message per field, first one first."""
    found: dict[str, str] = {}
    for error in validation_error.errors():
        name = str(error["loc"][0]) if error["loc"] else ""
        found.setdefault(name, _field_message(error))
    return [{"field": name, "message": message} for name, message in found.items()]


def _refuse_invalid(_req, _resp, validation_error, _instance, _adapter):
    """SpecTree's hook after validation: a failure becomes our 422 problem."""
    if validation_error is not None:
        raise Invalid(field_errors(validation_error))


def _answer_checked(_req, _resp, validation_error, _instance, _adapter):
    """An answer that does not match its own description is a bug: fail loudly."""
    if validation_error is not None:
        raise RuntimeError(f"answer does not match its schema: {validation_error}")


api = SpecTree(
    "flask",
    mode="strict",
    title="Kontaktvägar API",
    version="1.0.0",
    description=DESCRIPTION,
    annotations=False,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    before=_refuse_invalid,
    after=_answer_checked,
    validation_error_model=schemas.Problem,
)

SECURITY_SCHEMES = {
    "bearerToken": {"type": "http", "scheme": "bearer", "description": "A personal API token."},
    "session": {"type": "apiKey", "in": "cookie", "name": "session",
                "description": "The browser session; send X-CSRFToken with POST, PATCH and"
                               " DELETE."},
}


def json_object() -> dict:
    """The request's JSON body: an object, or a 415/400 problem."""
    if not request.is_json:
        raise ApiError(415, _("Send the body as application/json."))
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than any real body; json gives up
        raise ApiError(400, _("The body is nested too deeply.")) from None
    if not isinstance(body, dict):
        raise ApiError(400, _("The body must be a JSON object."))
    return body


def operation(*, ok=None, status: int = 200, query=None, body=None, tags=(),
              errors=(), conditional: bool = False, links: tuple | None = None,
              guard=None, example: dict | None = None):
    """Describe and validate one operation.

    `ok` is the answer's model (None: 204 without a body), `query` and `body`
    the models of the query string and the JSON body, `errors` the problem
    codes beyond those every operation has, `conditional` whether If-Match
    applies, `links` the kind (and id parameter) whose read, change and delete a
    new entry's id leads to. `guard(**path)` runs before the request is validated:
    who may not write learns nothing from the validation. `example` is a body
    that is valid where entry 1 of every kind is the caller's (the description
    shows it; the fuzz run starts from it).
    """
    codes = {400, 401, *errors}
    if query is not None or body is not None:
        codes.add(422)
    if body is not None:
        codes |= {415, 422}
    if conditional:
        codes |= {409, 412}
    answers = {f"HTTP_{code}": schemas.Problem for code in sorted(codes)}
    answers["HTTP_204" if ok is None else f"HTTP_{status}"] = ok
    if ok is None:
        answers.pop("HTTP_204")
    validate = api.validate(
        query=query, json=body, resp=Response("HTTP_204", **answers) if ok is None
        else Response(**answers), tags=tags,
    )

    def decorate(view):
        checked = validate(view)

        @wraps(view)
        def run(*args, **kwargs):
            if guard is not None:
                guard(**kwargs)
            if body is not None and request.method in BODY_METHODS:
                json_object()  # a body SpecTree would read as {} is refused first
            return checked(*args, **kwargs)

        run._api = {"status": 204 if ok is None else status, "ok": ok,
                    "conditional": conditional, "links": links, "example": example,
                    "paged": ok is not None and ok.__name__.endswith("Page")}
        api._function_metadata[run] = api._function_metadata[checked]
        return run

    return decorate


# --- The document --------------------------------------------------------------


def _header(description: str, *, required: bool = True) -> dict:
    return {"description": description, "required": required, "schema": {"type": "string"}}


def _links(kind: str, parameter: str) -> dict:
    value = {parameter: "$response.body#/id"}
    name = "".join(word.title() for word in kind.split("_"))
    return {f"{verb}{name}": {"operationId": f"api.{kind}{suffix}", "parameters": value}
            for verb, suffix in (("Get", ""), ("Update", "_update"), ("Delete", "_delete"))}


def _finish(operation_: dict, endpoint: str, method: str, info: dict, rule) -> None:
    operation_["operationId"] = endpoint
    operation_.pop("description", None) if not operation_.get("description") else None
    for parameter in operation_.get("parameters", []):
        if parameter["in"] == "path":
            parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": schemas.MAX_ID}
            parameter["description"] = parameter.get("description") or "The entry's id."
            if method != "delete":
                parameter["example"] = 1
        parameter["schema"].pop("title", None)
    responses = operation_["responses"]
    for code, answer in responses.items():
        content = answer.get("content", {})
        if code.startswith("4") and JSON in content:
            answer["content"] = {PROBLEM: content[JSON]}
            answer["description"] = ERRORS.get(int(code), answer.get("description", ""))
    ok = responses.get(str(info["status"]))
    if ok is not None and info["status"] != 204:
        ok["headers"] = {"ETag": _header("The entry's version, or a hash of the answer.")}
        if info["paged"]:
            ok["headers"]["Link"] = _header("RFC 8288 links to the first, previous, next"
                                            " and last page.", required=False)
        if info["status"] == 201:
            ok["headers"]["Location"] = _header("The new entry's URL.")
        if info["links"]:
            ok["links"] = _links(*info["links"])
    if info["status"] == 204:
        responses["204"] = {"description": "Done."}
    if method == "get":
        responses["304"] = {"description": "Not modified since the ETag sent in"
                                           " If-None-Match."}
        operation_.setdefault("parameters", []).append({
            "name": "If-None-Match", "in": "header", "required": False,
            "schema": {"type": "string"},
            "description": "An ETag read before: 304 if unchanged."})
    if info["conditional"]:
        operation_.setdefault("parameters", []).append({
            "name": "If-Match", "in": "header", "required": False,
            "schema": {"type": "string"},
            "description": "The entry's ETag (or version) as read: 412 if it changed since."})
    if "requestBody" in operation_:
        operation_["requestBody"]["required"] = True
        if info["example"] is not None:
            operation_["requestBody"]["content"][JSON]["example"] = info["example"]


def document() -> dict:
    """The OpenAPI 3.1 document of /api/v1, generated (needs an app context)."""
    cached = current_app.extensions.get("kontaktvagar_openapi")
    if cached is not None:
        return cached
    models = api.models
    api.models = copy.deepcopy(models)  # SpecTree lifts (and drops) nested $defs in place
    try:
        spec = api._generate_spec()
    finally:
        api.models = models
    rules = {}
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            view = current_app.view_functions[rule.endpoint]
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                rules[method.lower(), rule.endpoint] = (view, rule)
    paths = {}
    for path, item in spec["paths"].items():
        short = path.removeprefix(PREFIX)
        for method, operation_ in item.items():
            endpoint = next(e for (m, e), (_view, rule) in rules.items()
                            if m == method and rule.rule.replace("<int:", "<")
                            .replace("<", "{").replace(">", "}") == path)
            view, rule = rules[method, endpoint]
            _finish(operation_, endpoint, method, view._api, rule)
        paths[short] = item
    spec["paths"] = paths
    spec["servers"] = [{"url": PREFIX}]
    spec["components"]["securitySchemes"] = SECURITY_SCHEMES
    spec["security"] = [{"bearerToken": []}, {"session": []}]
    spec["info"]["description"] = DESCRIPTION
    current_app.extensions["kontaktvagar_openapi"] = spec
    return spec
