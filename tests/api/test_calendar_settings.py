"""CALENDAR_FEED_SECRET and JOIN_PAGE_URL: checked at start-up, the secret never shown."""

import logging

import pytest

from livesessions.config import ConfigError, load_config
from livesessions.config_report import log_startup_report, settings_summary
from tests.support.app_config import PRODUCTION

FEED_SECRET = "calendar-feed-secret-" + "0123456789abcdef" * 2  # 53 characters


def problems(**settings):
    with pytest.raises(ConfigError) as error:
        load_config(settings)
    return str(error.value)


def test_both_are_unset_by_default():
    config = load_config()
    assert config["CALENDAR_FEED_SECRET"] is None
    assert config["JOIN_PAGE_URL"] is None


def test_the_secret_is_masked_in_the_settings_summary():
    config = load_config({"CALENDAR_FEED_SECRET": FEED_SECRET})
    summary = settings_summary(config)
    assert FEED_SECRET not in summary
    assert "CALENDAR_FEED_SECRET=set" in summary.split("; ")
    assert "CALENDAR_FEED_SECRET=unset" in settings_summary(load_config()).split("; ")


def test_the_start_up_line_does_not_log_the_secret(make_app, caplog):
    caplog.set_level(logging.INFO)
    app = make_app(
        LOG_LEVEL="INFO",
        CALENDAR_FEED_SECRET=FEED_SECRET,
        JOIN_PAGE_URL="https://lms.example/{sessionId}",
    )
    log_startup_report(app.config)
    assert "CALENDAR_FEED_SECRET=set" in caplog.text
    assert "JOIN_PAGE_URL=https://lms.example/{sessionId}" in caplog.text
    assert FEED_SECRET not in caplog.text


@pytest.mark.parametrize(
    "template",
    [
        "https://lms.example/live/{sessionId}",
        "http://127.0.0.1:3000/live?session={sessionId}",
        "https://lms.example/courses/live/{sessionId}/join",
    ],
)
def test_a_join_page_template_with_the_placeholder_is_taken(template):
    assert load_config({"JOIN_PAGE_URL": template})["JOIN_PAGE_URL"] == template


@pytest.mark.parametrize(
    "template",
    [
        "https://lms.example/live/",  # no placeholder
        "https://lms.example/live/{id}",
        "lms.example/live/{sessionId}",  # no scheme
        "ftp://lms.example/{sessionId}",
        "https:///live/{sessionId}",  # no host
        "{sessionId}",
    ],
)
def test_a_join_page_template_that_cannot_work_is_refused_in_every_env(template):
    assert problems(JOIN_PAGE_URL=template) == (
        "Invalid settings: JOIN_PAGE_URL must be an http:// or https:// URL containing {sessionId}"
    )


def test_production_wants_an_https_join_page():
    line = problems(**PRODUCTION, JOIN_PAGE_URL="http://lms.example/live/{sessionId}")
    assert line == "Invalid settings: JOIN_PAGE_URL must be an https:// URL in production"
    config = load_config({**PRODUCTION, "JOIN_PAGE_URL": "https://lms.example/live/{sessionId}"})
    assert config["JOIN_PAGE_URL"] == "https://lms.example/live/{sessionId}"


def test_production_wants_a_secret_of_at_least_32_characters():
    line = problems(**PRODUCTION, CALENDAR_FEED_SECRET="s" * 31)
    assert line == (
        "Invalid settings: CALENDAR_FEED_SECRET must be at least 32 characters in production"
    )
    assert load_config({**PRODUCTION, "CALENDAR_FEED_SECRET": "s" * 32})


def test_production_runs_without_the_feed():
    """The secret is optional: unset, the student feed answers 404."""
    assert load_config(PRODUCTION)["CALENDAR_FEED_SECRET"] is None


def test_outside_production_a_short_secret_is_taken():
    assert load_config({"CALENDAR_FEED_SECRET": "short"})["CALENDAR_FEED_SECRET"] == "short"


def test_the_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("CALENDAR_FEED_SECRET", FEED_SECRET)
    monkeypatch.setenv("JOIN_PAGE_URL", "https://lms.example/live/{sessionId}")
    config = load_config()
    assert config["CALENDAR_FEED_SECRET"] == FEED_SECRET
    assert config["JOIN_PAGE_URL"] == "https://lms.example/live/{sessionId}"
