"""Daily's rate limits kept by the client: turns per endpoint family, Retry-After and the
jittered backoff after 429s, the deadline. Time is a fake clock that moves only while the
client sleeps."""

import pytest
import responses

from livesessions.gateways.daily import DailyBusy, DailyClient, DailyRateLimited
from livesessions.gateways.daily_limits import (
    LIMITS,
    MARGIN_SECONDS,
    RECORDING_START,
    SLOW,
    STANDARD,
    FallingBackTurns,
    Limit,
    LocalTurns,
    NoTurn,
    Pacer,
    family,
    next_turn,
)
from livesessions.sandbox.daily import RATE_LIMITS as SANDBOX_LIMITS
from livesessions.sandbox.daily.limits import family as sandbox_family
from tests.support.fake_daily import DAILY_URL, ROOMS_URL

START = 1_800_000_000.0


class FakeTime:
    def __init__(self):
        self.now = START
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def client(fake_time):
    pacer = Pacer(LocalTurns(), clock=fake_time.clock, sleep=fake_time.sleep)
    return DailyClient(
        DAILY_URL,
        "k" * 64,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        random_fraction=lambda: 1.0,  # the top of the jitter: waits of 1, 2, 4 s...
        pacer=pacer,
        rate_wait_seconds=20,
    )


def test_the_families_are_dailys():
    assert {
        STANDARD: Limit(100, 5.0),
        SLOW: Limit(50, 30.0),
        RECORDING_START: Limit(5, 5.0),
    } == LIMITS
    assert family("DELETE", "/rooms/a-1") == SLOW
    assert family("GET", "/recordings?room_name=a&limit=100") == SLOW
    assert family("GET", "/recordings/abc") == STANDARD  # one recording, not the list
    assert family("POST", "/rooms/a-1/recordings/start") == RECORDING_START
    assert family("POST", "/rooms/a-1/recordings/stop") == STANDARD
    assert family("POST", "/rooms") == STANDARD
    assert family("GET", "/") == STANDARD


def test_the_gateway_and_the_sandbox_read_dailys_limits_alike():
    """Each was written from Daily's page on its own: the sandbox plays Daily, so it must not
    take its numbers from the client it checks."""
    assert {name: (limit.calls, limit.seconds) for name, limit in LIMITS.items()} == {
        name: (calls, float(seconds)) for name, (calls, seconds) in SANDBOX_LIMITS.items()
    }
    calls = [
        ("DELETE", "/rooms/a-1"),
        ("GET", "/recordings"),
        ("GET", "/recordings/abc"),
        ("GET", "/recordings/abc/access-link"),
        ("POST", "/rooms/a-1/recordings/start"),
        ("POST", "/rooms/a-1/recordings/stop"),
        ("POST", "/rooms"),
        ("POST", "/meeting-tokens"),
        ("GET", "/"),
    ]
    assert [family(*call) for call in calls] == [sandbox_family(*call) for call in calls]


def test_turns_keep_every_window_at_the_limit():
    limit = Limit(3, 10.0)
    turns = []
    for _ in range(7):
        turns.append(next_turn(turns, 100.0, limit))
    assert turns == [100.0, 100.0, 100.0, 110.0, 110.0, 110.0, 120.0]
    # any window of 10 s holds at most 3 of them
    for start in turns:
        assert sum(start <= t < start + 10.0 for t in turns) <= 3


@responses.activate
def test_a_burst_waits_for_the_window_to_slide(client, fake_time):
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True, "name": "r"})
    for _ in range(50):
        client.delete_room("r")
    assert fake_time.slept == []  # Daily allows 50 in 30 s at once
    client.delete_room("r", wait=40)  # longer than the default 20 s: the slide is 30 s
    assert fake_time.slept == [pytest.approx(30 + MARGIN_SECONDS)]
    assert len(responses.calls) == 51


@responses.activate
def test_no_turn_before_the_deadline_is_refused_without_a_call(client, fake_time):
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True, "name": "r"})
    for _ in range(50):
        client.delete_room("r")
    with pytest.raises(DailyRateLimited) as refused:
        client.delete_room("r", wait=0)  # only if a turn is free now
    assert refused.value.retry_in == pytest.approx(30 + MARGIN_SECONDS)
    assert (refused.value.status, refused.value.error_type) == (429, "rate-limit-error")
    assert len(responses.calls) == 50
    assert fake_time.slept == []
    fake_time.now += 31
    client.delete_room("r", wait=0)  # the window slid: a turn is free again
    assert len(responses.calls) == 51


@responses.activate
def test_families_have_windows_of_their_own(client, fake_time):
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True, "name": "r"})
    responses.add(responses.POST, f"{ROOMS_URL}/r", json={"name": "r"})
    for _ in range(50):
        client.delete_room("r")
    for _ in range(100):
        client.update_room_exp("r", 1)
    assert fake_time.slept == []


@responses.activate
def test_a_429_waits_for_retry_after(client, fake_time):
    start = f"{ROOMS_URL}/r/recordings/start"
    responses.add(responses.POST, start, status=429, headers={"Retry-After": "3"})
    responses.add(responses.POST, start, json={"status": "sent"})
    assert client.start_recording("r", "rec-1") == {"status": "sent"}
    assert fake_time.slept == [3.0]
    assert len(responses.calls) == 2


@responses.activate
def test_without_retry_after_a_429_backs_off_doubling_with_jitter(fake_time):
    fractions = iter([0.0, 0.5, 1.0])
    client = DailyClient(
        DAILY_URL,
        "k" * 64,
        sleep=fake_time.sleep,
        random_fraction=lambda: next(fractions),
        pacer=Pacer(LocalTurns(), clock=fake_time.clock, sleep=fake_time.sleep),
    )
    for _ in range(3):
        responses.add(responses.POST, ROOMS_URL, status=429, json={"error": "rate-limit-error"})
    responses.add(responses.POST, ROOMS_URL, json={"name": "a-1", "url": "u"})
    client.create_room("a", exp=2_000_000_000, max_participants=10)
    # 1 s, 2 s, 4 s, each between half and all of it
    assert fake_time.slept == [0.5, 1.5, 4.0]


@responses.activate
def test_429s_past_the_deadline_are_refused_with_dailys_answer(client, fake_time):
    responses.add(responses.POST, ROOMS_URL, status=429, json={"error": "rate-limit-error"})
    with pytest.raises(DailyRateLimited, match="429"):
        client.create_room("a", exp=2_000_000_000, max_participants=10)
    # 1 + 2 + 4 + 8 = 15 s waited; the next wait (16 s) would pass the 20 s deadline
    assert fake_time.slept == [1.0, 2.0, 4.0, 8.0]
    assert len(responses.calls) == 5


@responses.activate
def test_a_retry_after_past_the_deadline_is_refused_at_once(client, fake_time):
    responses.add(responses.POST, ROOMS_URL, status=429, headers={"Retry-After": "60"})
    with pytest.raises(DailyRateLimited) as refused:
        client.create_room("a", exp=2_000_000_000, max_participants=10)
    assert refused.value.retry_in == 60
    assert fake_time.slept == []


@responses.activate
def test_recording_starts_wait_their_turn_in_order(client, fake_time):
    responses.add(responses.POST, f"{ROOMS_URL}/r/recordings/start", json={"status": "sent"})
    sent_at = []
    for n in range(12):
        client.start_recording("r", f"rec-{n}")
        sent_at.append(fake_time.now - START)
    step = 5 + MARGIN_SECONDS
    assert sent_at == pytest.approx([0] * 5 + [step] * 5 + [2 * step] * 2)


@responses.activate
def test_a_call_refused_for_want_of_a_slot_gives_its_turn_back(fake_time):
    """A hanging Daily holds the one slot: the calls refused meanwhile must not use up the
    window, or the calls after them would wait for turns instead of failing fast."""
    pacer = Pacer(LocalTurns(), clock=fake_time.clock, sleep=fake_time.sleep)
    client = DailyClient(DAILY_URL, "k" * 64, pacer=pacer, queue_seconds=0)
    client._in_flight.acquire()  # the slot, held by a call that hangs
    for _ in range(150):
        with pytest.raises(DailyBusy):
            client.update_room_exp("r", 1)
    client._in_flight.release()
    responses.add(responses.POST, f"{ROOMS_URL}/r", json={"name": "r"})
    client.update_room_exp("r", 1)
    assert fake_time.slept == []  # the window is as empty as before
    assert pacer.turns._turns[STANDARD] == [START]


def at(seconds):
    return lambda: seconds


def test_a_turn_given_back_frees_its_place_in_the_window():
    turns, limit = LocalTurns(), Limit(2, 10.0)
    first, second = (turns.reserve("f", limit, at(100.0), 100.0) for _ in range(2))
    with pytest.raises(NoTurn) as refused:  # the next would come later
        turns.reserve("f", limit, at(100.0), 100.0)
    assert refused.value.retry_in == 10.0
    turns.give_back("f", second)
    assert turns.reserve("f", limit, at(100.0), 100.0) == 100.0
    turns.give_back("f", 12.0)  # a turn no longer kept: nothing to do
    assert turns._turns["f"] == [first, 100.0]


def test_now_is_read_when_the_turn_is_taken():
    """A turn handed out a moment later than a caller's own idea of "now" is no reason to
    refuse it one free now: the clock is read at the reservation."""
    turns, limit = LocalTurns(), Limit(5, 10.0)
    turns.reserve("f", limit, at(100.002), 100.002)  # another thread, a moment later
    assert turns.reserve("f", limit, at(100.003), 100.0) == 100.003  # free now: taken


class BrokenTurns(LocalTurns):
    """Turns of a database that is down until `broken` is set to False."""

    def __init__(self):
        super().__init__()
        self.broken, self.tried = True, 0

    def reserve(self, family, limit, clock, deadline):
        self.tried += 1
        if self.broken:
            raise ConnectionError("database down")
        return super().reserve(family, limit, clock, deadline)


def test_shared_turns_that_fail_fall_back_to_this_processs_own(caplog):
    monotonic, shared = [0.0], BrokenTurns()
    turns = FallingBackTurns(shared, retry_seconds=5, monotonic=lambda: monotonic[0])
    limit = Limit(2, 10.0)
    assert [turns.reserve("f", limit, at(100.0), 200.0) for _ in range(3)] == [100, 100, 110]
    assert shared.tried == 1  # then not again for 5 s: no call waits on a database down
    warnings = [r for r in caplog.records if "per process" in r.getMessage()]
    assert len(warnings) == 1  # once per failure spell, not once per call
    turns.give_back("f", 110.0)
    assert turns.reserve("f", limit, at(100.0), 200.0) == 110.0
    monotonic[0] = 5.0
    shared.broken = False
    assert turns.reserve("f", limit, at(100.0), 200.0) == 100.0  # the database's own turns
    assert shared.tried == 2


def test_the_services_windows_allow_for_the_wait_for_a_slot(make_app):
    """A call may reach Daily up to DAILY_QUEUE_SECONDS after its turn (it waits for an
    in-flight slot then): the windows are longer by that and the margin."""
    pacer = make_app(DAILY_QUEUE_SECONDS="0.5").extensions["livesessions"].daily.pacer
    assert pacer.limits == {
        STANDARD: Limit(100, pytest.approx(5.75)),
        SLOW: Limit(50, pytest.approx(30.75)),
        RECORDING_START: Limit(5, pytest.approx(5.75)),
    }
