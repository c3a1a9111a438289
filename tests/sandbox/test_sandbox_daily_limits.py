"""The Daily.co sandbox's rate limits (Daily's documented ones), over real loopback HTTP, on
an injected rate clock."""

from collections import Counter

import pytest

from livesessions.sandbox import DailySandbox
from livesessions.sandbox.daily import RATE_LIMITS
from livesessions.sandbox.daily.limits import family
from tests.support.sandbox import sandbox_api

REFUSED = {"error": "rate-limit-error"}


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def limited(make_sandbox, clock):
    """A sandbox with its rate limits on, on `clock`."""
    return make_sandbox(rate_limits=True, rate_clock=clock)


def domain(sandbox):
    """One standard call: `GET /v1/`."""
    return sandbox_api(sandbox, "GET", "/")


def passes(answer):
    assert answer.status_code == 200, answer.text
    return answer.json()


def is_refused(answer, family_name):
    limit, seconds = RATE_LIMITS[family_name]
    assert (answer.status_code, answer.json()) == (
        429,
        REFUSED
        | {"info": f"too many requests: at most {limit} {family_name} calls per {seconds} s"},
    )
    assert "Retry-After" not in answer.headers  # Daily documents none
    return True


def standard_calls(sandbox, count):
    for _ in range(count):
        assert passes(domain(sandbox))["domain_id"] == sandbox.domain_id


def test_the_table_is_dailys():
    assert RATE_LIMITS == {"standard": (100, 5), "slow": (50, 30), "recording-start": (5, 5)}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("DELETE", "/rooms/lesson", "slow"),
        ("DELETE", "//rooms//lesson/", "slow"),  # tidied as the dispatch tidies it
        ("GET", "/recordings", "slow"),
        ("GET", "/recordings/", "slow"),
        ("GET", "/recordings/some-id", "standard"),
        ("GET", "/recordings/some-id/access-link", "standard"),
        ("POST", "/rooms/lesson/recordings/start", "recording-start"),
        ("POST", "/rooms/lesson/recordings/stop", "standard"),
        ("POST", "/rooms", "standard"),
        ("GET", "/rooms/lesson", "standard"),
        ("POST", "/rooms/lesson", "standard"),
        ("DELETE", "/rooms", "standard"),
        ("DELETE", "/webhooks/some-id", "standard"),
        ("POST", "/meeting-tokens", "standard"),
        ("GET", "/", "standard"),
        ("GET", "/nope", "standard"),
    ],
)
def test_the_family_of_each_call(method, path, expected):
    assert family(method, path) == expected


def test_standard_calls_pass_up_to_the_limit_then_are_429(limited):
    standard_calls(limited, 100)
    assert is_refused(domain(limited), "standard")
    assert is_refused(sandbox_api(limited, "POST", "/rooms", json={"name": "late"}), "standard")
    assert "late" not in limited.rooms  # refused before anything was done
    # The other families have windows of their own.
    assert passes(sandbox_api(limited, "GET", "/recordings")) == {"total_count": 0, "data": []}
    limited.create_room({"name": "lesson"})
    start = sandbox_api(limited, "POST", "/rooms/lesson/recordings/start")
    assert passes(start) == {"status": "sent"}


def test_slow_calls_pass_up_to_the_limit_then_are_429(limited):
    for index in range(51):
        limited.create_room({"name": f"room-{index}"})
    for index in range(49):
        deleted = sandbox_api(limited, "DELETE", f"/rooms/room-{index}")
        assert passes(deleted) == {"deleted": True, "name": f"room-{index}"}
    # The list of recordings shares the window (one recording or its link do not).
    assert passes(sandbox_api(limited, "GET", "/recordings")) == {"total_count": 0, "data": []}
    assert is_refused(sandbox_api(limited, "DELETE", "/rooms/room-49"), "slow")
    assert is_refused(sandbox_api(limited, "GET", "/recordings"), "slow")
    assert set(limited.rooms) == {"room-49", "room-50"}
    assert passes(sandbox_api(limited, "GET", "/rooms/room-49"))["name"] == "room-49"
    one = sandbox_api(limited, "GET", "/recordings/some-id")
    assert (one.status_code, one.json()["error"]) == (404, "not-found")
    assert passes(sandbox_api(limited, "POST", "/rooms/room-49/recordings/start"))
    assert limited.api_calls == Counter({"slow": 52, "standard": 2, "recording-start": 1})
    assert limited.rate_limited == Counter({"slow": 2})


def test_recording_starts_pass_up_to_the_limit_then_are_429(limited):
    for index in range(6):
        limited.create_room({"name": f"room-{index}"})
    for index in range(5):
        start = sandbox_api(limited, "POST", f"/rooms/room-{index}/recordings/start")
        assert passes(start) == {"status": "sent"}
    assert is_refused(
        sandbox_api(limited, "POST", "/rooms/room-5/recordings/start"), "recording-start"
    )
    assert [recording["room_name"] for recording in limited.recordings.values()] == [
        f"room-{index}" for index in range(5)
    ]  # the refused start started nothing
    stop = sandbox_api(limited, "POST", "/rooms/room-0/recordings/stop")  # a standard call
    assert passes(stop) == {"status": "sent"}
    assert passes(sandbox_api(limited, "DELETE", "/rooms/room-5")) == {
        "deleted": True,
        "name": "room-5",
    }


def test_the_window_slides_only_the_old_arrivals_expire(limited, clock):
    standard_calls(limited, 60)
    clock.now += 3
    standard_calls(limited, 40)
    assert is_refused(domain(limited), "standard")
    clock.now += 1.999  # 4.999 s after the first 60
    assert is_refused(domain(limited), "standard")
    clock.now += 0.001  # 5 s: the first 60 are out of the window, the 40 still in
    standard_calls(limited, 60)
    assert is_refused(domain(limited), "standard")
    clock.now += 3  # the 40 are out, the 60 still in
    standard_calls(limited, 40)
    assert is_refused(domain(limited), "standard")


def test_refused_calls_and_bad_keys_do_not_count(limited, clock):
    for _ in range(120):  # refused for the key: never reach the limits
        keyless = sandbox_api(limited, "GET", "/", headers={})
        assert (keyless.status_code, keyless.json()["error"]) == (401, "authentication-error")
    standard_calls(limited, 100)
    clock.now += 2
    for _ in range(30):
        assert is_refused(domain(limited), "standard")
    clock.now += 3  # the 100 accepted are out; the 30 refused never were in
    standard_calls(limited, 100)
    assert is_refused(domain(limited), "standard")
    assert limited.api_calls == Counter({"standard": 231})
    assert limited.rate_limited == Counter({"standard": 31})


def test_the_windows_run_on_the_rate_clock_not_the_sandbox_clock(limited):
    standard_calls(limited, 100)
    limited.clock = lambda: 4_000_000_000  # the clock of exp and nbf
    assert is_refused(domain(limited), "standard")


def test_limits_are_on_by_default_and_can_be_switched(make_sandbox, clock):
    default = DailySandbox()
    try:
        assert default.rate_limits is True
    finally:
        default.stop()

    sandbox = make_sandbox(rate_clock=clock)  # the fixture's default: off
    assert sandbox.rate_limits is False
    standard_calls(sandbox, 150)
    assert sandbox.api_calls == Counter({"standard": 150})  # counted all the same
    sandbox.rate_limits = True  # the calls made while off left the window empty
    standard_calls(sandbox, 100)
    assert is_refused(domain(sandbox), "standard")
    sandbox.rate_limits = False
    standard_calls(sandbox, 10)
    assert sandbox.api_calls == Counter({"standard": 261})
    assert sandbox.rate_limited == Counter({"standard": 1})


def test_reset_empties_the_windows_not_the_counters(limited):
    limited.create_room({"name": "lesson"})
    for _ in range(5):
        passes(sandbox_api(limited, "POST", "/rooms/lesson/recordings/start"))
        passes(sandbox_api(limited, "POST", "/rooms/lesson/recordings/stop"))
    assert is_refused(
        sandbox_api(limited, "POST", "/rooms/lesson/recordings/start"), "recording-start"
    )
    standard_calls(limited, 95)
    assert is_refused(domain(limited), "standard")
    limited.reset_rate_limits()
    assert passes(sandbox_api(limited, "POST", "/rooms/lesson/recordings/start")) == {
        "status": "sent"
    }
    standard_calls(limited, 100)
    assert limited.api_calls == Counter({"standard": 201, "recording-start": 7})
    assert limited.rate_limited == Counter({"standard": 1, "recording-start": 1})


def test_the_list_countdown_still_works_under_the_limits(limited):
    limited.rate_limit_list = 2
    for _ in range(2):
        answer = sandbox_api(limited, "GET", "/recordings")
        assert (answer.status_code, answer.json()) == (
            429,
            REFUSED | {"info": "too many requests: back off and retry"},
        )
    assert passes(sandbox_api(limited, "GET", "/recordings")) == {"total_count": 0, "data": []}
    # The countdown's 429s are the endpoint's, not the limits': they count as accepted.
    assert limited.api_calls == Counter({"slow": 3})
    assert limited.rate_limited == Counter()
