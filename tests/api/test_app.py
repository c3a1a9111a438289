"""The app shell: error shapes, limits, request ids, configuration and commands."""

import jwt as pyjwt
import pytest
from pymongo.errors import ServerSelectionTimeoutError

from livesessions.config import ConfigError, load_config
from livesessions.config_report import log_startup_report
from tests.support.app_config import JWT_SECRET
from tests.support.factories import seed_session


def test_unknown_route_is_a_json_404(client):
    response = client.get("/nope")
    assert (response.status_code, response.get_json()) == (404, {"message": "Resource not found"})


def test_wrong_method_is_a_json_405(client):
    response = client.patch("/sessions")
    assert (response.status_code, response.get_json()) == (405, {"message": "Method not allowed"})
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_too_large_body_is_a_json_413(make_app, daily, auth):
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    response = client.post("/sessions", json={"title": "x" * 2000}, headers=auth)
    assert (response.status_code, response.get_json()) == (
        413,
        {"message": "Request body is too large"},
    )


def test_non_json_content_type_is_a_json_415(client, auth, db):
    doc = seed_session(db)
    response = client.post(
        f"/sessions/{doc['_id']}/participants",
        data="studentId=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert (response.status_code, response.get_json()) == (
        415,
        {"message": "Content-Type must be application/json"},
    )
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == []


def test_an_empty_body_counts_as_an_empty_object(client, db):
    doc = seed_session(db)
    response = client.post(f"/sessions/{doc['_id']}/participants")
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": "Student ID is required"},
    )


def test_unexpected_errors_are_a_bare_500(client, app, auth, monkeypatch):
    store = app.extensions["livesessions"].session_store

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(store, "page", explode)
    response = client.get("/sessions", headers=auth)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Internal server error"},
    )
    assert b"passwd" not in response.data


def test_database_errors_are_database_query_failed(client, app, monkeypatch):
    store = app.extensions["livesessions"].session_store

    def down(*args, **kwargs):
        raise ServerSelectionTimeoutError("localhost:27017: [Errno 111] Connection refused")

    monkeypatch.setattr(store, "by_field", down)
    response = client.get("/sessions/course/abc")
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Database query failed"},
    )
    assert b"27017" not in response.data


def test_request_ids_are_echoed_or_generated(client):
    given = client.get("/sessions/course/x", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/sessions/course/x", headers={"X-Request-ID": "bad id\twith spaces"})
    assert len(generated.headers["X-Request-ID"]) == 32
    assert client.get("/nope").headers["X-Request-ID"]


def test_cors_allows_the_configured_origins(make_app):
    client = make_app(CORS_ORIGINS="https://app.example.com").test_client()
    allowed = client.get("/sessions/course/x", headers={"Origin": "https://app.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    other = client.get("/sessions/course/x", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_environment_aliases_of_the_node_service(monkeypatch):
    monkeypatch.setenv("MONGO_URI", "mongodb://db.internal:27017/platform")
    monkeypatch.setenv("JWT_SECRET", "node-secret")
    config = load_config()
    assert config["MONGODB_URI"] == "mongodb://db.internal:27017/platform"
    assert config["JWT_SECRET_KEY"] == "node-secret"
    assert config["JWT_SECRET_IS_GENERATED"] is False
    monkeypatch.setenv("MONGODB_URI", "mongodb://primary/db")
    assert load_config()["MONGODB_URI"] == "mongodb://primary/db"  # the main name wins


def test_overrides_beat_the_environment(monkeypatch):
    monkeypatch.setenv("PORT", "8000")
    assert load_config({"PORT": "9000"})["PORT"] == 9000
    assert load_config()["PORT"] == 8000
    assert load_config()["ADMIN_ROLES"] == ["admin"]


def test_production_names_every_missing_setting(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError) as error:
        load_config()
    assert str(error.value) == (
        "Invalid settings: CORS_ORIGINS is required in production; "
        "PROXY_HOPS is required in production; "
        "MONGODB_URI is required in production; JWT_SECRET_KEY is required in production; "
        "DAILY_API_KEY is required in production; "
        "DAILY_WEBHOOK_SECRET is required in production; CLOUD_NAME is required in production; "
        "CLOUD_API_KEY is required in production; CLOUD_API_SECRET is required in production"
    )


def test_production_refuses_the_embedded_store():
    with pytest.raises(ConfigError) as error:
        load_config(
            {
                "APP_ENV": "production",
                "JWT_SECRET_KEY": "s" * 40,
                "CORS_ORIGINS": "https://app.example.com",
                "DAILY_API_KEY": "k",
                "DAILY_WEBHOOK_SECRET": "c2VjcmV0",
                "CLOUD_NAME": "c",
                "CLOUD_API_KEY": "k",
                "CLOUD_API_SECRET": "s",
                "MONGODB_URI": "mongomock://localhost/x",
                "PROXY_HOPS": "0",  # given: 0 is a choice, unset is not
            }
        )
    assert str(error.value) == (
        "Invalid settings: MONGODB_URI must point at a real MongoDB in production"
    )


def test_malformed_numbers_in_settings_are_named():
    with pytest.raises(ConfigError) as error:
        load_config({"MONGODB_TIMEOUT_MS": "soon"})
    assert str(error.value) == "Invalid settings: MONGODB_TIMEOUT_MS must be a number, got 'soon'"


def test_a_missing_secret_is_generated_with_a_warning(make_app, caplog):
    app = make_app(JWT_SECRET_KEY=None)
    assert len(app.config["JWT_SECRET_KEY"]) >= 32
    log_startup_report(app.config)
    assert "JWT_SECRET_KEY is not set" in caplog.text


def test_token_command_mints_a_usable_token(app, client, db):
    doc = seed_session(db, instructor="cli-user")
    result = app.test_cli_runner().invoke(args=["token", "cli-user", "--role", "admin"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    claims = pyjwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["role"]) == ("cli-user", "admin")
    response = client.get(f"/sessions/{doc['_id']}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_token_command_is_refused_in_production(production_app):
    result = production_app.test_cli_runner().invoke(args=["token", "someone"])
    assert result.exit_code != 0
    assert "refusing" in result.output


def test_db_init_creates_the_indexes(app, db):
    db.livesessions.drop_indexes()
    result = app.test_cli_runner().invoke(args=["db", "init"])
    assert result.exit_code == 0, result.output
    indexes = db.livesessions.index_information()
    assert indexes["roomName_1"]["unique"] is True
    assert {
        "course_1_scheduledAt_1",
        "instructor_1_scheduledAt_1",
        "participants_1_scheduledAt_1",
        "status_1",
        "scheduledAt_1__id_1",
        "deletedAt_1_scheduledAt_1__id_1",
        "deletedAt_1_status_1_scheduledAt_1__id_1",
    } <= set(indexes)
    assert "session_1_joinedAt_1" in db.attendance.index_information()
    again = app.test_cli_runner().invoke(args=["db", "init"])
    assert again.exit_code == 0


def test_room_names_are_unique_in_the_database(db, app):
    from pymongo.errors import DuplicateKeyError

    seed_session(db, roomName="taken")
    with pytest.raises(DuplicateKeyError):
        seed_session(db, roomName="taken")


def test_the_default_body_limit_is_one_mebibyte(client, auth, daily, db):
    assert client.application.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    big = {"title": "x" * (1024 * 1024)}
    response = client.post("/sessions", json=big, headers=auth)
    assert (response.status_code, response.get_json()) == (
        413,
        {"message": "Request body is too large"},
    )
    webhook = client.post("/sessions/webhook/daily", json={"type": "x", "pad": "y" * 2**20})
    assert webhook.status_code == 413
    assert daily.calls() == []
    assert db.livesessions.count_documents({}) == 0
