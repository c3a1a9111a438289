"""Recording jobs to process, and `recordings worker` processes to process them: for the
tests and the benchmark that run several worker processes on one database."""

import contextlib
import os
import sys
import threading
from datetime import timedelta
from pathlib import Path

from livesessions.auth.tokens import Caller
from livesessions.clock import utcnow

COURSE = "c0000000-0000-4000-8000-000000000001"
WORKER_COMMAND = [
    str(Path(sys.executable).parent / "flask"),
    "--app",
    "wsgi",
    "recordings",
    "worker",
]


def queue_finished_recordings(services, daily, count, title="Workers"):
    """`count` sessions made the way the API makes them (their rooms on the Daily sandbox),
    each with a finished recording whose webhook is never sent, queued as the reconciler
    would; return their recording ids."""
    recording_ids = []
    for n in range(count):
        session = services.session_service.create(
            {
                "title": f"{title} {n}",
                "courseId": COURSE,
                "scheduledAt": utcnow() + timedelta(hours=1),
                "duration": 30,
                "maxParticipants": 10,
            },
            Caller("instructor-1"),
        )
        recording_id = daily.add_finished_recording(session["roomName"], duration=30)
        services.recording_service.queue_upload(recording_id, session, 30)
        recording_ids.append(recording_id)
    return recording_ids


def worker_env(settings, **more):
    """The environment of a worker process: this one's, with `settings` and `more`."""
    return {**os.environ, **settings, **more}


@contextlib.contextmanager
def running(worker):
    """`worker.run` in a thread of this process; yields (its stop event, the thread), and
    stops it (and waits for it) when the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="worker-under-test")
    thread.start()
    try:
        yield stop, thread
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()
