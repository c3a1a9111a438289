"""Markers several test modules share."""

import os

import pytest

# Tests of several `recordings worker` processes: they need a database the processes share
# (`make test`'s second run gives them a SecantusDB; the embedded store lives in one process).
WORKER_PROCESSES = [
    pytest.mark.slow,
    pytest.mark.wire,
    pytest.mark.skipif(
        not os.environ.get("TEST_MONGODB_URI"), reason="worker processes share a real MongoDB"
    ),
]
