"""Daily's turns shared by processes: two processes taking turns of one family on one real
MongoDB wire server (SecantusDB) never overrun the window between them, and the same
turns kept per process would."""

import json
import subprocess
import sys

import pytest

from livesessions.db import connect
from livesessions.gateways.daily_limits import Limit, NoTurn
from livesessions.store.daily_turns import SharedTurns
from tests.support.processes import ROOT
from tests.support.secantus import secantus_server

pytestmark = pytest.mark.slow

LIMIT = Limit(5, 1.0)  # small, so the test takes seconds
PER_PROCESS = 12
# The two processes take their turns in about 5 s (24 turns at 5 a second, shared), once
# started; they are given ten times that and more before the test gives up on them.
TAKE_DEADLINE_S = 120

# One process: connect, say it is ready, wait for the go (both processes get theirs at
# once, however long each took to start), then take PER_PROCESS turns (each honoured by
# sleeping until it comes, as the client does) and print them.
TAKER = """
import json, sys, time
from livesessions.db import connect
from livesessions.gateways.daily_limits import Limit, NoTurn, LocalTurns
from livesessions.store.daily_turns import SharedTurns
uri, count, shared = sys.argv[1], int(sys.argv[2]), sys.argv[3]
database = connect(uri + "/turns_test")
database.ping()
turns = SharedTurns(database) if shared == "shared" else LocalTurns()
limit = Limit(5, 1.0)
print("ready", flush=True)
sys.stdin.readline()
taken = []
for _ in range(count):
    turn = turns.reserve("standard", limit, time.time, time.time() + 60)
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
    """How many windows of LIMIT.seconds, each starting at a turn, hold more than
    LIMIT.calls turns."""
    turns = sorted(turns)
    return sum(
        1
        for n, first in enumerate(turns)
        if sum(first <= t < first + LIMIT.seconds for t in turns[n:]) > LIMIT.calls
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
    assert stored["turns"][-LIMIT.calls :] == every[-LIMIT.calls :]
    assert set(stored["turns"]) <= set(every)
    assert stored["version"] == 2 * PER_PROCESS


def test_turns_kept_per_process_would_overrun_it():
    with secantus_server() as uri:
        first, second = take_turns(uri, "local")
    assert crowded_windows(first) == crowded_windows(second) == 0
    assert crowded_windows(first + second) > 0


def test_shared_turns_match_the_local_ones_in_one_process():
    with secantus_server() as uri:
        database = connect(uri + "/turns_test")
        try:
            turns = SharedTurns(database)
            got = [turns.reserve("f", LIMIT, lambda: 100.0, 200.0) for _ in range(7)]
            with pytest.raises(NoTurn) as refused:
                turns.reserve("f", LIMIT, lambda: 100.0, 100.5)
            turns.give_back("f", got[-1])
            kept = database["daily_turns"].find_one({"_id": "f"})["turns"]
        finally:
            database.close()
    step = LIMIT.seconds
    assert got == pytest.approx([100.0] * 5 + [100.0 + step] * 2)
    assert refused.value.retry_in == pytest.approx(step)  # when it would come; none taken
    assert kept == pytest.approx([100.0] * 5 + [100.0 + step])  # one of the last given back
