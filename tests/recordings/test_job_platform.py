"""The job platform itself (`livesessions/jobs/`): a kind a test registers, on the real job
store, is leased and run in slots of its own; a failure the kind retries is retried after
the one backoff policy's delays (at a held time) until its attempts run out; a job of a
kind the worker doesn't run (a newer deploy's) is left alone; and today's retry numbers of
the three kinds the app registers."""

import logging
import threading
from datetime import timedelta

import pytest

import livesessions.jobs.kinds as kinds_module
import livesessions.jobs.repository as repository
from livesessions.clock import utcnow
from livesessions.jobs.backoff import Backoff
from livesessions.jobs.kinds import JobKind, RetriedJobs
from livesessions.jobs.repository import ROOM_DELETION, UPLOAD, WEBHOOK
from livesessions.jobs.worker import Worker, WorkerSettings
from tests.support.processes import wait_until
from tests.support.workers import running


class Recorded:
    """A kind's handler that records who ran which job, and may hold its jobs until
    `together` of them are in hand at once."""

    def __init__(self, together=1):
        self.ran, self.lock = [], threading.Lock()
        self.together = threading.Barrier(together, timeout=10)
        self.done = []

    def carry_out(self, job, holder):
        with self.lock:
            self.ran.append((job["_id"], holder, threading.current_thread().name))
        self.together.wait()  # passes only when `together` jobs are in hand at once
        return {"ranBy": holder}

    def completed(self, job, result, holder, completed):
        self.done.append((job["_id"], completed))

    def failed(self, job, error, holder):
        raise AssertionError(f"{job['_id']} failed: {error!r}")


def test_a_kind_a_test_registers_is_leased_and_run_in_its_own_slots(services, db):
    jobs = services.job_store
    for n in range(4):
        assert jobs.enqueue(f"fake-{n}", {"kind": "fake", "n": n})
    assert jobs.enqueue("other-0", {"kind": "other"})
    fake, other = Recorded(together=2), Recorded()
    worker = Worker(
        jobs,
        [JobKind("fake", fake, concurrency=2), JobKind("other", other, concurrency=1)],
        WorkerSettings(worker_id="w", poll_seconds=0.05),
    )
    assert worker.slots == {"fake": 2, "other": 1}
    with running(worker):
        wait_until(lambda: db.recording_jobs.count_documents({"status": "done"}) == 5)
    # the fake kind's two slots (numbered first, as registered) ran its four jobs, two at
    # once (the barrier), and the other kind's one slot its one job
    assert {holder for _, holder, _ in fake.ran} == {"w/1", "w/2"}
    assert {thread for _, _, thread in fake.ran} == {"fake-slot-1", "fake-slot-2"}
    assert sorted(job_id for job_id, _, _ in fake.ran) == [f"fake-{n}" for n in range(4)]
    assert other.ran == [("other-0", "w/3", "other-slot-3")]
    assert sorted(fake.done) == [(f"fake-{n}", True) for n in range(4)]
    stored = {job["_id"]: job for job in db.recording_jobs.find()}
    assert {
        job_id: (job["kind"], job["status"], job["attempts"]) for job_id, job in stored.items()
    } == {
        **{f"fake-{n}": ("fake", "done", 1) for n in range(4)},
        "other-0": ("other", "done", 1),
    }
    assert stored["other-0"]["result"] == {"ranBy": "w/3"}
    assert {stored[f"fake-{n}"]["result"]["ranBy"] for n in range(4)} <= {"w/1", "w/2"}


class Flaky(Exception):
    """A failure a later attempt may get past."""


class AlwaysFlaky(RetriedJobs):
    what = "flaky job"

    def __init__(self, jobs):
        self.jobs = jobs
        self.retry = Backoff(10, cap_seconds=25)
        self.max_attempts = 4
        self.expected = (Flaky,)
        self.tries, self.given_up = [], []

    def carry_out(self, job, holder):
        self.tries.append(job["attempts"])
        raise Flaky(f"try {job['attempts']}")

    def completed(self, job, result, holder, completed):
        raise AssertionError("never completed")

    def gave_up(self, job):
        self.given_up.append(job["_id"])


@pytest.fixture
def held(monkeypatch):
    """The job store's and the retry's time, held until the test moves it."""

    class Held:
        now = utcnow()

        def advance(self, seconds):
            self.now += timedelta(seconds=seconds)

    clock = Held()
    monkeypatch.setattr(repository, "utcnow", lambda: clock.now)
    monkeypatch.setattr(kinds_module, "utcnow", lambda: clock.now)
    return clock


def test_a_retried_error_is_retried_after_the_policys_delays_until_its_attempts_run_out(
    services, db, held, caplog
):
    jobs = services.job_store
    jobs.enqueue("flaky-1", {"kind": "flaky"})
    handler = AlwaysFlaky(jobs)
    worker = Worker(jobs, [JobKind("flaky", handler, max_attempts=4)], WorkerSettings("w"))
    start = held.now
    for attempt, delay in ((1, 10), (2, 20), (3, 25)):  # doubling from 10 s, capped at 25 s
        assert worker.process_next() is True
        job = db.recording_jobs.find_one({"_id": "flaky-1"})
        assert (job["status"], job["attempts"], job["error"]) == (
            "pending",
            attempt,
            f"Flaky: try {attempt}",
        )
        assert job["runAt"] - held.now == timedelta(seconds=delay)
        held.advance(delay - 0.001)
        assert worker.process_next() is False  # not due a millisecond before its delay
        held.advance(0.001)
    assert worker.process_next() is True  # the fourth and last attempt fails for good
    job = db.recording_jobs.find_one({"_id": "flaky-1"})
    assert (job["status"], job["attempts"], job["error"]) == ("failed", 4, "Flaky: try 4")
    assert handler.tries == [1, 2, 3, 4]
    assert handler.given_up == ["flaky-1"]
    assert held.now - start == timedelta(seconds=10 + 20 + 25)
    assert worker.process_next() is False
    # an expected failure: warnings without a traceback, then the error of giving up
    lines = [
        (r.levelno, r.getMessage(), r.exc_info) for r in caplog.records if "flaky" in r.getMessage()
    ]
    assert lines == [
        (
            logging.WARNING,
            f"flaky job flaky-1 attempt {n} by w failed (Flaky: try {n}); retry in {d}s",
            None,
        )
        for n, d in ((1, 10), (2, 20), (3, 25))
    ] + [(logging.ERROR, "flaky job flaky-1 failed for good (attempt 4 by w): Flaky: try 4", None)]


def test_a_job_of_a_kind_the_worker_does_not_run_is_left_alone(services, db):
    """A newer deploy's kind in the queue: neither a worker of other kinds nor the app's
    own worker leases it (before the platform, `drain` leased it and ran it as an upload)."""
    jobs = services.job_store
    jobs.enqueue("newer-1", {"kind": "from-a-newer-deploy", "session": "s-1"})
    before = db.recording_jobs.find_one({"_id": "newer-1"})
    assert services.make_worker(periodic=[], worker_store=None).drain() == 0
    fake = Recorded()
    worker = Worker(jobs, [JobKind("fake", fake)], WorkerSettings("w", poll_seconds=0.01))
    assert worker.drain() == 0
    with running(worker):
        jobs.enqueue("fake-1", {"kind": "fake"})
        wait_until(lambda: fake.done == [("fake-1", True)])
    assert fake.ran == [("fake-1", "w/1", "fake-slot-1")]
    assert db.recording_jobs.find_one({"_id": "newer-1"}) == before  # untouched


def test_a_kind_needs_a_slot_and_a_name_is_registered_once(services):
    with pytest.raises(ValueError, match="at least one fake job slot, got 0"):
        JobKind("fake", Recorded(), concurrency=0)
    with pytest.raises(ValueError, match="'fake' is registered twice"):
        Worker(services.job_store, [JobKind("fake", Recorded()), JobKind("fake", Recorded())])


def test_the_apps_kinds_keep_todays_retry_numbers(services):
    worker = services.make_worker(retry_base_seconds=30, max_attempts=6, periodic=[])
    assert list(worker.slots) == [UPLOAD, ROOM_DELETION, WEBHOOK]
    uploads, rooms = worker.handler(UPLOAD), worker.handler(ROOM_DELETION)
    webhooks = worker.handler(WEBHOOK)
    # uploads: 30 s doubling, uncapped, over their six attempts
    assert [uploads.retry.delay(n) for n in range(1, 7)] == [30, 60, 120, 240, 480, 960]
    # room deletions: doubling, at most 15 minutes, retried until done
    assert [rooms.retry.delay(n) for n in (1, 5, 6, 40)] == [30, 480, 900, 900]
    # webhooks: WEBHOOKS_RETRY_BASE_SECONDS doubling, at most an hour
    base = webhooks.retry.base_seconds
    assert [webhooks.retry.delay(n) for n in (1, 2)] == [base, 2 * base]
    assert webhooks.retry.delay(200) == min(base * 2**30, 3600)
    assert worker.kinds[UPLOAD].max_attempts == 6
    assert worker.kinds[ROOM_DELETION].max_attempts is None
    assert worker.kinds[WEBHOOK].keep_lease is False


def test_one_job_of_any_kind_is_the_one_due_the_longest(services, db):
    """`process_next()` without a kind (drain, `recordings process --once`) takes the job
    the queue has had due the longest, whatever its kind, as one lease of any kind did."""
    jobs = services.job_store
    first, second = Recorded(), Recorded()
    assert jobs.enqueue("second-0", {"kind": "second"})
    assert jobs.enqueue("first-0", {"kind": "first"})
    db.recording_jobs.update_one(
        {"_id": "second-0"}, {"$set": {"runAt": utcnow() - timedelta(minutes=5)}}
    )
    worker = Worker(
        jobs,
        [JobKind("first", first, concurrency=1), JobKind("second", second, concurrency=1)],
        WorkerSettings(worker_id="w", poll_seconds=0.05),
    )
    assert worker.process_next() is True
    assert (second.ran, first.ran) == ([("second-0", "w", threading.current_thread().name)], [])
    assert db.recording_jobs.find_one({"_id": "second-0"})["status"] == "done"
    assert db.recording_jobs.find_one({"_id": "first-0"})["status"] == "pending"
    assert worker.process_next() is True
    assert [job_id for job_id, _, _ in first.ran] == ["first-0"]
    assert worker.process_next() is False
