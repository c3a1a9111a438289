"""The test client that checks every JSON answer against the app's OpenAPI document."""

import jsonschema
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException

from livesessions.openapi import build_spec, openapi_path


class OpenAPIValidatingClient(FlaskClient):
    """A test client that checks every JSON response against the app's OpenAPI document.

    The operation is found from the URL map; its response for the status must be documented
    and the body must match its schema. Requests that match no documented route must still
    answer the Error shape.
    """

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if response.is_json:
            check_against_openapi(self.application, response)
        return response


# Every app of a test run serves the same few sets of documented routes: their OpenAPI
# document and its validators are built once per set (building one takes about 0.1 s, more
# than a test's own requests), not once per app.
_DOCUMENTS = {}
_VALIDATORS = {}


def documented_routes(app):
    """What the app's OpenAPI document is made of: its documented rules and their views."""
    routes = app.extensions.get("tests.documented_routes")
    if routes is None:
        routes = app.extensions["tests.documented_routes"] = frozenset(
            (rule.rule, frozenset(rule.methods), app.view_functions[rule.endpoint])
            for rule in app.url_map.iter_rules()
            if hasattr(app.view_functions[rule.endpoint], "openapi")
        )
    return routes


def check_against_openapi(app, response):
    routes = documented_routes(app)
    spec = _DOCUMENTS.get(routes)
    if spec is None:
        spec = _DOCUMENTS[routes] = build_spec(app)
    request = response.request
    try:
        rule, _ = app.url_map.bind("localhost").match(
            request.path, method=request.method, return_rule=True
        )
    except HTTPException:
        rule = None
    if rule is not None and rule.rule == "/openapi.json":
        return
    schema, where = {"$ref": "#/components/schemas/Error"}, "Error"
    operation = None
    if rule is not None:
        operation = spec["paths"].get(openapi_path(rule.rule), {}).get(request.method.lower())
    if operation is not None:
        documented = operation["responses"].get(str(response.status_code))
        assert documented is not None, (
            f"{request.method} {rule.rule} answered {response.status_code}, which the "
            f"OpenAPI document does not list ({sorted(operation['responses'])})"
        )
        schema = documented["content"]["application/json"]["schema"]
        where = (rule.rule, request.method, response.status_code)
    validator = _VALIDATORS.get((routes, where))
    if validator is None:
        validator = _VALIDATORS[routes, where] = jsonschema.Draft202012Validator(
            {**schema, "components": spec["components"]}
        )
    errors = sorted(validator.iter_errors(response.get_json()), key=str)
    assert not errors, f"{request.method} {request.path} -> {response.status_code}: {errors[0]}"
