"""Another service on the same Daily key (the sandbox's neighbour, a steady share of each
family's budget) against the client, over real loopback HTTP: the client keeps Daily's
full numbers and collides with the neighbour now and then, each collision one retry that
goes first, so the deletions end about when the budget left allows, and none is lost.
Both sides run on one clock that moves only while the client sleeps (the sandbox's rate
clock is the client's), so every verdict reads the sandbox's record, never the wall
clock."""

import pytest

from devtools.sandbox import DailySandbox
from livesessions.daily.client import DailyClient, DailyRateLimited
from livesessions.daily.limits import LocalTurns, Pacer
from tests.support.sandbox import SANDBOX_API_KEY


class HeldClock:
    """Unix seconds that move only when the client sleeps."""

    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(seconds, 0.0)


@pytest.fixture
def clock():
    return HeldClock()


@pytest.fixture
def daily(clock):
    sandbox = DailySandbox(
        api_key=SANDBOX_API_KEY, ready_delay=0, rate_limits=False, rate_clock=clock
    ).start()
    yield sandbox
    sandbox.stop()


def delete_one_after_another(daily, clock, rooms):
    """The worker's way: one deletion at a time, each in its turn, a job retried when Daily's
    limit leaves no turn before its deadline (DailyRateLimited) until the room is gone."""
    pacer = Pacer(LocalTurns(), clock=clock, sleep=clock.sleep)
    client = DailyClient(
        daily.api_url, SANDBOX_API_KEY, pacer=pacer, sleep=clock.sleep, clock=clock,
        random_fraction=lambda: 0.5,
    )  # fmt: skip
    for room in rooms:
        while True:
            try:
                client.delete_room(room)
                break
            except DailyRateLimited as refused:
                clock.sleep(max(refused.retry_in, 1.0))


@pytest.mark.parametrize("share", [0.25, 0.5])
def test_with_a_neighbour_deletions_end_when_the_budget_left_allows(daily, clock, share):
    """The budget the neighbour leaves is (1 - share) of 50 per 30 s: 100 deletions need
    at least 80 s at a quarter, 120 s at a half. Pacing at 1 a second instead would avoid
    every collision (a neighbour's call may fall into any second) and take about 107 s at a
    quarter: measured on a branch that learnt the share (docs/reliability.md), and not
    taken. A collision costs its retry a backoff, not its place, and Daily counts no
    refused call, so there are never more 429s than neighbour's calls that caused them."""
    rooms = [f"room-{n}" for n in range(100)]
    for room in rooms:
        daily.create_room({"name": room})
    daily.neighbour_share = share
    daily.rate_limits = True
    daily.reset_rate_limits()
    started = clock()
    delete_one_after_another(daily, clock, rooms)
    assert not set(rooms) & set(daily.rooms)
    ours = [path for family, _, path in daily.accepted if family == "slow"]
    assert sorted(path.rsplit("/", 1)[1] for path in ours) == sorted(rooms)  # each once
    assert daily.neighbour_calls["slow"] >= 100 * share  # it was there all along
    refused = daily.rate_limited["slow"]
    print(f"neighbour {share:.0%}: {refused} 429s, {clock() - started:.1f} s")
    assert refused <= daily.neighbour_calls["slow"]
    # Close to what the budget left allows (100 / its rate, less the first window's
    # head start), well before the 107 s of pacing at one a second.
    budget_left = 50 * (1 - share) / 30
    assert clock() - started <= 100 / budget_left + 10
