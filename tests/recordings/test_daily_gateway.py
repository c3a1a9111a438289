"""The Daily.co gateway on its own: naming, retries, error mapping."""

import pytest
import requests
import responses

from livesessions.gateways.daily import DailyClient, DailyError, room_name, slugify
from tests.support.fake_daily import DAILY_URL, ROOMS_URL


@pytest.fixture
def client():
    return DailyClient(DAILY_URL, "key", timeout=2, backoff=0)


def test_slugs_keep_only_what_daily_allows():
    assert slugify("  Hello, World!  ") == "hello-world"
    assert slugify("Ünïcödé Tëst") == "unicode-test"
    assert slugify("---") == "session"
    assert room_name("A" * 300, 1703500800000) == "a" * 114 + "-1703500800000"
    assert room_name("ab-" + "-" * 200, 1) == "ab-1"


@responses.activate
def test_retry_after_is_honoured_but_capped(client):
    slept = []
    client.sleep = slept.append
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", status=429, headers={"Retry-After": "2"})
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", status=429, headers={"Retry-After": "999"})
    with pytest.raises(DailyError) as error:
        client.delete_room("r")
    assert error.value.status == 429
    assert slept == [2.0]
    assert len(responses.calls) == 2


@responses.activate
def test_a_huge_retry_after_is_capped(client):
    slept = []
    client.sleep = slept.append
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", status=503, headers={"Retry-After": "3600"})
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True, "name": "r"})
    client.delete_room("r")
    assert slept == [5.0]


@responses.activate
def test_errors_carry_dailys_type_and_never_the_key(client):
    responses.add(
        responses.POST,
        f"{ROOMS_URL}/r",
        status=400,
        json={"error": "invalid-request-error", "info": "exp must be in the future"},
    )
    with pytest.raises(DailyError) as error:
        client.update_room_exp("r", 1)
    assert (error.value.status, error.value.error_type) == (400, "invalid-request-error")
    assert "key" not in str(error.value)
    assert len(responses.calls) == 1  # a 4xx is not retried


@responses.activate
def test_a_non_json_success_is_an_error(client):
    responses.add(responses.POST, ROOMS_URL, body="<html>proxy</html>", status=200)
    with pytest.raises(DailyError, match="not JSON"):
        client.create_room("t", exp=1, max_participants=1)


@responses.activate
def test_a_name_that_stays_taken_gives_up(client):
    responses.add(
        responses.POST,
        ROOMS_URL,
        status=400,
        json={"error": "invalid-request-error", "info": "a room named x already exists"},
    )
    with pytest.raises(DailyError, match="still taken"):
        client.create_room("t", exp=1, max_participants=1)
    assert len(responses.calls) == 3


@responses.activate
def test_every_call_has_a_timeout(client, monkeypatch):
    seen = []
    real = requests.Session.request

    def spy(self, method, url, **kwargs):
        seen.append(kwargs.get("timeout"))
        return real(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True})
    client.delete_room("r")
    assert seen == [(3.05, 2)]
