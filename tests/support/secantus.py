"""A SecantusDB server (a MongoDB wire-protocol server, test-only) in a subprocess on a
free loopback port, its data in memory: for the tests that need several processes to
share one real database, and for the whole suite's second run (`TEST_MONGODB=secantus`,
see tests/conftest.py), where its known deviations are marked."""

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import pytest

from tests.support.processes import START_DEADLINE_S, free_port

SERVER = Path(sys.executable).parent / "secantusd-py"
# This run's database is a SecantusDB the suite started (`make test`'s second run).
ON_SECANTUS = os.environ.get("TEST_MONGODB") == "secantus"


def secantus_deviation(repro):
    """Mark a test that fails only because of a known deviation of SecantusDB from
    MongoDB, pinned by the test `repro` of tests/wire/test_secantus_deviations.py: an
    expected failure on SecantusDB (strict: once the server is fixed, it must pass and the
    mark go), a plain test on mongomock and on a real MongoDB."""
    return pytest.mark.xfail(
        ON_SECANTUS, reason=f"SecantusDB deviation, pinned by {repro}", strict=True
    )


@contextlib.contextmanager
def secantus_server(timeout=START_DEADLINE_S):
    """Start the server, wait until it answers a ping, yield its URI; stop it after (it
    answers in about 1.5 s here, 20 s on a core shared with busy processes)."""
    port = free_port()
    process = subprocess.Popen(
        [str(SERVER), "--host", "127.0.0.1", "--port", str(port), "--storage-path", ":memory:"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    uri = f"mongodb://127.0.0.1:{port}"
    try:
        _wait_for_ping(uri, process, timeout)
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()


def _wait_for_ping(uri, process, timeout):
    deadline = time.monotonic() + timeout
    with pymongo.MongoClient(uri, serverSelectionTimeoutMS=200) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"secantusd-py exited: {process.stderr.read()}")
            try:
                client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                time.sleep(0.1)
    raise AssertionError(f"secantusd-py did not answer within {timeout}s")
