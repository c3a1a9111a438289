"""Daily's rate limits kept by the client: turns per endpoint family, Retry-After and the
jittered backoff after 429s, the deadline. Time is a fake clock that moves only while the
client sleeps."""

import pytest
import responses

from devtools.sandbox.daily import RATE_LIMITS as SANDBOX_LIMITS
from devtools.sandbox.daily.limits import family as sandbox_family
from livesessions.daily.client import DailyBusy, DailyClient, DailyRateLimited
from livesessions.daily.limits import (
    LIMITS,
    MARGIN_SECONDS,
    RATE_MARGIN_SECONDS,
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
from livesessions.daily.windows import cut_in
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
        STANDARD: (Limit(20, 1.0), Limit(100, 5.0)),
        SLOW: (Limit(2, 1.0), Limit(50, 30.0)),
        RECORDING_START: (Limit(1, 1.0), Limit(5, 5.0)),
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
    assert {name: [tuple(limit) for limit in both] for name, both in LIMITS.items()} == {
        name: [(calls, float(seconds)) for calls, seconds in both]
        for name, both in SANDBOX_LIMITS.items()
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


def test_turns_keep_both_numbers_of_a_family():
    limits = (Limit(2, 1.0), Limit(5, 10.0))
    turns = []
    for _ in range(10):
        turns.append(next_turn(turns, 100.0, limits))
    assert turns == [100, 100, 101, 101, 102, 110, 110, 111, 111, 112]
    for start in turns:
        assert sum(start <= t < start + 1.0 for t in turns) <= 2
        assert sum(start <= t < start + 10.0 for t in turns) <= 5


SLOW_STEP = 1 + RATE_MARGIN_SECONDS  # 2 deletions per second, and the margin
SLOW_WINDOW = 30 + MARGIN_SECONDS


@responses.activate
def test_a_burst_keeps_the_rate_and_the_window(client, fake_time):
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True, "name": "r"})
    sent_at = []
    for _ in range(53):
        client.delete_room("r", wait=40)  # longer than the default: the slide is 30 s
        sent_at.append(fake_time.now - START)
    # 2 a second for 50, then the 30 s window: the first two leave it at 30.25 s
    expected = [SLOW_STEP * (n // 2) for n in range(50)]
    expected += [SLOW_WINDOW, SLOW_WINDOW, SLOW_STEP + SLOW_WINDOW]
    assert sent_at == pytest.approx(expected)
    assert len(responses.calls) == 53


@responses.activate
def test_no_turn_before_the_deadline_is_refused_without_a_call(client, fake_time):
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True, "name": "r"})
    for _ in range(2):
        client.delete_room("r")
    with pytest.raises(DailyRateLimited) as refused:
        client.delete_room("r", wait=0)  # only if a turn is free now
    assert refused.value.retry_in == pytest.approx(SLOW_STEP)
    assert (refused.value.status, refused.value.error_type) == (429, "rate-limit-error")
    assert len(responses.calls) == 2
    assert fake_time.slept == []
    fake_time.now += SLOW_STEP
    client.delete_room("r", wait=0)  # the window slid: a turn is free again
    assert len(responses.calls) == 3


@responses.activate
def test_families_have_windows_of_their_own(client, fake_time):
    responses.add(responses.DELETE, f"{ROOMS_URL}/r", json={"deleted": True, "name": "r"})
    responses.add(responses.POST, f"{ROOMS_URL}/r", json={"name": "r"})
    responses.add(responses.POST, f"{ROOMS_URL}/r/recordings/start", json={"status": "sent"})
    for _ in range(2):
        client.delete_room("r")
    for _ in range(20):
        client.update_room_exp("r", 1)
    client.start_recording("r", "rec-1")
    assert fake_time.slept == []


def test_a_refused_call_cuts_in_and_the_waiting_move_down():
    limits = (Limit(1, 1.1),)
    waiting = [[100.0, "a"], [101.1, "b"], [102.2, "c"]]
    # a's call was refused at 100.05; its retry goes first, from 100.1 on
    turn, entries = cut_in(waiting, 100.05, limits, 130.0, "a2", 100.1)
    assert turn == 101.1
    assert entries == [[100.0, "a"], [101.1, "a2"], [102.2, "b"], [pytest.approx(103.3), "c"]]
    # with a Retry-After of 2 s: nobody goes before it, the retry first
    turn, entries = cut_in(waiting, 100.05, limits, 130.0, "a2", 102.05)
    assert turn == 102.2
    moved = [[pytest.approx(103.3), "b"], [pytest.approx(104.4), "c"]]
    assert entries == [[100.0, "a"], [102.2, "a2"], *moved]
    with pytest.raises(NoTurn):  # past its deadline: nothing changes
        cut_in(waiting, 100.05, limits, 101.0, "a2", 100.1)


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
    # 1 a second (5 in 5.25 s never binds at that pace)
    assert sent_at == pytest.approx([n * (1 + RATE_MARGIN_SECONDS) for n in range(12)])


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
    assert [at for at, _ in pacer.turns._turns[STANDARD]] == [START]


def at(seconds):
    return lambda: seconds


def test_a_turn_given_back_frees_its_place_in_the_window():
    turns, limit = LocalTurns(), Limit(2, 10.0)
    for owner in "ab":
        assert turns.reserve("f", limit, at(100.0), 100.0, owner) == 100.0
    with pytest.raises(NoTurn) as refused:  # the next would come later
        turns.reserve("f", limit, at(100.0), 100.0, "c")
    assert refused.value.retry_in == 10.0
    turns.give_back("f", "b")
    assert turns.reserve("f", limit, at(100.0), 100.0, "d") == 100.0
    turns.give_back("f", "zz")  # a turn no longer kept: nothing to do
    assert turns._turns["f"] == [[100.0, "a"], [100.0, "d"]]


def test_now_is_read_when_the_turn_is_taken():
    """A turn handed out a moment later than a caller's own idea of "now" is no reason to
    refuse it one free now: the clock is read at the reservation."""
    turns, limit = LocalTurns(), Limit(5, 10.0)
    turns.reserve("f", limit, at(100.002), 100.002, "a")  # another thread, a moment later
    assert turns.reserve("f", limit, at(100.003), 100.0, "b") == 100.003  # free now: taken


class BrokenTurns(LocalTurns):
    """Turns of a database that is down until `broken` is set to False."""

    def __init__(self):
        super().__init__()
        self.broken, self.tried = True, 0

    def reserve(self, family, limits, clock, deadline, owner):
        self.tried += 1
        if self.broken:
            raise ConnectionError("database down")
        return super().reserve(family, limits, clock, deadline, owner)


def test_shared_turns_that_fail_fall_back_to_this_processs_own(caplog):
    monotonic, shared = [0.0], BrokenTurns()
    turns = FallingBackTurns(shared, retry_seconds=5, monotonic=lambda: monotonic[0])
    limit = Limit(2, 10.0)
    assert [turns.reserve("f", limit, at(100.0), 200.0, o) for o in "abc"] == [100, 100, 110]
    assert shared.tried == 1  # then not again for 5 s: no call waits on a database down
    warnings = [r for r in caplog.records if "per process" in r.getMessage()]
    assert len(warnings) == 1  # once per failure spell, not once per call
    turns.give_back("f", "c")
    assert turns.reserve("f", limit, at(100.0), 200.0, "d") == 110.0
    monotonic[0] = 5.0
    shared.broken = False
    assert turns.reserve("f", limit, at(100.0), 200.0, "e") == 100.0  # the database's own
    assert shared.tried == 2


def test_the_services_windows_allow_for_the_wait_for_a_slot(make_app):
    """A call may reach Daily up to DAILY_QUEUE_SECONDS after its turn (it waits for an
    in-flight slot then): the windows are longer by that and the margin; the per-second
    ones only by their own margin (0.75 s would cut 2 a second to 2 in 1.75 s)."""
    pacer = make_app(DAILY_QUEUE_SECONDS="0.5").extensions["livesessions"].daily.pacer
    second = pytest.approx(1.1)
    assert pacer.limits == {
        STANDARD: (Limit(20, second), Limit(100, pytest.approx(5.75))),
        SLOW: (Limit(2, second), Limit(50, pytest.approx(30.75))),
        RECORDING_START: (Limit(1, second), Limit(5, pytest.approx(5.75))),
    }
