"""The Daily.co sandbox's rate limits (Daily's documented ones), over real loopback HTTP, on
an injected rate clock."""

from collections import Counter

import pytest

from devtools.sandbox import DailySandbox
from devtools.sandbox.daily import RATE_LIMITS
from devtools.sandbox.daily.limits import family
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


def is_refused(answer, family_name, which=0):
    """A 429 for the family's per-second limit (`which` 0) or its longer window (1)."""
    limit, seconds = RATE_LIMITS[family_name][which]
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


def paced_standard_calls(sandbox, clock, seconds):
    """20 standard calls (Daily's rate per second) at each of `seconds` seconds running."""
    for _ in range(seconds):
        standard_calls(sandbox, 20)
        clock.now += 1


def test_the_table_is_dailys():
    assert RATE_LIMITS == {
        "standard": ((20, 1), (100, 5)),
        "slow": ((2, 1), (50, 30)),
        "recording-start": ((1, 1), (5, 5)),
    }


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


def test_standard_calls_pass_up_to_the_rate_then_are_429(limited, clock):
    standard_calls(limited, 20)
    assert is_refused(domain(limited), "standard")
    assert is_refused(sandbox_api(limited, "POST", "/rooms", json={"name": "late"}), "standard")
    assert "late" not in limited.rooms  # refused before anything was done
    # The other families have windows of their own.
    assert passes(sandbox_api(limited, "GET", "/recordings")) == {"total_count": 0, "data": []}
    limited.create_room({"name": "lesson"})
    start = sandbox_api(limited, "POST", "/rooms/lesson/recordings/start")
    assert passes(start) == {"status": "sent"}
    clock.now += 1  # the next second: 20 more
    standard_calls(limited, 20)
    assert is_refused(domain(limited), "standard")


def slow_room(limited, index):
    deleted = sandbox_api(limited, "DELETE", f"/rooms/room-{index}")
    assert passes(deleted) == {"deleted": True, "name": f"room-{index}"}


def test_slow_calls_pass_at_two_per_second_and_fifty_per_30_s(limited, clock):
    for index in range(51):
        limited.create_room({"name": f"room-{index}"})
    slow_room(limited, 0)
    slow_room(limited, 1)
    assert is_refused(sandbox_api(limited, "DELETE", "/rooms/room-2"), "slow")
    for second in range(1, 25):  # 2 a second: 49 deletions and the list by 24 s
        clock.now += 1
        slow_room(limited, 2 * second)
        if second < 24:
            slow_room(limited, 2 * second + 1)
    # The list of recordings shares the window (one recording or its link do not).
    assert passes(sandbox_api(limited, "GET", "/recordings")) == {"total_count": 0, "data": []}
    clock.now += 1  # a new second, but 50 in the last 30 s
    assert is_refused(sandbox_api(limited, "DELETE", "/rooms/room-49"), "slow", 1)
    assert is_refused(sandbox_api(limited, "GET", "/recordings"), "slow", 1)
    assert set(limited.rooms) == {"room-49", "room-50"}
    assert passes(sandbox_api(limited, "GET", "/rooms/room-49"))["name"] == "room-49"
    one = sandbox_api(limited, "GET", "/recordings/some-id")
    assert (one.status_code, one.json()["error"]) == (404, "not-found")
    assert passes(sandbox_api(limited, "POST", "/rooms/room-49/recordings/start"))
    clock.now += 5  # 30 s after the first two: they are out of the window
    slow_room(limited, 49)
    slow_room(limited, 50)
    assert limited.api_calls == Counter({"slow": 55, "standard": 2, "recording-start": 1})
    assert limited.rate_limited == Counter({"slow": 3})


def test_recording_starts_pass_at_one_per_second(limited, clock):
    for index in range(6):
        limited.create_room({"name": f"room-{index}"})
    assert passes(sandbox_api(limited, "POST", "/rooms/room-0/recordings/start"))
    assert is_refused(
        sandbox_api(limited, "POST", "/rooms/room-1/recordings/start"), "recording-start"
    )
    clock.now += 0.999
    assert is_refused(
        sandbox_api(limited, "POST", "/rooms/room-1/recordings/start"), "recording-start"
    )
    for index in range(1, 5):
        clock.now += 1
        start = sandbox_api(limited, "POST", f"/rooms/room-{index}/recordings/start")
        assert passes(start) == {"status": "sent"}
    assert [recording["room_name"] for recording in limited.recordings.values()] == [
        f"room-{index}" for index in range(5)
    ]  # the refused starts started nothing
    stop = sandbox_api(limited, "POST", "/rooms/room-0/recordings/stop")  # a standard call
    assert passes(stop) == {"status": "sent"}
    assert passes(sandbox_api(limited, "DELETE", "/rooms/room-5")) == {
        "deleted": True,
        "name": "room-5",
    }


def test_the_window_slides_only_the_old_arrivals_expire(limited, clock):
    paced_standard_calls(limited, clock, 4)  # 80 calls, at 0, 1, 2 and 3 s
    clock.now -= 0.5  # 3.5 s: 20 in the last second
    assert is_refused(domain(limited), "standard")
    clock.now += 0.5  # 4 s
    standard_calls(limited, 20)  # 100 in 5 s
    clock.now += 0.999  # 4.999 s: the first 20 are still in the window
    assert is_refused(domain(limited), "standard")
    clock.now += 0.001  # 5 s: the first 20 are out, and the second's 20 too
    standard_calls(limited, 20)
    assert is_refused(domain(limited), "standard")


def test_refused_calls_and_bad_keys_do_not_count(limited, clock):
    for _ in range(120):  # refused for the key: never reach the limits
        keyless = sandbox_api(limited, "GET", "/", headers={})
        assert (keyless.status_code, keyless.json()["error"]) == (401, "authentication-error")
    standard_calls(limited, 20)
    clock.now += 0.5
    for _ in range(30):
        assert is_refused(domain(limited), "standard")
    clock.now += 0.5  # the 20 accepted are out; the 30 refused never were in
    standard_calls(limited, 20)
    assert is_refused(domain(limited), "standard")
    assert limited.api_calls == Counter({"standard": 71})
    assert limited.rate_limited == Counter({"standard": 31})


def test_the_windows_run_on_the_rate_clock_not_the_sandbox_clock(limited):
    standard_calls(limited, 20)
    limited.clock = lambda: 4_000_000_000  # the clock of exp and nbf
    assert is_refused(domain(limited), "standard")


def test_limits_are_on_by_default_and_can_be_switched(make_sandbox, clock):
    default = DailySandbox()
    try:
        assert default.rate_limits is True
        assert default.neighbour_share == 0  # nobody else on the key unless asked
    finally:
        default.stop()

    sandbox = make_sandbox(rate_clock=clock)  # the fixture's default: off
    assert sandbox.rate_limits is False
    standard_calls(sandbox, 150)
    assert sandbox.api_calls == Counter({"standard": 150})  # counted all the same
    sandbox.rate_limits = True  # the calls made while off left the window empty
    standard_calls(sandbox, 20)
    assert is_refused(domain(sandbox), "standard")
    sandbox.rate_limits = False
    standard_calls(sandbox, 10)
    assert sandbox.api_calls == Counter({"standard": 181})
    assert sandbox.rate_limited == Counter({"standard": 1})


def test_reset_empties_the_windows_not_the_counters(limited):
    limited.create_room({"name": "lesson"})
    passes(sandbox_api(limited, "POST", "/rooms/lesson/recordings/start"))
    passes(sandbox_api(limited, "POST", "/rooms/lesson/recordings/stop"))
    assert is_refused(
        sandbox_api(limited, "POST", "/rooms/lesson/recordings/start"), "recording-start"
    )
    standard_calls(limited, 19)
    assert is_refused(domain(limited), "standard")
    limited.reset_rate_limits()
    assert passes(sandbox_api(limited, "POST", "/rooms/lesson/recordings/start")) == {
        "status": "sent"
    }
    standard_calls(limited, 20)
    assert limited.api_calls == Counter({"standard": 41, "recording-start": 3})
    assert limited.rate_limited == Counter({"standard": 1, "recording-start": 1})


def test_a_neighbour_on_the_key_takes_its_share_of_each_family(make_sandbox, clock):
    """A quarter of 1 recording start a second: the neighbour starts one every 4 s, from
    when the limits are on; its calls fill the windows as ours do."""
    sandbox = make_sandbox(rate_limits=True, rate_clock=clock, neighbour_share=0.25)
    sandbox.create_room({"name": "lesson"})

    def start():
        return sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/start")

    assert is_refused(start(), "recording-start")  # the neighbour's, at 0 s
    for _ in range(3):
        clock.now += 1
        assert passes(start()) == {"status": "sent"}
        passes(sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/stop"))
    clock.now += 1  # 4 s: the neighbour's next
    assert is_refused(start(), "recording-start")
    assert sandbox.neighbour_calls["recording-start"] == 2
    assert len(sandbox.recordings) == 3
    # 2 per second of the slow family at a quarter of 50 per 30 s: one every 2.4 s
    for index in range(3):
        sandbox.create_room({"name": f"room-{index}"})
    slow_room(sandbox, 0)  # with the neighbour's first, the second's 2
    assert is_refused(sandbox_api(sandbox, "DELETE", "/rooms/room-1"), "slow")
    assert sandbox.neighbour_calls["slow"] == 1


def test_a_quarter_neighbour_uses_a_quarter_of_the_slow_familys_budget(make_sandbox, clock):
    """The slow family can keep up 50 calls per 30 s (its 2 a second lasts only 25 s): a
    neighbour at 25 % makes 12.5 of them per 30 s, leaving 37.5 for us, not 15 (a quarter
    of 2 a second) leaving 35."""
    sandbox = make_sandbox(rate_limits=True, rate_clock=clock, neighbour_share=0.25)
    for index in range(3):
        sandbox.create_room({"name": f"room-{index}"})
    slow_room(sandbox, 0)  # the neighbour's first comes with it, at 0 s
    clock.now += 60 - 1e-9  # just under two windows later
    slow_room(sandbox, 1)
    assert sandbox.neighbour_calls["slow"] == 25  # at 0, 2.4, ... 57.6 s


def test_retry_after_when_asked_for(limited, clock):
    """Daily documents no Retry-After: the sandbox sends one only when told, the whole
    seconds until the window that refused frees."""
    limited.retry_after = True
    for index in range(51):
        limited.create_room({"name": f"room-{index}"})
    for second in range(25):
        slow_room(limited, 2 * second)
        slow_room(limited, 2 * second + 1)
        clock.now += 1
    clock.now -= 0.7  # 24.3 s: 2 in the last second
    refused = sandbox_api(limited, "DELETE", "/rooms/room-50")
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "1")
    clock.now += 0.7  # 25 s: 50 in the last 30 s, the first two out at 30 s
    refused = sandbox_api(limited, "DELETE", "/rooms/room-50")
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "5")
    clock.now += 5
    slow_room(limited, 50)


def test_the_list_countdown_still_works_under_the_limits(limited, clock):
    limited.rate_limit_list = 2
    for _ in range(2):
        clock.now += 1  # 2 slow calls per second
        answer = sandbox_api(limited, "GET", "/recordings")
        assert (answer.status_code, answer.json()) == (
            429,
            REFUSED | {"info": "too many requests: back off and retry"},
        )
    clock.now += 1
    assert passes(sandbox_api(limited, "GET", "/recordings")) == {"total_count": 0, "data": []}
    # The countdown's 429s are the endpoint's, not the limits': they count as accepted.
    assert limited.api_calls == Counter({"slow": 3})
    assert limited.rate_limited == Counter()
