"""DELETE /sessions/:id when Daily's rate limit has no turn, or this process has its share
of Daily calls in flight: the session is deleted at once (the spec's 200), and the worker's
durable job deletes the room, retried until it is gone."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from livesessions.daily.limits import LIMITS, SLOW
from livesessions.jobs.repository import ROOM_DELETION
from tests.support.factories import seed_session

RATE_LIMITED = {"error": "rate-limit-error", "info": "too many requests"}
DOWN = {"error": "server-error", "info": "boom"}


@pytest.fixture
def app(make_app):
    # a retried job is due again at once; the breaker stays closed through a long outage
    return make_app(RECORDING_RETRY_BASE_SECONDS=0, DAILY_BREAKER_FAILURES=100)


@pytest.fixture
def session(db, daily):
    doc = seed_session(db)
    daily.rooms[doc["roomName"]] = {"name": doc["roomName"]}
    return doc


def delete(client, auth, session):
    return client.delete(f"/sessions/{session['_id']}", headers=auth)


def room_jobs(db):
    return list(db.recording_jobs.find({"kind": ROOM_DELETION}))


def test_rate_limited_then_daily_down_then_recovered(app, client, auth, db, daily, session):
    daily.fail("delete", status=429, body=RATE_LIMITED, times=1)
    response = delete(client, auth, session)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["message"], body["session"]["_id"]) == (
        "Live session deleted successfully",
        session["_id"],
    )
    stored = db.livesessions.find_one({"_id": session["_id"]})
    assert (stored["status"], stored["deletedAt"] is not None) == ("cancelled", True)
    assert session["roomName"] in daily.rooms  # not yet
    (job,) = room_jobs(db)
    assert (job["_id"], job["room"], job["session"], job["status"]) == (
        f"room:{session['roomName']}",
        session["roomName"],
        session["_id"],
        "pending",
    )

    worker = app.extensions["livesessions"].make_worker()
    daily.fail("delete", status=500, body=DOWN, times=2)  # the call and its one retry
    assert worker.process_next() is True
    (job,) = room_jobs(db)
    assert (job["status"], job["attempts"]) == ("pending", 1)
    assert "server-error" in job["error"]
    assert session["roomName"] in daily.rooms

    assert worker.process_next() is True  # Daily is back
    (job,) = room_jobs(db)
    assert (job["status"], job["attempts"], job["result"]) == (
        "done",
        2,
        {"deleted": session["roomName"]},
    )
    assert session["roomName"] not in daily.rooms
    assert db.livesessions.find_one({"_id": session["_id"]})["deletedAt"] is not None
    assert worker.process_next() is False
    # the session stays deleted; asking again is the spec's 404, with no second job
    again = delete(client, auth, session)
    assert (again.status_code, again.get_json()) == (404, {"message": "Live session not found"})
    assert len(room_jobs(db)) == 1


def test_a_room_deletion_outlives_the_attempts_of_an_upload(app, db, daily, session):
    services = app.extensions["livesessions"]
    services.job_store.enqueue_room_deletion(session["roomName"], session["_id"])
    db.livesessions.update_one(
        {"_id": session["_id"]}, {"$set": {"deletedAt": session["createdAt"]}}
    )
    worker = services.make_worker()
    max_attempts = worker.handler(ROOM_DELETION).max_attempts
    daily.fail("delete", status=500, body=DOWN, times=2 * (max_attempts + 1))
    for _ in range(max_attempts + 1):
        assert worker.process_next() is True
    (job,) = room_jobs(db)
    assert (job["status"], job["attempts"]) == ("pending", max_attempts + 1)
    assert worker.process_next() is True
    assert room_jobs(db)[0]["status"] == "done"
    assert session["roomName"] not in daily.rooms


def test_no_turn_free_means_no_call_and_a_job(client, auth, db, daily, session, app):
    # the slow family's window full already (e.g. a course withdrawn a second ago)
    services = app.extensions["livesessions"]
    limits = LIMITS[SLOW]
    now = services.daily.pacer.clock()
    for n in range(limits[0].calls):  # the per-second number: 2
        services.daily.pacer.turns.reserve(SLOW, limits, lambda: now, now, f"other-{n}")
    response = delete(client, auth, session)
    assert response.status_code == 200
    assert daily.calls("DELETE") == []
    assert [job["room"] for job in room_jobs(db)] == [session["roomName"]]


def test_a_process_busy_with_daily_queues_the_deletion_instead_of_a_500(make_app, auth, daily):
    """The process's one in-flight Daily call (DAILY_MAX_CONCURRENT_CALLS=1, the default) is
    a reschedule that Daily is slow to answer: a deletion meanwhile finds no slot within
    DAILY_QUEUE_SECONDS. That says nothing of Daily, so it is the spec's 200 and a job."""
    app = make_app(RECORDING_RETRY_BASE_SECONDS=0, DAILY_QUEUE_SECONDS=0.05)
    db = app.extensions["livesessions"].database.db
    busy, deleted = seed_session(db), seed_session(db)
    for doc in (busy, deleted):
        daily.rooms[doc["roomName"]] = {"name": doc["roomName"], "config": {}}
    rescheduling = app.test_client()
    # the pool ends after the hold: the held reschedule is answered before it is joined
    with ThreadPoolExecutor(1) as pool, daily.hold("update") as arrived:
        rescheduled = pool.submit(
            rescheduling.put, f"/sessions/{busy['_id']}", json={"duration": 90}, headers=auth
        )
        assert arrived.wait(timeout=60)  # the reschedule holds the slot from here on
        response = delete(app.test_client(), auth, deleted)
        assert daily.calls("DELETE") == []  # it never had a slot to call Daily with
    body = response.get_json()
    assert (response.status_code, body["message"], body["session"]["_id"]) == (
        200,
        "Live session deleted successfully",
        deleted["_id"],
    )
    stored = db.livesessions.find_one({"_id": deleted["_id"]})
    assert (stored["status"], stored["deletedAt"] is not None) == ("cancelled", True)
    (job,) = room_jobs(db)
    assert (job["room"], job["session"], job["status"]) == (
        deleted["roomName"],
        deleted["_id"],
        "pending",
    )
    assert rescheduled.result().get_json()["duration"] == 90  # the held call went through
    assert app.extensions["livesessions"].make_worker().drain() == 1
    assert room_jobs(db)[0]["status"] == "done"
    assert deleted["roomName"] not in daily.rooms
    assert busy["roomName"] in daily.rooms


def test_other_daily_failures_keep_the_500_and_delete_nothing(client, auth, db, daily, session):
    daily.fail("delete", status=401, body={"error": "authentication-error", "info": "key"})
    response = delete(client, auth, session)
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to delete Daily.co room"},
    )
    stored = db.livesessions.find_one({"_id": session["_id"]})
    assert "deletedAt" not in stored
    assert stored["status"] == session["status"]
    assert room_jobs(db) == []
    assert session["roomName"] in daily.rooms


def test_a_job_never_deletes_the_room_of_a_session_in_use(app, db, daily, session):
    services = app.extensions["livesessions"]
    services.job_store.enqueue_room_deletion(session["roomName"], session["_id"])  # by hand
    assert services.make_worker().process_next() is True
    (job,) = room_jobs(db)
    assert job["status"] == "failed"
    assert "is not deleted" in job["error"]
    assert session["roomName"] in daily.rooms
    assert daily.calls("DELETE") == []


def test_room_deletions_are_not_recordings(app, client, auth, db, daily, session):
    daily.fail("delete", status=429, body=RATE_LIMITED, times=1)
    delete(client, auth, session)
    services = app.extensions["livesessions"]
    assert services.job_store.for_session(session["_id"]) == []
    assert services.job_store.latest_ready(session["_id"]) is None


def test_recordings_process_once_runs_room_deletions(app, client, auth, db, daily, session):
    daily.fail("delete", status=429, body=RATE_LIMITED, times=1)
    assert delete(client, auth, session).status_code == 200
    listed = app.test_cli_runner().invoke(args=["recordings", "list"])
    assert f"room:{session['roomName']}  pending" in listed.output
    result = app.test_cli_runner().invoke(args=["recordings", "process", "--once"])
    assert (result.exit_code, result.output) == (0, "processed 1 job(s)\n")
    assert session["roomName"] not in daily.rooms
    assert room_jobs(db)[0]["status"] == "done"
