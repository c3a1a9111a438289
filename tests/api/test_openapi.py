"""The OpenAPI document: valid, complete against the spec, generated from the schemas."""

import re

import pytest
from openapi_spec_validator import validate

from tests.support.app_config import PRODUCTION
from tests.support.factories import PAGE_KEYS, seed_session

SPEC_ENDPOINTS = {
    ("post", "/sessions"),
    ("get", "/sessions"),
    ("get", "/sessions/{id}"),
    ("get", "/sessions/course/{courseId}"),
    ("get", "/sessions/instructor/{instructorId}"),
    ("put", "/sessions/{id}"),
    ("delete", "/sessions/{id}"),
    ("post", "/sessions/recording/start"),
    ("post", "/sessions/recording/stop"),
    ("post", "/sessions/{id}/participants"),
    ("delete", "/sessions/{id}/participants/{studentId}"),
    ("patch", "/sessions/{id}/status"),
    ("post", "/sessions/webhook/daily"),
}
OPERATIONS_ENDPOINTS = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics")}
BEYOND_SPEC_ENDPOINTS = {
    ("post", "/webhooks"),
    ("get", "/webhooks"),
    ("delete", "/webhooks/{id}"),
    ("get", "/webhooks/{id}/deliveries"),
    ("post", "/sessions/{id}/join"),
    ("get", "/sessions/{id}/attendance"),
    ("get", "/sessions/{id}/attendance.csv"),
    ("get", "/sessions/course/{courseId}/attendance"),
    ("get", "/sessions/course/{courseId}/calendar.ics"),
    ("get", "/sessions/instructor/{instructorId}/calendar.ics"),
    ("get", "/sessions/student/{studentId}/calendar.ics"),
    ("get", "/sessions/{id}/recordings"),
    ("delete", "/sessions/{id}/recordings/{recordingId}"),
    ("post", "/sessions/series"),
    ("put", "/sessions/series/{seriesId}"),
    ("delete", "/sessions/series/{seriesId}"),
}
AUTHENTICATED = {
    ("post", "/webhooks"),
    ("get", "/webhooks"),
    ("delete", "/webhooks/{id}"),
    ("get", "/webhooks/{id}/deliveries"),
    ("get", "/sessions/{id}/recordings"),
    ("delete", "/sessions/{id}/recordings/{recordingId}"),
    ("post", "/sessions"),
    ("get", "/sessions"),
    ("get", "/sessions/{id}"),
    ("put", "/sessions/{id}"),
    ("delete", "/sessions/{id}"),
    ("post", "/sessions/{id}/join"),
    ("get", "/sessions/{id}/attendance"),
    ("get", "/sessions/{id}/attendance.csv"),
    ("get", "/sessions/course/{courseId}/attendance"),
    ("post", "/sessions/series"),
    ("put", "/sessions/series/{seriesId}"),
    ("delete", "/sessions/series/{seriesId}"),
}
# Every status and message the spec documents, per endpoint.
SPEC_ERRORS = [
    ("post", "/sessions", "400", '\\"title\\" is required'),
    ("post", "/sessions", "500", "Failed to create Daily.co room"),
    ("get", "/sessions", "400", "Joi"),
    ("get", "/sessions/{id}", "404", "Live session not found"),
    ("get", "/sessions/course/{courseId}", "500", "Database query failed"),
    ("get", "/sessions/instructor/{instructorId}", "500", "Database query failed"),
    ("put", "/sessions/{id}", "404", "Live session not found"),
    ("delete", "/sessions/{id}", "404", "Live session not found"),
    ("delete", "/sessions/{id}", "500", "Failed to delete Daily.co room"),
    ("post", "/sessions/recording/start", "400", "Room name is required"),
    ("post", "/sessions/recording/start", "500", "Failed to start recording on Daily.co"),
    ("post", "/sessions/recording/stop", "400", "Recording ID is required"),
    ("post", "/sessions/recording/stop", "500", "Failed to stop recording on Daily.co"),
    ("post", "/sessions/{id}/participants", "400", "Student ID is required"),
    ("post", "/sessions/{id}/participants", "400", "Session has reached maximum participants"),
    ("post", "/sessions/{id}/participants", "404", "Live session not found"),
    ("delete", "/sessions/{id}/participants/{studentId}", "404", "Student not found"),
    ("patch", "/sessions/{id}/status", "400", "Status is required"),
    ("patch", "/sessions/{id}/status", "400", "Invalid status value"),
    ("patch", "/sessions/{id}/status", "404", "Live session not found"),
]


@pytest.fixture
def document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(document):
    return {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_the_document_is_valid_openapi_3_1(document):
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_endpoint_of_the_spec_is_documented(document):
    documented = SPEC_ENDPOINTS | OPERATIONS_ENDPOINTS | BEYOND_SPEC_ENDPOINTS
    assert set(operations(document)) == documented


def test_bearer_auth_is_on_exactly_the_authenticated_endpoints(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    secured = {key for key, op in operations(document).items() if op.get("security")}
    assert secured == AUTHENTICATED
    for key in AUTHENTICATED:
        assert "401" in operations(document)[key]["responses"]


@pytest.mark.parametrize(("method", "path", "status", "message"), SPEC_ERRORS)
def test_the_spec_errors_are_documented(document, method, path, status, message):
    response = operations(document)[(method, path)]["responses"][status]
    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert message.replace("\\\\", "\\").replace('\\"', '"') in response["description"]


def test_path_parameters_are_named_like_the_spec(document):
    for path, item in document["paths"].items():
        names = re.findall(r"{(\w+)}", path)
        assert [p["name"] for p in item.get("parameters", [])] == names
        assert all(p["in"] == "path" and p["required"] for p in item.get("parameters", []))


def test_request_bodies_come_from_the_validating_schemas(document):
    schemas = document["components"]["schemas"]
    create = schemas["CreateSession"]
    assert sorted(create["required"]) == ["courseId", "duration", "scheduledAt", "title"]
    assert create["additionalProperties"] is False
    assert create["properties"]["title"] == {"type": "string", "minLength": 3, "maxLength": 200}
    assert create["properties"]["courseId"] == {"type": "string", "format": "uuid"}
    assert (
        create["properties"]["duration"]["minimum"],
        create["properties"]["duration"]["maximum"],
    ) == (15, 480)
    assert create["properties"]["maxParticipants"]["default"] == 100
    assert create["properties"]["scheduledAt"]["format"] == "date-time"
    assert schemas["Status"]["properties"]["status"]["enum"] == [
        "scheduled",
        "live",
        "ended",
        "cancelled",
    ]
    body = operations(document)[("post", "/sessions")]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateSession"
    }
    query = operations(document)[("get", "/sessions")]["parameters"]
    names = ["page", "pageCount", "search", "status", "courseId", "instructorId", "from", "to"]
    assert [p["name"] for p in query] == names
    by_name = {p["name"]: p["schema"] for p in query}
    assert by_name["status"] == {
        "type": "string",
        "enum": ["scheduled", "live", "ended", "cancelled"],
    }
    assert by_name["from"]["format"] == by_name["to"]["format"] == "date-time"


def test_response_schemas_match_the_spec_shapes(document):
    schemas = document["components"]["schemas"]
    page = schemas["SessionPage"]
    assert list(page["properties"]) == PAGE_KEYS
    populated = schemas["PopulatedSession"]["properties"]
    assert populated["course"]["anyOf"][1] == {"type": "null"}
    by_course = operations(document)[("get", "/sessions/course/{courseId}")]
    schema = by_course["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"type": "array", "items": {"$ref": "#/components/schemas/CourseSession"}}


def test_responses_that_break_the_document_are_caught(client, db, auth, monkeypatch):
    """The validating test client is what makes every other test check its responses."""
    import livesessions.sessions.serialize as serialize

    doc = seed_session(db)
    real = serialize.session_json
    monkeypatch.setattr(serialize, "session_json", lambda *a: {**real(*a), "internal": True})
    with pytest.raises(AssertionError, match="Additional properties"):
        client.get(f"/sessions/{doc['_id']}", headers=auth)
    monkeypatch.setattr(serialize, "session_json", lambda *a: {**real(*a), "duration": "60"})
    with pytest.raises(AssertionError, match="is not of type 'integer'"):
        client.get(f"/sessions/{doc['_id']}", headers=auth)


def test_an_undocumented_status_is_caught(client, app, monkeypatch):
    from livesessions.errors import ApiError

    def teapot(*args):
        raise ApiError("short and stout", 418)

    monkeypatch.setattr(app.extensions["livesessions"].session_store, "by_field", teapot)
    with pytest.raises(AssertionError, match="does not list"):
        client.get("/sessions/course/x")


def test_swagger_ui_is_served_from_the_installed_package(client):
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "livesessions API" in html
    assert '"url": "/openapi.json"' in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources)
    for source in sources:
        with client.get(source if source.startswith("/") else f"/docs/{source}") as asset:
            assert asset.status_code == 200, source
            assert len(asset.data) > 100
    assert client.get("/docs").status_code in (200, 308)


NOT_FOUND = {"message": "Resource not found"}


@pytest.mark.parametrize("path", ["/docs", "/docs/", "/docs/swagger-ui.css", "/openapi.json"])
def test_production_serves_no_docs_by_default(production_app, path):
    response = production_app.test_client().get(path)
    assert (response.status_code, response.get_json()) == (404, NOT_FOUND)
    # the JSON answers' strict policy, not the docs page's
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_docs_can_be_switched_on_in_production(make_app):
    app = make_app(**PRODUCTION, DOCS_ENABLED="True")
    client = app.test_client()
    assert client.get("/openapi.json").get_json()["info"]["title"] == "livesessions"
    assert "swagger-ui" in client.get("/docs/").get_data(as_text=True)


def test_docs_can_be_switched_off_anywhere(make_app):
    client = make_app(DOCS_ENABLED="false").test_client()
    for path in ("/docs/", "/openapi.json"):
        response = client.get(path)
        assert (response.status_code, response.get_json()) == (404, NOT_FOUND), path
    assert client.get("/healthz").status_code == 200


def test_docs_enabled_is_true_or_false():
    from livesessions.config import ConfigError, load_config

    assert load_config({"DOCS_ENABLED": " FALSE "})["DOCS_ENABLED"] is False
    assert load_config({})["DOCS_ENABLED"] is True
    with pytest.raises(ConfigError) as error:
        load_config({"DOCS_ENABLED": "yes"})
    assert str(error.value) == "Invalid settings: DOCS_ENABLED must be true or false, got 'yes'"
