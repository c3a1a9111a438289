"""Periodic tasks (reconcile, sweep, webhook check, purge) run in one worker at a time:
each holds a task for its period through a lease in MongoDB; the heartbeat runs in all."""

from datetime import timedelta

from livesessions.clock import utcnow
from livesessions.jobs.periodic import PeriodicTask


def workers_with_a_task(app, calls, every=60):
    services = app.extensions["livesessions"]
    task = lambda name: PeriodicTask("reconcile recordings", every, lambda: calls.append(name))  # noqa: E731
    return [services.make_worker(worker_id=name, periodic=[task(name)]) for name in ("one", "two")]


def test_two_workers_run_a_task_once_per_period(app, db):
    calls = []
    one, two = workers_with_a_task(app, calls)
    before = utcnow()
    one.run_periodic()
    after = utcnow()
    two.run_periodic()
    assert calls == ["one"]
    lease = db.task_leases.find_one({"_id": "reconcile recordings"})
    assert lease["holder"] == "one"
    # a period (60 s) from when `one` took it
    assert before + timedelta(seconds=60) <= lease["until"] <= after + timedelta(seconds=60)
    # the holder keeps it at its next turn
    for worker in (one, two):
        for task in worker.periodic:
            task.due = 0
    two.run_periodic()
    one.run_periodic()
    assert calls == ["one", "one"]


def test_the_task_passes_to_another_worker_when_its_holder_stops(app, db):
    calls = []
    one, two = workers_with_a_task(app, calls)
    one.run_periodic()
    db.task_leases.update_one(  # `one` was killed a period ago: its lease ran out
        {"_id": "reconcile recordings"}, {"$set": {"until": utcnow() - timedelta(seconds=1)}}
    )
    two.run_periodic()
    assert calls == ["one", "two"]
    assert db.task_leases.find_one({"_id": "reconcile recordings"})["holder"] == "two"


def test_the_heartbeat_is_every_workers_own(app, db):
    services = app.extensions["livesessions"]
    one, two = (services.make_worker(worker_id=name, periodic=[]) for name in ("one", "two"))
    for worker in (one, two):  # what `run` adds before its loop
        worker.periodic.insert(0, PeriodicTask("heartbeat", 10, worker._beat, shared=False))
        worker.run_periodic()
    assert sorted(doc["_id"] for doc in db.workers.find()) == ["one", "two"]
    assert db.task_leases.count_documents({}) == 0
