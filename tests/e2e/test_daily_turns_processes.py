"""Daily's turns shared by processes: two processes taking turns of one family on one real
MongoDB wire server (SecantusDB) never overrun either of its windows between them, and
the same turns kept per process would."""

import json
import subprocess
import sys

import pytest

from livesessions.daily.limits import Limit, LocalTurns, NoTurn
from livesessions.daily.turns import SharedTurns
from livesessions.db import connect
from tests.support.processes import ROOT
from tests.support.secantus import secantus_server

pytestmark = pytest.mark.slow

# a rate and a window, as each of Daily's families has; small, so the test takes seconds
RATE, LIMIT = Limit(2, 0.25), Limit(5, 1.0)
PER_PROCESS = 12
# The two processes take their turns in about 5 s (24 turns at 5 a second, shared), once
# started; they are given ten times that and more before the test gives up on them.
TAKE_DEADLINE_S = 120

# One process: connect, say it is ready, wait for the go (both processes get theirs at
# once, however long each took to start), then take PER_PROCESS turns (each honoured by
# sleeping until it comes, as the client does) and print them.
TAKER = """
import json, sys, time, uuid
from livesessions.db import connect
from livesessions.daily.limits import Limit, NoTurn, LocalTurns
from livesessions.daily.turns import SharedTurns
uri, count, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3]
database = connect(uri + "/turns_test")
database.ping()
turns = SharedTurns(database) if shared == "shared" else LocalTurns()
limits = (Limit(2, 0.25), Limit(5, 1.0))
print("ready", flush=True)
sys.stdin.readline()
taken = []
for _ in range(count):
    turn = turns.reserve("standard", limits, time.time, time.time() + 60, uuid.uuid4().hex)
    time.sleep(max(turn - time.time(), 0))
    taken.append(turn)
print(json.dumps(taken))
"""


def take_turns(uri, shared):
    """The turns each of two processes took, both taking them at the same time."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, uri, str(PER_PROCESS), shared],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout.readline() == "ready\n"  # (a process that died says "")
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        taken = []
        for process in processes:
            out, _ = process.communicate(timeout=TAKE_DEADLINE_S)
            assert process.returncode == 0
            taken.append(json.loads(out))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return taken


def crowded_windows(turns):
    """How many windows of RATE's or LIMIT's seconds, each starting at a turn, hold more
    than their calls."""
    turns = sorted(turns)
    return sum(
        1
        for limit in (RATE, LIMIT)
        for n, first in enumerate(turns)
        if sum(first <= t < first + limit.seconds for t in turns[n:]) > limit.calls
    )


def test_two_processes_share_the_window_through_the_database():
    with secantus_server() as uri:
        first, second = take_turns(uri, "shared")
        database = connect(uri + "/turns_test")
        try:
            stored = database["daily_turns"].find_one({"_id": "standard"})
        finally:
            database.close()
    every = sorted(first + second)
    assert len(every) == 2 * PER_PROCESS
    assert crowded_windows(every) == 0
    # turns in order: each group of LIMIT.calls is a full window after
    # the group before, whichever process took them
    for earlier, later in zip(every, every[LIMIT.calls :], strict=False):
        assert later - earlier >= LIMIT.seconds - 1e-6
    # the turns that can still share a window with the next, the last of them all
    kept = [at for at, _ in stored["turns"]]
    assert kept[-LIMIT.calls :] == every[-LIMIT.calls :]
    assert set(kept) <= set(every)
    assert stored["version"] == 2 * PER_PROCESS


def test_turns_kept_per_process_would_overrun_it():
    with secantus_server() as uri:
        first, second = take_turns(uri, "local")
    assert crowded_windows(first) == crowded_windows(second) == 0
    assert crowded_windows(first + second) > 0


def turns_story(turns):
    """Turns taken, refused, cut in on and given back, as the client does them."""
    limits = (RATE, LIMIT)
    got = [turns.reserve("f", limits, lambda: 100.0, 200.0, f"o{n}") for n in range(7)]
    with pytest.raises(NoTurn) as refused:
        turns.reserve("f", limits, lambda: 100.0, 100.5, "late")
    # o0's call was refused by Daily at 100.0: its retry goes first from 100.1 on
    retry = turns.cut_in("f", limits, lambda: 100.0, 200.0, "o0-retry", 100.1)
    moved = [turns.when("f", f"o{n}") for n in range(7)]
    turns.give_back("f", "o6")
    return got, refused.value.retry_in, retry, moved


def test_shared_turns_match_the_local_ones_in_one_process():
    with secantus_server() as uri:
        database = connect(uri + "/turns_test")
        try:
            shared = turns_story(SharedTurns(database))
            kept = database["daily_turns"].find_one({"_id": "f"})["turns"]
        finally:
            database.close()
    local_turns = LocalTurns()
    assert shared == turns_story(local_turns)
    assert kept == local_turns._turns["f"]
    got, retry_in, retry, moved = shared
    assert got == pytest.approx([100.0, 100.0, 100.25, 100.25, 100.5, 101.0, 101.0])
    assert retry_in == pytest.approx(1.25)  # when it would come (2 in 0.25 s); none taken
    # the retry takes the first turn to come (o2's); each waiting call moves down one
    assert retry == pytest.approx(100.25)
    assert moved[:2] == [100.0, 100.0]  # o0's and o1's turns are gone by: they stay
    assert moved[2:] == pytest.approx([100.25, 100.5, 101.0, 101.0, 101.25])
    assert [owner for _, owner in kept] == ["o0", "o1", "o0-retry", "o2", "o3", "o4", "o5"]
