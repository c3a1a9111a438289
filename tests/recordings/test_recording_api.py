"""POST /sessions/recording/start and /stop, and what the webhook stores (not the upload)."""

import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from livesessions.clock import to_ms, utcnow
from tests.support.factories import in_class, seed_session
from tests.support.webhooks import SECRET, sign


def ready_envelope(recording_id="daily-rec-1", room="room-a", duration=3600):
    return {
        "version": "1.0.0",
        "type": "recording.ready-to-download",
        "id": "evt-1",
        "payload": {
            "type": "cloud",
            "recording_id": recording_id,
            "room_name": room,
            "start_ts": 1703500800,
            "status": "finished",
            "max_participants": 3,
            "duration": duration,
            "s3_key": "domain/room-a/1703500800",
            "tracks": [],
        },
        "event_ts": time.time(),
    }


@pytest.fixture
def live_session(db):
    return seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())


def test_start_returns_the_documented_body(client, daily, db, live_session):
    before = int(time.time() * 1000)
    response = client.post("/sessions/recording/start", json={"roomName": "room-a"})
    assert response.status_code == 200
    body = response.get_json()
    recording = body["recording"]
    assert body == {
        "success": True,
        "recording": {
            "id": recording["id"],
            "room_name": "room-a",
            "status": "recording",
            "start_ts": recording["start_ts"],
            "duration": 0,
        },
    }
    assert before <= recording["start_ts"] <= int(time.time() * 1000)
    ((room, sent),) = daily.recordings
    assert (room, sent) == ("room-a", {"type": "cloud", "instanceId": recording["id"]})
    stored = db.recordings.find_one({"_id": recording["id"]})
    assert stored["session"] == live_session["_id"]
    assert (stored["room"], stored["status"], stored["dailyId"]) == ("room-a", "recording", None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Room name is required"),
        ({"roomName": ""}, "Room name is required"),
        ({"roomName": None}, "Room name is required"),
        ({"roomName": {"$ne": None}}, '"roomName" must be a string'),
        (
            {"roomName": "r" * 129},
            '"roomName" length must be less than or equal to 128 characters long',
        ),
        ({"roomName": "room-a", "layout": "x"}, '"layout" is not allowed'),
    ],
)
def test_start_validation(client, daily, db, live_session, body, message):
    response = client.post("/sessions/recording/start", json=body)
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert daily.calls() == []
    assert db.recordings.count_documents({}) == 0


def test_start_for_an_unknown_room_is_404(client, daily, db):
    response = client.post("/sessions/recording/start", json={"roomName": "nobody-here"})
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )
    assert daily.calls() == []


@pytest.mark.parametrize(
    ("status", "exception"),
    [(404, None), (503, None), (429, None), (None, requests.ReadTimeout("slow"))],
)
def test_start_failures_on_daily(client, daily, db, live_session, status, exception):
    daily.fail("start", status, {"error": "not-found", "info": "not hosting a call"}, exception)
    response = client.post("/sessions/recording/start", json={"roomName": "room-a"})
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to start recording on Daily.co"},
    )
    assert db.recordings.count_documents({}) == 0


def start(client, room="room-a"):
    return client.post("/sessions/recording/start", json={"roomName": room}).get_json()["recording"]


def test_stop_returns_the_documented_body(client, daily, db, live_session):
    started = start(client)
    began = utcnow() - timedelta(seconds=90)  # as if the class went on for 90 s
    db.recordings.update_one({"_id": started["id"]}, {"$set": {"startedAt": began}})
    response = client.post("/sessions/recording/stop", json={"recordingId": started["id"]})
    stopped_by = utcnow()
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "success": True,
        "recording": {
            "id": started["id"],
            "room_name": "room-a",
            "status": "finished",
            "duration": body["recording"]["duration"],
            "end_ts": body["recording"]["end_ts"],
        },
    }
    # 90 s, and whatever the stop itself took (whole seconds)
    assert 90 <= body["recording"]["duration"] <= round((stopped_by - began).total_seconds())
    assert to_ms(began) + 90_000 <= body["recording"]["end_ts"] <= to_ms(stopped_by)
    (call,) = daily.calls(kind="stop")
    assert call.request.url.endswith("/rooms/room-a/recordings/stop")
    assert json.loads(call.request.body) == {"instanceId": started["id"]}
    stored = db.recordings.find_one({"_id": started["id"]})
    assert stored["status"] == "finished"


def test_stop_by_dailys_recording_id(client, daily, db, live_session):
    started = start(client)
    client.post(
        "/sessions/webhook/daily",
        json={
            "version": "1.0.0",
            "type": "recording.started",
            "id": "evt",
            "payload": {"recording_id": "daily-77", "instance_id": started["id"], "start_ts": 1},
            "event_ts": 1,
        },
    )
    assert db.recordings.find_one({"_id": started["id"]})["dailyId"] == "daily-77"
    response = client.post("/sessions/recording/stop", json={"recordingId": "daily-77"})
    assert response.get_json()["recording"]["id"] == started["id"]
    (call,) = daily.calls(kind="stop")
    assert json.loads(call.request.body) == {"instanceId": started["id"]}


def test_stopping_twice_calls_daily_once(client, daily, live_session):
    started = start(client)
    first = client.post("/sessions/recording/stop", json={"recordingId": started["id"]})
    second = client.post("/sessions/recording/stop", json={"recordingId": started["id"]})
    assert first.get_json() == second.get_json()
    assert len(daily.calls(kind="stop")) == 1


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({}, 400, "Recording ID is required"),
        ({"recordingId": ""}, 400, "Recording ID is required"),
        ({"recordingId": 5}, 400, '"recordingId" must be a string'),
        ({"recordingId": "unknown"}, 404, "Recording not found"),
    ],
)
def test_stop_errors(client, daily, body, status, message):
    response = client.post("/sessions/recording/stop", json=body)
    assert (response.status_code, response.get_json()) == (status, {"message": message})
    assert daily.calls() == []


def test_stop_failure_on_daily_keeps_the_recording_running(client, daily, db, live_session):
    started = start(client)
    daily.fail("stop", 500, {"error": "server-error"})
    response = client.post("/sessions/recording/stop", json={"recordingId": started["id"]})
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Failed to stop recording on Daily.co"},
    )
    assert db.recordings.find_one({"_id": started["id"]})["status"] == "recording"


# -- webhook ------------------------------------------------------------------------------------


def test_ready_to_download_queues_one_job(client, db, live_session):
    response = client.post("/sessions/webhook/daily", json=ready_envelope())
    assert (response.status_code, response.get_json()) == (200, {"received": True})
    job = db.recording_jobs.find_one({"_id": "daily-rec-1"})
    assert job["session"] == live_session["_id"]
    assert (job["room"], job["status"], job["attempts"], job["duration"]) == (
        "room-a",
        "pending",
        0,
        3600,
    )
    assert job["downloadUrl"] is None


def test_the_flat_payload_of_the_spec_is_accepted(client, db, live_session):
    flat = {
        "type": "recording.ready-to-download",
        "room": "room-a",
        "recording_id": "recording-uuid",
        "download_url": "https://api.daily.co/recordings/x",
        "duration": 3600,
        "start_ts": 1703500800000,
        "end_ts": 1703504400000,
    }
    assert client.post("/sessions/webhook/daily", json=flat).status_code == 200
    job = db.recording_jobs.find_one({"_id": "recording-uuid"})
    assert job["session"] == live_session["_id"]
    # unsigned: the payload's URL is not trusted, the worker asks Daily for a link instead
    assert job["downloadUrl"] is None


@pytest.mark.parametrize(
    ("download_url", "used"),
    [
        ("https://download.daily.test/r.mp4", True),  # a host of Daily's domain (api.daily.test)
        ("https://api.daily.test/r.mp4", True),
        ("https://storage.example/r.mp4", False),  # anyone else's: the access link instead
        ("https://daily.test.evil.example/r.mp4", False),
        ("http://127.0.0.1:9/r.mp4", False),
        ("file:///etc/passwd", False),
    ],
)
def test_a_signed_payload_download_url_is_used_only_on_dailys_hosts(
    make_app, db_for, live_session_for, download_url, used
):
    app = make_app(DAILY_WEBHOOK_SECRET=SECRET)
    db = db_for(app)
    live_session_for(db)
    flat = json.dumps(
        {
            "type": "recording.ready-to-download",
            "room": "room-a",
            "recording_id": "r-signed",
            "download_url": download_url,
        }
    ).encode()
    response = app.test_client().post("/sessions/webhook/daily", data=flat, headers=sign(flat))
    assert response.status_code == 200
    job = db.recording_jobs.find_one({"_id": "r-signed"})
    assert job["downloadUrl"] == (download_url if used else None)


def test_five_deliveries_make_one_job(client, db, live_session):
    for _ in range(5):
        assert client.post("/sessions/webhook/daily", json=ready_envelope()).status_code == 200
    assert db.recording_jobs.count_documents({}) == 1


def test_concurrent_deliveries_make_one_job(app, db, live_session):
    barrier = threading.Barrier(10)
    statuses = []

    def deliver():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/sessions/webhook/daily", json=ready_envelope()).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 10
    assert db.recording_jobs.count_documents({}) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"test": "test"},  # Daily's endpoint verification
        {"type": "participant.joined", "payload": {"room": "room-a"}},
        {"type": "meeting.started", "payload": {"room": "room-a"}},
        {"type": 5},
        [],
        "text",
        {},
        {"type": "recording.ready-to-download", "payload": {"room_name": "room-a"}},
        {
            "type": "recording.ready-to-download",
            "payload": {"recording_id": ["x"], "room_name": "room-a"},
        },
        {"type": "recording.ready-to-download", "payload": "nonsense"},
    ],
)
def test_other_valid_json_is_acknowledged_and_stores_nothing(client, db, live_session, body):
    response = client.post("/sessions/webhook/daily", json=body)
    assert (response.status_code, response.get_json()) == (200, {"received": True})
    assert db.recording_jobs.count_documents({}) == 0
    # (meeting.started notes the room's meeting running: tests/api/test_meeting_lifecycle.py)
    assert db.livesessions.find_one({"_id": live_session["_id"]}, {"meeting": 0}) == live_session


def test_garbage_is_a_400_and_stores_nothing(client, db, live_session):
    response = client.post(
        "/sessions/webhook/daily", data=b"\x00\xffnot json", content_type="application/json"
    )
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": "Webhook body is not valid JSON"},
    )
    assert db.recording_jobs.count_documents({}) == 0


def test_a_webhook_for_an_unknown_room_stores_nothing(client, db):
    response = client.post("/sessions/webhook/daily", json=ready_envelope(room="who-knows"))
    assert response.status_code == 200
    assert db.recording_jobs.count_documents({}) == 0


def test_recording_error_and_stopped_events_update_the_recording(client, daily, db, live_session):
    first = start(client)
    client.post(
        "/sessions/webhook/daily",
        json={
            "type": "recording.error",
            "payload": {
                "action": "cloud-recording-err",
                "error_msg": "disk full",
                "instance_id": first["id"],
                "room_name": "room-a",
                "timestamp": 1,
            },
        },
    )
    stored = db.recordings.find_one({"_id": first["id"]})
    assert (stored["status"], stored["error"]) == ("error", "disk full")
    second = start(client)  # the failed recording no longer holds the session
    client.post(
        "/sessions/webhook/daily",
        json={"type": "recording.stopped", "instance_id": second["id"], "duration": 42},
    )
    stored = db.recordings.find_one({"_id": second["id"]})
    assert (stored["status"], stored["duration"]) == ("finished", 42)


def test_room_exp_ends_a_live_session_only(client, db):
    # room.exp comes at the class's end plus the room's grace (30 minutes)
    over = datetime.now(UTC) - timedelta(minutes=95)
    live = seed_session(db, roomName="exp-live", status="live", scheduledAt=over, duration=60)
    scheduled = seed_session(db, roomName="exp-scheduled", scheduledAt=over, duration=60)
    for room in ("exp-live", "exp-scheduled"):
        client.post("/sessions/webhook/daily", json={"type": "room.exp", "payload": {"room": room}})
    assert db.livesessions.find_one({"_id": live["_id"]})["status"] == "ended"
    assert db.livesessions.find_one({"_id": scheduled["_id"]})["status"] == "scheduled"


# -- signatures -------------------------------------------------------------------------------


@pytest.fixture
def db_for():
    return lambda app: app.extensions["livesessions"].database.db


@pytest.fixture
def live_session_for():
    return lambda db: seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())


def test_a_valid_signature_is_accepted(signed_app, db_for, live_session_for):
    db = db_for(signed_app)
    live_session_for(db)
    body = json.dumps(ready_envelope()).encode()
    response = signed_app.test_client().post(
        "/sessions/webhook/daily", data=body, headers=sign(body)
    )
    assert response.status_code == 200
    assert db.recording_jobs.count_documents({}) == 1


def test_a_millisecond_timestamp_is_accepted(signed_app, db_for, live_session_for):
    db = db_for(signed_app)
    live_session_for(db)
    body = json.dumps(ready_envelope()).encode()
    headers = sign(body, timestamp=int(time.time() * 1000))
    assert (
        signed_app.test_client()
        .post("/sessions/webhook/daily", data=body, headers=headers)
        .status_code
        == 200
    )


def _forged_headers(body):
    good = sign(body)
    return {
        "missing": {"Content-Type": "application/json"},
        "no timestamp": {**good, "X-Webhook-Timestamp": ""},
        "other secret": sign(body, secret=base64.b64encode(b"another").decode()),
        "body changed": sign(body + b" "),
        "truncated": {**good, "X-Webhook-Signature": good["X-Webhook-Signature"][:-4]},
        "stale": sign(body, timestamp=int(time.time()) - 3600),
        "future": sign(body, timestamp=int(time.time()) + 3600),
        "not a number": {**sign(body, timestamp="abc")},
    }


@pytest.mark.parametrize("case", list(_forged_headers(b"{}")))
def test_bad_signatures_are_401_and_process_nothing(signed_app, db_for, live_session_for, case):
    db = db_for(signed_app)
    session = live_session_for(db)
    body = json.dumps(ready_envelope()).encode()
    headers = _forged_headers(body)[case]
    response = signed_app.test_client().post("/sessions/webhook/daily", data=body, headers=headers)
    assert (response.status_code, response.get_json()) == (
        401,
        {"message": "Invalid webhook signature"},
    )
    assert db.recording_jobs.count_documents({}) == 0
    assert db.livesessions.find_one({"_id": session["_id"]}) == session


def test_the_webhook_answers_fast_whatever_the_upload(app, client, db, live_session, monkeypatch):
    """However slow Daily's download or Cloudinary are, the webhook only queues the job: it
    never asks either (checked as such, not timed)."""
    services = app.extensions["livesessions"]
    asked = []
    monkeypatch.setattr(services.daily, "access_link", lambda *a, **k: asked.append("daily"))
    monkeypatch.setattr(
        services.cloudinary, "upload_video", lambda *a, **k: asked.append("cloudinary")
    )
    for n in range(20):
        response = client.post("/sessions/webhook/daily", json=ready_envelope(recording_id=f"r{n}"))
        assert response.get_json() == {"received": True}
    assert asked == []
    assert db.recording_jobs.count_documents({"status": "pending"}) == 20


def test_a_started_webhook_that_beats_dailys_answer_is_linked(
    app, client, db, live_session, monkeypatch
):
    """Daily may deliver `recording.started` before its start call has returned."""
    daily = app.extensions["livesessions"].daily

    def start_and_notify(room_name, instance_id):
        early = {
            "type": "recording.started",
            "payload": {"recording_id": "daily-early", "instance_id": instance_id},
        }
        assert app.test_client().post("/sessions/webhook/daily", json=early).status_code == 200
        return {"status": "sent"}

    monkeypatch.setattr(daily, "start_recording", start_and_notify)
    started = start(client)
    stored = db.recordings.find_one({"_id": started["id"]})
    assert (stored["dailyId"], stored["status"]) == ("daily-early", "recording")


def test_a_database_failure_asks_daily_to_deliver_again(app, client, live_session, monkeypatch):
    from pymongo.errors import AutoReconnect

    def down(*args):
        raise AutoReconnect("primary stepped down")

    monkeypatch.setattr(app.extensions["livesessions"].job_store, "enqueue", down)
    response = client.post("/sessions/webhook/daily", json=ready_envelope())
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": "Database query failed"},
    )


# -- recordingStatus on GET /sessions/:id ----------------------------------------------------


def recording_status(client, auth, session):
    return client.get(f"/sessions/{session['_id']}", headers=auth).get_json()["recordingStatus"]


def test_recording_status_follows_the_pipeline(client, auth, daily, db, live_session):
    assert recording_status(client, auth, live_session) == "none"
    recording = start(client)
    assert recording_status(client, auth, live_session) == "recording"
    client.post("/sessions/recording/stop", json={"recordingId": recording["id"]})
    assert recording_status(client, auth, live_session) == "processing"
    client.post("/sessions/webhook/daily", json=ready_envelope())  # the job is queued
    assert recording_status(client, auth, live_session) == "processing"
    # a failed job, then an operator's retry
    db.recording_jobs.update_one({"_id": "daily-rec-1"}, {"$set": {"status": "failed"}})
    db.livesessions.update_one(
        {"_id": live_session["_id"]}, {"$set": {"recordingStatus": "failed"}}
    )
    result = client.application.test_cli_runner().invoke(
        args=["recordings", "retry", "daily-rec-1"]
    )
    assert result.exit_code == 0
    assert recording_status(client, auth, live_session) == "processing"


def test_a_recording_error_marks_the_recording_failed(client, auth, daily, db, live_session):
    recording = start(client)
    error = {"error_msg": "disk full", "instance_id": recording["id"], "room_name": "room-a"}
    client.post("/sessions/webhook/daily", json={"type": "recording.error", "payload": error})
    assert recording_status(client, auth, live_session) == "failed"


def test_sessions_from_before_recording_status_are_ready_when_recorded(client, auth, db):
    recorded = seed_session(db, isRecorded=True, recordingUrl="https://cdn.example/x.mp4")
    plain = seed_session(db)
    assert recording_status(client, auth, recorded) == "ready"
    assert recording_status(client, auth, plain) == "none"
    # lists keep the spec's fields only
    listed = client.get("/sessions", headers=auth).get_json()["sessions"]
    assert all("recordingStatus" not in session for session in listed)


# -- when a recording may start (attack 1's "ended, cancelled, several at once") -----------


def start_answer(client, room="room-a"):
    response = client.post("/sessions/recording/start", json={"roomName": room})
    return response.status_code, response.get_json()


@pytest.mark.parametrize("status", ["ended", "cancelled"])
def test_a_closed_session_is_not_recorded(client, daily, db, status):
    seed_session(db, roomName="room-a", status=status, scheduledAt=in_class())
    assert start_answer(client) == (400, {"message": f"Cannot record a session that is {status}"})
    assert daily.calls(kind="start") == []
    assert db.recordings.count_documents({}) == 0


def test_a_session_is_recorded_only_inside_its_class_window(client, daily, db):
    # the window: JOIN_OPENS_MINUTES_BEFORE (15) before the start to the room's closing,
    # DAILY_ROOM_EXP_GRACE_MINUTES (30) after the end of the class
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=20)
    seed_session(db, roomName="early", scheduledAt=start)
    seed_session(db, roomName="over", status="live", scheduledAt=start - timedelta(hours=2))
    seed_session(db, roomName="opening", scheduledAt=start - timedelta(minutes=10))
    seed_session(db, roomName="grace", status="live", scheduledAt=start - timedelta(minutes=100))
    opens = (start - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert start_answer(client, "early") == (
        400,
        {"message": f"This live session can be recorded from {opens}"},
    )
    assert start_answer(client, "over") == (400, {"message": "This live session is over"})
    assert [call.request.url for call in daily.calls(kind="start")] == []
    assert start_answer(client, "opening")[0] == 200  # 5 minutes before its start
    assert start_answer(client, "grace")[0] == 200  # ended 20 minutes ago, room still open
    assert len(daily.calls(kind="start")) == 2


def test_a_second_start_is_refused_while_one_is_running(client, daily, db, live_session):
    first = start(client)
    assert start_answer(client) == (
        400,
        {"message": "This live session is already being recorded"},
    )
    assert len(daily.calls(kind="start")) == 1
    assert db.recordings.count_documents({}) == 1
    stored = db.livesessions.find_one({"_id": live_session["_id"]})
    assert stored["activeRecording"] == first["id"]
    stopped = client.post("/sessions/recording/stop", json={"recordingId": first["id"]})
    assert stopped.get_json()["recording"]["status"] == "finished"
    second = start(client)  # stopped: the next half of the class may be recorded
    assert second["id"] != first["id"]
    assert db.livesessions.find_one({"_id": live_session["_id"]})["activeRecording"] == second["id"]


def test_simultaneous_starts_reach_daily_once(app, daily, db, live_session):
    barrier = threading.Barrier(8)
    answers = []

    def press_record():
        client = app.test_client()
        barrier.wait()
        answers.append(start_answer(client)[0])

    threads = [threading.Thread(target=press_record) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] + [400] * 7
    assert len(daily.calls(kind="start")) == 1
    assert db.recordings.count_documents({}) == 1


def test_a_start_daily_refuses_leaves_the_session_free(client, daily, db, live_session):
    daily.fail("start", 400, {"error": "invalid-request-error"}, times=1)
    assert start_answer(client) == (500, {"message": "Failed to start recording on Daily.co"})
    assert db.livesessions.find_one({"_id": live_session["_id"]})["activeRecording"] is None
    assert start_answer(client)[0] == 200


def test_the_ready_webhook_frees_the_session_even_if_stop_was_lost(client, daily, db, live_session):
    started = start(client)
    body = ready_envelope()
    body["payload"]["recording_id"] = started["id"]  # Daily's id unknown: ours matches too
    client.post("/sessions/webhook/daily", json=body)
    assert db.livesessions.find_one({"_id": live_session["_id"]})["activeRecording"] is None
    assert start_answer(client)[0] == 200


def test_a_lapsed_claim_no_longer_blocks(client, daily, db, live_session):
    start(client)
    db.livesessions.update_one(
        {"_id": live_session["_id"]},
        {"$set": {"activeRecordingUntil": datetime.now(UTC) - timedelta(seconds=1)}},
    )
    assert start_answer(client)[0] == 200


def test_an_error_that_beats_dailys_answer_stands(app, client, db, live_session, monkeypatch):
    """Daily may report the recording failed before its start call has returned."""
    daily = app.extensions["livesessions"].daily

    def start_and_fail(room_name, instance_id):
        error = {
            "type": "recording.error",
            "payload": {"instance_id": instance_id, "error_msg": "no participants"},
        }
        assert app.test_client().post("/sessions/webhook/daily", json=error).status_code == 200
        return {"status": "sent"}

    monkeypatch.setattr(daily, "start_recording", start_and_fail)
    response = client.post("/sessions/recording/start", json={"roomName": "room-a"})
    assert response.get_json()["recording"]["status"] == "error"
    stored = db.recordings.find_one({"_id": response.get_json()["recording"]["id"]})
    assert (stored["status"], stored["error"]) == ("error", "no participants")
    assert db.livesessions.find_one({"_id": live_session["_id"]}).get("recordingStatus") != (
        "recording"
    )
