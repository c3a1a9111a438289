"""The OpenAPI 3.1 document, generated from the marshmallow schemas, and the docs pages.

Each view carries its documentation (`@documented`) next to its code; `build_spec` walks the
app's URL map, so a route without it is simply not documented, and a documented route can't
drift to another path. The request schemas it declares are also the ones its view loads
(`request_body()`, `request_query()`): each is named once.
"""

import re
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, request
from flask_swagger_ui import get_swaggerui_blueprint

from .errors import (
    DATABASE_FAILED,
    EXPIRED_TOKEN,
    HTTP_MESSAGES,
    INTERNAL_ERROR,
    INVALID_TOKEN,
    MISSING_TOKEN,
    TOO_MANY_REQUESTS,
)
from .http import json_body, query_args
from .ratelimit import EXEMPT
from .schemas import ErrorSchema, UpdateSeriesSchema, UpdateSessionSchema
from .validation import load

API_VERSION = "1.0.0"
# Flask's variable names -> the spec's (`/sessions/:id`, `:courseId`, ...)
PATH_PARAMETERS = {
    "session_id": ("id", "The live session's id (UUID v4)"),
    "series_id": ("seriesId", "The recurring series' id (UUID v4)"),
    "course_id": ("courseId", "The course's id"),
    "instructor_id": ("instructorId", "The instructor's user id"),
    "student_id": ("studentId", "The student's id"),
    "recording_id": ("recordingId", "The recording's id (the service's or Daily's)"),
    "webhook_id": ("id", "The webhook endpoint's id (UUID v4)"),
}


class Note(str):
    """Prose in an error's description, as opposed to a message the API sends (which the
    description quotes); a note in parentheses qualifies the message before it."""


VALIDATION = Note(
    'Validation error, worded like Joi (first error only), e.g. `"title" is required`'
)
TYPE_ERROR = Note("a type error")
STRICT_ONLY = Note("(AUTH_POLICY=strict only)")
# The open write endpoints' 401s: only when AUTH_POLICY=strict asks for a token.
STRICT_TOKEN = (MISSING_TOKEN, INVALID_TOKEN, EXPIRED_TOKEN, STRICT_ONLY)
COMMON_ERRORS = {
    401: (MISSING_TOKEN, INVALID_TOKEN, EXPIRED_TOKEN),
    413: (HTTP_MESSAGES[413], Note("(over MAX_CONTENT_LENGTH)")),
    415: (HTTP_MESSAGES[415],),
    429: (TOO_MANY_REQUESTS, Note("(over a RATE_LIMIT_* setting; see `Retry-After`)")),
    500: (DATABASE_FAILED, INTERNAL_ERROR),
}

RETRY_AFTER = {
    "description": "Seconds until the limit lets a request through again",
    "schema": {"type": "integer", "minimum": 1},
}


def describe(items) -> str:
    """`("A", "B {x}", Note("a type error"))` -> "`A`, `B <x>`, or a type error"."""
    parts = []
    for item in items:
        if isinstance(item, Note) and item.startswith("(") and parts:
            parts[-1] += f" {item}"
        elif isinstance(item, Note):
            parts.append(str(item))
        else:
            parts.append("`" + re.sub(r"\{(\w+)\}", r"<\1>", item) + "`")
    if len(parts) <= 2:
        return " or ".join(parts)
    return ", ".join(parts[:-1]) + ", or " + parts[-1]


def documented(
    summary,
    *,
    response,
    status=200,
    auth=False,
    body=None,
    body_required=True,
    query=None,
    query_checked=True,
    errors=None,
    error_schemas=None,
    tag="sessions",
):
    """Attach an operation's documentation to a view.

    `response` is a schema class, `[schema]` for an array, a media type (a text body), or a
    tuple of these for a response that comes in several media types (`?format=`).
    `errors` maps extra statuses to what the API answers with them: the messages (the
    constants of errors.py, quoted) and `Note`s; their body is the Error schema unless
    `error_schemas` names another. 400/401/413/415/500 are added from the inputs (no 400
    for a `query` the view reads itself: `query_checked=False`).
    The view loads its `body` and `query` with `request_body()` and `request_query()`, where
    its checks put them (after the token's, for instance).
    """

    def decorate(view):
        view.openapi = {
            "summary": summary,
            "tag": tag,
            "description": (view.__doc__ or "").strip(),
            "response": response,
            "status": status,
            "auth": auth,
            "body": body,
            "body_required": body_required,
            "query": query,
            "query_checked": query_checked,
            "errors": errors or {},
            "error_schemas": error_schemas or {},
        }
        return view

    return decorate


def request_body() -> dict:
    """The JSON body, loaded with the schema the view's `@documented(body=...)` declares
    (Joi's first error as a 400; 415 or 400 first if it is not a JSON object)."""
    return load(_declared("body"), json_body())


def request_query() -> dict:
    """The query string as Express read it, loaded with the schema the view's
    `@documented(query=...)` declares; an empty one is its defaults, parsed once."""
    schema = _declared("query")
    if not request.query_string:
        return dict(_defaults(schema))
    return load(schema, query_args())


def _declared(part):
    schema = current_app.view_functions[request.endpoint].openapi[part]
    if schema is None:
        raise LookupError(f"{request.endpoint} declares no {part} in @documented")
    return _instance(schema)


@cache
def _instance(schema_class):
    return schema_class()


@cache
def _defaults(schema):
    return load(schema, {})


def openapi_path(rule):
    """`/sessions/<session_id>` -> `/sessions/{id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: f"{{{PATH_PARAMETERS[m[1]][0]}}}", rule)


def _json(schema):
    if isinstance(schema, tuple):  # one response, several media types
        return {media: body for each in schema for media, body in _json(each).items()}
    if isinstance(schema, str):  # a media type whose body is not JSON (text/calendar)
        return {schema: {"schema": {"type": "string"}}}
    if isinstance(schema, list):
        return {"application/json": {"schema": {"type": "array", "items": schema[0]}}}
    return {"application/json": {"schema": schema}}


def _errors(doc, view):
    """The error statuses of an operation: what its inputs and token can cause, its own,
    and those every operation can answer."""
    errors = {}
    if doc["body"] is not None or (doc["query"] is not None and doc["query_checked"]):
        errors[400] = (VALIDATION,)
    if doc["auth"]:
        errors[401] = COMMON_ERRORS[401]
    errors.update(doc["errors"])
    if doc["body"] is not None:
        errors[413] = COMMON_ERRORS[413]
        errors[415] = COMMON_ERRORS[415]
    if getattr(view, "rate_limit_class", None) != EXEMPT and 429 not in errors:
        errors[429] = COMMON_ERRORS[429]
    if 500 not in doc["error_schemas"]:
        errors[500] = (*doc["errors"].get(500, ()), *COMMON_ERRORS[500])
    return errors


def _operation(doc, rule, view):
    errors = _errors(doc, view)
    responses = {str(doc["status"]): {"description": "Success", "content": _json(doc["response"])}}
    for status, items in sorted(errors.items()):
        schema = doc["error_schemas"].get(status, ErrorSchema)
        responses[str(status)] = {"description": describe(items), "content": _json(schema)}
        if status == 429:
            responses["429"]["headers"] = {"Retry-After": RETRY_AFTER}
    operation = {
        "summary": doc["summary"],
        "operationId": rule.endpoint.split(".")[-1],
        "tags": [doc["tag"]],
        "responses": responses,
    }
    if doc["description"]:
        operation["description"] = doc["description"]
    if doc["auth"]:
        operation["security"] = [{"bearerAuth": []}]
    if doc["query"] is not None:
        operation["parameters"] = [{"in": "query", "schema": doc["query"]}]
    if doc["body"] is not None:
        operation["requestBody"] = {
            "required": doc["body_required"],
            "content": _json(doc["body"]),
        }
    return operation


def build_spec(app):
    """Generate the OpenAPI document of every documented route of `app`."""
    spec = APISpec(
        title="livesessions",
        version=API_VERSION,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Live classes on Daily.co with recordings published on Cloudinary. "
            "A drop-in port of the Node.js Live Sessions API: errors are always "
            '`{"message": "..."}`, dates ISO 8601 UTC with milliseconds.'
        },
        servers=[{"url": "/"}],
    )
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    # The update schema's "at least one key" rule lives in a schema validator.
    spec.components.schema("UpdateSession", {"minProperties": 1}, schema=UpdateSessionSchema)
    spec.components.schema("UpdateSeries", {"minProperties": 1}, schema=UpdateSeriesSchema)
    paths = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        doc = getattr(view, "openapi", None)
        if doc is None:
            continue
        path = paths.setdefault(openapi_path(rule.rule), {"operations": {}, "arguments": []})
        path["arguments"] = list(rule.arguments)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path["operations"][method.lower()] = _operation(doc, rule, view)
    for path, item in sorted(paths.items()):
        parameters = [
            {
                "in": "path",
                "name": PATH_PARAMETERS[argument][0],
                "required": True,
                "description": PATH_PARAMETERS[argument][1],
                "schema": {"type": "string"},
            }
            for argument in sorted(
                item["arguments"], key=lambda a: path.index("{" + PATH_PARAMETERS[a][0] + "}")
            )
        ]
        spec.path(path=path, operations=item["operations"], parameters=parameters)
    return spec.to_dict()


bp = Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI document (built once per app)."""
    extensions = current_app.extensions
    if "livesessions.openapi" not in extensions:
        extensions["livesessions.openapi"] = build_spec(current_app)
    return extensions["livesessions.openapi"]


def register_docs(app):
    """Serve /openapi.json and Swagger UI at /docs (assets from the installed package),
    unless DOCS_ENABLED is off (production's default): both are then the usual JSON 404."""
    if not app.config["DOCS_ENABLED"]:
        return
    app.register_blueprint(bp)
    app.register_blueprint(
        get_swaggerui_blueprint(
            "/docs",
            "/openapi.json",
            config={"app_name": "livesessions API", "deepLinking": True},
            blueprint_name="swagger_ui",
        )
    )
