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


def check_against_openapi(app, response):
    spec = app.extensions.get("tests.openapi")
    if spec is None:
        spec = app.extensions["tests.openapi"] = build_spec(app)
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
    validators = app.extensions.setdefault("tests.validators", {})
    if where not in validators:
        validators[where] = jsonschema.Draft202012Validator(
            {**schema, "components": spec["components"]}
        )
    errors = sorted(validators[where].iter_errors(response.get_json()), key=str)
    assert not errors, f"{request.method} {request.path} -> {response.status_code}: {errors[0]}"
