"""Settings checked at start-up: every problem named in one line, production held strict."""

import socket

import dns.resolver
import pytest

from livesessions.config import ConfigError, load_config
from livesessions.config_report import startup_warnings
from tests.support.app_config import PRODUCTION


def problems(**settings):
    """The one line load_config refuses `settings` with."""
    with pytest.raises(ConfigError) as error:
        load_config(settings)
    line = str(error.value)
    assert "\n" not in line
    return line


def test_a_production_with_every_setting_right_starts():
    config = load_config(PRODUCTION)
    assert config["APP_ENV"] == "production"
    assert config["CORS_ORIGINS"] == ["https://app.example.com", "https://admin.example.com"]
    assert config["JWT_SECRET_IS_GENERATED"] is False


def test_every_problem_of_the_red_team_production_is_named_in_one_line():
    line = problems(
        **{
            **PRODUCTION,
            "JWT_SECRET_KEY": "x",
            "DAILY_WEBHOOK_SECRET": None,
            "CORS_ORIGINS": "*",
            "LOG_LEVEL": "verbose",
            "MONGODB_URI": "not-a-uri",
            "DAILY_API_URL": "http://api.daily.co/v1",
        }
    )
    assert line == (
        "Invalid settings: "
        "LOG_LEVEL must be DEBUG or INFO or WARNING or ERROR or CRITICAL, got 'verbose'; "
        "CORS_ORIGINS must list the allowed origins in production, not *; "
        "MONGODB_URI must start with mongodb://, mongodb+srv:// or mongomock://; "
        "JWT_SECRET_KEY must be at least 32 bytes in production; "
        "DAILY_API_URL must be an https:// URL in production; "
        "DAILY_WEBHOOK_SECRET is required in production"
    )


@pytest.mark.parametrize("given", ["production", "Production", " PRODUCTION"])
def test_app_env_is_read_whatever_its_case(given):
    """`Production` ran as development before: token minting and the embedded store allowed."""
    assert load_config({**PRODUCTION, "APP_ENV": given})["APP_ENV"] == "production"
    line = problems(APP_ENV=given, MONGODB_URI="mongomock://localhost/x")
    assert "MONGODB_URI must point at a real MongoDB in production" in line


def test_an_app_env_of_production_in_capitals_refuses_to_mint_tokens(make_app):
    app = make_app(**{**PRODUCTION, "APP_ENV": "Production"})
    result = app.test_cli_runner().invoke(args=["token", "someone"])
    assert result.exit_code != 0
    assert "refusing to mint tokens when APP_ENV=production" in result.output


@pytest.mark.parametrize("given", ["prod", "staging", "dev"])
def test_an_unknown_app_env_refuses_to_start(given):
    assert problems(APP_ENV=given) == (
        f"Invalid settings: APP_ENV must be development or test or production, got {given!r}"
    )


def test_the_test_env_is_not_production():
    config = load_config({"APP_ENV": "Test"})
    assert config["APP_ENV"] == "test"


def test_log_level_and_format_are_read_whatever_their_case():
    config = load_config({"LOG_LEVEL": "debug", "LOG_FORMAT": "Text"})
    assert (config["LOG_LEVEL"], config["LOG_FORMAT"]) == ("DEBUG", "text")
    assert problems(LOG_LEVEL="verbose", LOG_FORMAT="yaml") == (
        "Invalid settings: "
        "LOG_LEVEL must be DEBUG or INFO or WARNING or ERROR or CRITICAL, got 'verbose'; "
        "LOG_FORMAT must be json or text, got 'yaml'"
    )


def test_the_other_word_settings_are_read_whatever_their_case():
    config = load_config({"AUTH_POLICY": "Strict", "DAILY_ROOM_PRIVACY": "PRIVATE"})
    assert (config["AUTH_POLICY"], config["DAILY_ROOM_PRIVACY"]) == ("strict", "private")


@pytest.mark.parametrize("app_env", ["development", "production"])
@pytest.mark.parametrize("secret", ["not base64!", "abc", "===="])
def test_a_webhook_secret_that_is_not_base64_is_refused_in_every_env(app_env, secret):
    """Every signed event would otherwise fail its check with a 401."""
    settings = PRODUCTION if app_env == "production" else {}
    line = problems(**{**settings, "DAILY_WEBHOOK_SECRET": secret})
    assert line == "Invalid settings: DAILY_WEBHOOK_SECRET must be base64, as Daily gives it"


@pytest.mark.parametrize(
    "uri",
    [
        "not-a-uri",
        "postgres://db.internal/x",
        "http://db.internal:27017",
    ],
)
def test_a_mongodb_uri_of_another_scheme_is_named(uri):
    assert problems(MONGODB_URI=uri) == (
        "Invalid settings: MONGODB_URI must start with mongodb://, mongodb+srv:// or mongomock://"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://",
        "mongodb://db.internal:port/x",
        "mongodb://user:p@ss@db.internal/x",
        "mongodb://db.internal/x?notAnOption=1",
        "mongodb://db.internal/x?tls=maybe",
        "mongodb+srv://a.example.net,b.example.net/x",
        "mongodb+srv://cluster0.example.net:27017/x",
    ],
)
def test_a_malformed_mongodb_uri_is_named_without_its_value(uri):
    line = problems(MONGODB_URI=uri, LOG_LEVEL="loud")
    assert line == (
        "Invalid settings: LOG_LEVEL must be DEBUG or INFO or WARNING or ERROR or CRITICAL, "
        "got 'loud'; MONGODB_URI is not a valid MongoDB URI "
        "(check it with pymongo.uri_parser.parse_uri)"
    )
    assert "p@ss" not in line


@pytest.fixture
def no_network(monkeypatch):
    """Any DNS lookup or connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access while checking the settings")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(dns.resolver.Resolver, "resolve", refuse)
    monkeypatch.setattr(dns.resolver, "resolve", refuse)


@pytest.mark.parametrize(
    "uri",
    [
        "mongodb://user:pa%40ss@db1.internal:27017,db2.internal:27017/platform?replicaSet=rs0",
        "mongodb+srv://user:secret@cluster0.example.net/platform?retryWrites=true&w=majority",
        "mongomock://localhost/livesessions",
    ],
)
def test_valid_mongodb_uris_are_checked_without_the_network(no_network, uri):
    assert load_config({"MONGODB_URI": uri})["MONGODB_URI"] == uri


def test_pymongo_parse_uri_would_have_looked_the_srv_records_up(no_network):
    """Why the mongodb+srv:// check is not parse_uri itself (and that `no_network` bites)."""
    from pymongo.errors import ConfigurationError
    from pymongo.uri_parser import parse_uri

    with pytest.raises(ConfigurationError, match="network access while checking"):
        parse_uri("mongodb+srv://cluster0.example.net/platform")


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("CORS_ORIGINS", "*", "CORS_ORIGINS must list the allowed origins in production, not *"),
        (
            "CORS_ORIGINS",
            "https://app.example.com,*",
            "CORS_ORIGINS must list the allowed origins in production, not *",
        ),
        ("CORS_ORIGINS", None, "CORS_ORIGINS is required in production"),
        ("DAILY_API_URL", "http://api.daily.co/v1", "DAILY_API_URL must be an https:// URL"),
        ("DAILY_API_URL", "https:///v1", "DAILY_API_URL must be an https:// URL"),
        ("JWT_SECRET_KEY", "s" * 31, "JWT_SECRET_KEY must be at least 32 bytes in production"),
        ("JWT_SECRET_KEY", None, "JWT_SECRET_KEY is required in production"),
        ("DAILY_WEBHOOK_SECRET", None, "DAILY_WEBHOOK_SECRET is required in production"),
        # unset is refused (every client behind the PaaS router in one rate-limit bucket)
        ("PROXY_HOPS", None, "PROXY_HOPS is required in production"),
    ],
)
def test_production_refuses_what_would_run_unprotected(setting, value, problem):
    assert problems(**{**PRODUCTION, setting: value}).startswith(f"Invalid settings: {problem}")


def test_a_multibyte_secret_is_measured_in_bytes():
    assert load_config({**PRODUCTION, "JWT_SECRET_KEY": "é" * 16})["JWT_SECRET_KEY"] == "é" * 16


def test_outside_production_the_development_conveniences_remain():
    config = load_config({"JWT_SECRET_KEY": "short", "DAILY_API_URL": "http://127.0.0.1:7001"})
    assert config["CORS_ORIGINS"] == ["*"]
    assert config["JWT_SECRET_KEY"] == "short"
    assert config["MONGODB_URI"].startswith("mongomock://")


@pytest.mark.parametrize("value", ["0", "-2"])
@pytest.mark.parametrize(
    "name",
    [
        "WORKER_UPLOAD_CONCURRENCY",
        "WORKER_ROOM_DELETION_CONCURRENCY",
        "WORKER_WEBHOOK_CONCURRENCY",
        "RECORDING_MAX_ATTEMPTS",
        "DAILY_MAX_CONCURRENT_CALLS",
    ],
)
def test_a_count_that_cannot_work_at_zero_is_refused(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert problems() == f"Invalid settings: {name} must be at least 1, got {value}"


def test_the_worker_gets_its_job_slots_of_each_kind_from_the_settings(make_app):
    defaults = load_config()
    assert [
        defaults[f"WORKER_{kind}_CONCURRENCY"] for kind in ("UPLOAD", "ROOM_DELETION", "WEBHOOK")
    ] == [2, 1, 4]
    app = make_app(
        WORKER_UPLOAD_CONCURRENCY="3",
        WORKER_ROOM_DELETION_CONCURRENCY="2",
        WORKER_WEBHOOK_CONCURRENCY="5",
    )
    worker = app.extensions["livesessions"].make_worker()
    assert worker.slots == {"upload": 3, "room-deletion": 2, "webhook": 5}


def test_the_former_count_of_all_slots_now_counts_the_upload_slots(monkeypatch, make_app):
    """RECORDING_WORKER_CONCURRENCY, set before the kinds had slots of their own, still
    sets the upload slots (the other kinds get their own defaults on top)."""
    monkeypatch.setenv("RECORDING_WORKER_CONCURRENCY", "3")
    assert load_config()["WORKER_UPLOAD_CONCURRENCY"] == 3
    worker = make_app().extensions["livesessions"].make_worker()
    assert worker.slots == {"upload": 3, "room-deletion": 1, "webhook": 4}
    monkeypatch.setenv("RECORDING_WORKER_CONCURRENCY", "0")
    assert problems() == "Invalid settings: WORKER_UPLOAD_CONCURRENCY must be at least 1, got 0"
    monkeypatch.setenv("WORKER_UPLOAD_CONCURRENCY", "5")  # the new name wins
    assert load_config()["WORKER_UPLOAD_CONCURRENCY"] == 5


def test_the_webhook_deadline_keeps_the_old_name_and_stays_inside_the_lease(monkeypatch, make_app):
    monkeypatch.setenv("WEBHOOKS_TIMEOUT_SECONDS", "7")  # the name before the deadline's
    assert load_config()["WEBHOOKS_DEADLINE_SECONDS"] == 7.0
    app = make_app(RECORDING_LEASE_SECONDS="6", WEBHOOKS_DEADLINE_SECONDS="5")
    assert app.extensions["livesessions"].webhook_delivery.deadline_seconds == 3.0
    assert any("cut off at 3.0 s" in warning for warning in startup_warnings(app.config))
    monkeypatch.setenv("WEBHOOKS_DEADLINE_SECONDS", "0")
    assert problems() == "Invalid settings: WEBHOOKS_DEADLINE_SECONDS must be more than 0, got 0.0"
