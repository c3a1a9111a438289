"""`request_body()` and `request_query()`: a view loads the schemas its `@documented`
declares, and nothing it does not declare."""

import pytest
from flask import Flask

from livesessions.errors import ValidationFailed
from livesessions.openapi import documented, request_body, request_query
from livesessions.schemas import ErrorSchema, ListQuerySchema, ParticipantSchema


@pytest.fixture
def app():
    app = Flask(__name__)

    @app.post("/declared")
    @documented("Declared", response=ErrorSchema, body=ParticipantSchema, query=ListQuerySchema)
    def declared():
        return {}

    @app.post("/undeclared")
    @documented("Undeclared", response=ErrorSchema)
    def undeclared():
        return {}

    return app


def test_the_body_is_loaded_with_the_declared_schema(app):
    with app.test_request_context("/declared", method="POST", json={"studentId": "s1"}):
        assert request_body() == {"studentId": "s1"}
    extra = {"studentId": "s1", "x": 1}
    with (
        app.test_request_context("/declared", method="POST", json=extra),
        pytest.raises(ValidationFailed) as refusal,
    ):
        request_body()
    assert refusal.value.message == '"x" is not allowed'


def test_an_empty_query_is_the_declared_defaults_each_time_a_fresh_copy(app):
    with app.test_request_context("/declared?&", method="POST"):
        loaded = request_query()  # a query string with no pair: loaded in full
    with app.test_request_context("/declared", method="POST"):
        defaults = request_query()
        assert defaults == loaded == ListQuerySchema().load({})
        defaults["page"] = 99
        assert request_query()["page"] == loaded["page"] != 99
    with (
        app.test_request_context("/declared?page=0", method="POST"),
        pytest.raises(ValidationFailed, match='"page" must be greater than or equal to 1'),
    ):
        request_query()


def test_a_view_cannot_load_what_it_does_not_declare(app):
    with app.test_request_context("/undeclared", method="POST", json={}):
        with pytest.raises(LookupError, match="undeclared declares no body"):
            request_body()
        with pytest.raises(LookupError, match="undeclared declares no query"):
            request_query()
