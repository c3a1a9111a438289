"""The Daily.co gateway on its own: naming, retries, error mapping."""

import threading

import pytest
import requests
import responses

from livesessions.daily.breaker import CircuitBreaker
from livesessions.daily.client import DailyClient, DailyError
from livesessions.daily.names import room_name, slugify
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
    client.sleep = client.pacer.sleep = slept.append  # the retry's turn is 2 s away
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", status=429, headers={"Retry-After": "2"})
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", status=429, headers={"Retry-After": "999"})
    with pytest.raises(DailyError) as error:
        client.delete_room("r")
    assert error.value.status == 429
    assert slept == [pytest.approx(2.0, abs=0.05)]
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


RECORDING = "0f3c9a52-6d7e-4b8a-9c1d-2e3f4a5b6c7d"


@responses.activate
def test_get_recording_returns_dailys_object(client):
    recording = {"id": RECORDING, "room_name": "r", "start_ts": 1, "status": "in-progress"}
    responses.add(responses.GET, f"{DAILY_URL}/recordings/{RECORDING}", json=recording)
    assert client.get_recording(RECORDING) == recording
    (call,) = responses.calls
    assert call.request.headers["Authorization"] == "Bearer key"


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (404, {"error": "not-found", "info": "no such recording"}, "404 not-found"),
        (200, ["not", "an", "object"], "not an object"),
    ],
)
def test_get_recording_failures_are_daily_errors(client, status, body, expected):
    responses.add(responses.GET, f"{DAILY_URL}/recordings/x%2Fy", status=status, json=body)
    with pytest.raises(DailyError, match=expected):
        client.get_recording("x/y")  # quoted: an id can't reach another path


@responses.activate
def test_stop_recording_without_an_instance_sends_no_body(client):
    responses.add(responses.POST, f"{ROOMS_URL}/r/recordings/stop", json={"status": "sent"})
    client.stop_recording("r")  # the default instance: a recording started from Daily's UI
    client.stop_recording("r", "our-instance")
    default, ours = responses.calls
    assert default.request.body is None
    assert "Content-Type" not in default.request.headers
    assert ours.request.body == b'{"instanceId": "our-instance"}'


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


# -- a failing or hanging Daily.co: the breaker and the share of threads -------------------


def failing_client(**options):
    return DailyClient(DAILY_URL, "key", timeout=2, backoff=0, **options)


@responses.activate
def test_the_breaker_opens_after_outages_and_fails_fast():
    client = failing_client(breaker_failures=3, breaker_reset_seconds=60)
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", body=requests.ConnectionError("down"))
    for _ in range(3):
        with pytest.raises(DailyError, match="unreachable"):
            client.delete_room("r")
    assert len(responses.calls) == 6  # three calls, each retried once
    with pytest.raises(DailyError, match="calls are paused"):
        client.delete_room("r")
    assert len(responses.calls) == 6  # open: Daily was not asked


@responses.activate
def test_the_breaker_closes_again_once_daily_answers():
    clock = [100.0]  # the breaker's monotonic time: it moves only when the test says
    client = failing_client(
        breaker_failures=1, breaker_reset_seconds=30, monotonic=lambda: clock[0]
    )
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", status=503)
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", status=503)
    with pytest.raises(DailyError, match="503"):
        client.delete_room("r")
    with pytest.raises(DailyError, match="paused"):
        client.delete_room("r")
    clock[0] += 30  # the reset time passes: one trial call goes through
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True, "name": "r"})
    client.delete_room("r")
    assert client.breaker.state == "closed"


@responses.activate
def test_refusals_and_rate_limits_are_not_outages():
    client = failing_client(breaker_failures=2)
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", status=400, json={"error": "bad"})
    for _ in range(4):
        with pytest.raises(DailyError, match="400"):
            client.delete_room("r")
    assert client.breaker.state == "closed"


def test_one_process_waits_on_daily_with_at_most_its_share_of_threads():
    """While one call hangs, the next fails after its short wait instead of hanging too:
    shown by the first still hanging when the second has failed, not by a timing."""
    client = failing_client(max_concurrent=1, queue_seconds=0.05)
    entered, release, hung = threading.Event(), threading.Event(), []

    def hang(request):
        hung.append(request.url)
        entered.set()
        release.wait(60)  # released by the test; the bound only ends a failed run
        return 200, {}, '{"deleted": true, "name": "r"}'

    with responses.RequestsMock() as mock:
        mock.add_callback(responses.DELETE, f"{ROOMS_URL}/r", callback=hang)
        first = threading.Thread(target=client.delete_room, args=("r",))
        first.start()
        assert entered.wait(5)
        with pytest.raises(DailyError, match="in flight"):
            client.delete_room("r")
        assert first.is_alive()  # the second call did not wait for the first to end
        assert len(hung) == 1  # nor reach Daily
        release.set()
        first.join()
    assert client.breaker.state == "closed"  # a busy queue is no outage


@responses.activate
def test_a_call_keeps_its_turn_through_its_retry():
    """Another call that comes during the backoff gets no turn: the retry runs, and the
    breaker counts the outage. (A retry that queued again lost its turn to the calls
    waiting, so under load the breaker never opened on a hanging Daily.)"""
    others = []

    def backoff(seconds):  # another call comes in while the first waits to retry
        if not others:
            others.append(None)
            other = threading.Thread(target=lambda: others.append(outcome(client.delete_room)))
            other.start()
            other.join()

    client = DailyClient(
        DAILY_URL, "key", sleep=backoff, max_concurrent=1, queue_seconds=0.05, breaker_failures=1
    )
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", body=requests.ConnectionError("down"))
    with pytest.raises(DailyError, match="unreachable"):
        client.delete_room("r")
    assert "in flight" in others[1]
    assert len(responses.calls) == 2  # the first call's two attempts, nothing of the other's
    assert client.breaker.state == "open"


def outcome(call):
    try:
        call("r")
    except DailyError as error:
        return str(error)
    return "answered"


def test_the_breaker_lets_one_trial_through_when_half_open():
    clock = [100.0]
    breaker = CircuitBreaker(failures=2, reset_seconds=10, monotonic=lambda: clock[0])
    breaker.failed()
    assert (breaker.state, breaker.allow()) == ("closed", True)  # one outage is not a run
    breaker.succeeded()
    breaker.failed()
    assert breaker.state == "closed"  # a success in between restarted the count
    breaker.failed()
    assert (breaker.state, breaker.allow()) == ("open", False)
    clock[0] += 10
    assert breaker.allow() is True  # the trial
    assert breaker.state == "half-open"
    assert breaker.allow() is False  # nobody else while the trial is out
    breaker.failed()
    assert (breaker.state, breaker.allow()) == ("open", False)  # reopened for 10 s more
    clock[0] += 10
    assert breaker.allow() is True
    breaker.gave_up()  # the trial never reached the service: the next call is one
    assert breaker.allow() is True
    breaker.succeeded()
    assert (breaker.state, breaker.allow()) == ("closed", True)
