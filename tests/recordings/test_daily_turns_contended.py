"""Daily's turns shared through the database under contention: many reservations at once
(100 deletions released together, across threads and processes) each win a
compare-and-set round in the end, backing off a jittered while after each lost one,
instead of giving up and falling back to turns kept per process."""

import logging
import os
import threading

import pytest

from livesessions.daily import turns as daily_turns
from livesessions.daily.limits import FallingBackTurns, Limit
from livesessions.daily.turns import SharedTurns, TurnsContended

START = 1_800_000_000.0
LIMITS = (Limit(20, 1.0), Limit(100, 5.0))  # the standard family's numbers


@pytest.fixture
def database(app):
    return app.extensions["livesessions"].database


def keep_every_window(turns):
    for start in turns:
        for limit in LIMITS:
            assert sum(start <= t < start + limit.seconds for t in turns) <= limit.calls


class Rival:
    """A collection whose compare-and-set loses `losses` rounds: another process takes a
    turn between each read and write (it moves the document's version on)."""

    def __init__(self, collection, losses):
        self.collection = collection
        self.losses = losses

    def find_one(self, *args, **kwargs):
        return self.collection.find_one(*args, **kwargs)

    def insert_one(self, *args, **kwargs):
        return self.collection.insert_one(*args, **kwargs)

    def update_one(self, query, *args, **kwargs):
        if self.losses:
            self.losses -= 1
            self.collection.update_one({"_id": query["_id"]}, {"$inc": {"version": 1}})
        return self.collection.update_one(query, *args, **kwargs)


def test_a_lost_round_backs_off_a_jittered_doubling_while(database):
    slept = []
    turns = SharedTurns(database, sleep=slept.append, random_fraction=lambda: 0.5)
    assert turns.reserve("standard", LIMITS, lambda: START, START + 60, "first") == START
    turns.turns = Rival(turns.turns, losses=60)  # more than the 50 rounds of before
    assert turns.reserve("standard", LIMITS, lambda: START, START + 60, "second") == START
    assert len(slept) == 60  # one wait after each lost round
    base, cap = daily_turns.BACKOFF_SECONDS, daily_turns.BACKOFF_CAP_SECONDS
    assert slept[:4] == [base / 2, base, base * 2, base * 4]  # half of a doubling while
    assert max(slept) == cap / 2
    entries = database[daily_turns.COLLECTION].find_one({"_id": "standard"})["turns"]
    assert [owner for _, owner in entries] == ["first", "second"]


def test_rounds_are_bounded_still(database):
    turns = SharedTurns(database, sleep=lambda _: None)
    turns.reserve("standard", LIMITS, lambda: START, START + 60, "first")
    turns.turns = Rival(turns.turns, losses=10_000)
    with pytest.raises(TurnsContended):
        turns.reserve("standard", LIMITS, lambda: START, START + 60, "second")


@pytest.mark.slow
@pytest.mark.wire
@pytest.mark.skipif(not os.environ.get("TEST_MONGODB_URI"), reason="contention on a real server")
def test_a_hundred_threads_reserving_at_once_all_get_shared_turns(database, caplog):
    """100 threads of 4 processes (each its own SharedTurns, as each process of the service
    has; as deletions released together across web processes' threads and the worker)
    each reserve 5 turns at once on the wire server: every one gets its own, every window
    kept, and none falls back to turns per process (which some did after 50 lost rounds
    running, the threads racing each other with no wait between rounds)."""
    processes = [FallingBackTurns(SharedTurns(database)) for _ in range(4)]
    threads, each = 100, 5
    go, got = threading.Barrier(threads), {}

    def reserve(n):
        shared = processes[n % len(processes)]
        go.wait()
        for k in range(each):
            owner = f"owner-{n}-{k}"
            got[owner] = shared.reserve("standard", LIMITS, lambda: START, START + 60, owner)

    running = [threading.Thread(target=reserve, args=(n,)) for n in range(threads)]
    with caplog.at_level(logging.WARNING):
        for thread in running:
            thread.start()
        for thread in running:
            thread.join(timeout=300)
    assert [record.getMessage() for record in caplog.records] == []  # no fallback
    count = threads * each
    assert len(got) == count
    assert sorted(got.values()) == [START + n // 20 for n in range(count)]  # 20 a second
    keep_every_window(sorted(got.values()))
    stored = database[daily_turns.COLLECTION].find_one({"_id": "standard"})["turns"]
    assert sorted((owner, at) for at, owner in stored) == sorted(got.items())
    for shared in processes:  # none kept per process
        assert shared.local.when("standard", "owner-0-0") is None
