"""Recordings started outside the API (Daily's own record button, another service) are
adopted from Daily's signed `recording.started`: stored once under Daily's id, linked to the
session of their room, stopped by that id without an instanceId, finished and queued for
upload like the service's own."""

import json
import logging
import time
from datetime import UTC, datetime

import pytest

from livesessions.clock import to_ms, utcnow
from tests.support.webhooks import envelope, sign

DAILY_ID = "5d0e7a1c-8b2f-4c3d-9e4f-a1b2c3d4e5f6"


@pytest.fixture
def deliver(signed_app):
    """Post one signed Daily event (a fresh event id unless given); return the response."""

    def post(event_type, payload, event_id=None):
        body = json.dumps(envelope(event_type, payload, event_id)).encode()
        client = signed_app.test_client()
        return client.post("/sessions/webhook/daily", data=body, headers=sign(body))

    return post


@pytest.fixture
def start_ts():
    """When record was pressed: half a minute before the test runs (read then, not at import)."""
    return int(time.time()) - 30


@pytest.fixture
def started(start_ts):
    """The payload of Daily's recording.started (no room field, as Daily documents it)."""

    def payload(instance_id=None, recording_id=DAILY_ID):
        return {
            "recording_id": recording_id,
            "action": "start-cloud-recording",
            "layout": {"preset": "default"},
            "started_by": "participant-1",
            "instance_id": instance_id,
            "start_ts": start_ts,
        }

    return payload


@pytest.fixture
def on_daily(daily, signed_session, start_ts):
    """Daily's record of the recording: in progress in the session's room."""
    daily.recording_objects[DAILY_ID] = {
        "id": DAILY_ID,
        "room_name": signed_session["roomName"],
        "start_ts": start_ts,
        "status": "in-progress",
        "max_participants": 2,
    }
    return daily.recording_objects[DAILY_ID]


def stored_session(signed_db, signed_session):
    return signed_db.livesessions.find_one({"_id": signed_session["_id"]})


def test_a_recording_started_in_dailys_ui_is_adopted_once(
    deliver, daily, on_daily, signed_db, signed_session, started, start_ts
):
    before = utcnow()
    first = deliver("recording.started", started(), event_id="evt-started")
    again = deliver("recording.started", started(), event_id="evt-started")  # Daily's retry
    other = deliver("recording.started", started())  # the same recording, another event id
    after = utcnow()

    for response in (first, again, other):
        assert (response.status_code, response.get_json()) == (200, {"received": True})
    (doc,) = signed_db.recordings.find()
    assert before <= doc.pop("createdAt") <= after
    assert doc.pop("updatedAt") is not None
    assert doc == {
        "_id": DAILY_ID,
        "session": signed_session["_id"],
        "room": "room-a",
        "dailyId": DAILY_ID,
        "status": "recording",
        "startedAt": datetime.fromtimestamp(start_ts, UTC),
        "stoppedAt": None,
        "duration": 0,
        "error": None,
        "adopted": True,
        "instanceId": None,
    }
    assert len(daily.calls(kind="get")) == 1  # the third delivery found it stored
    (call,) = daily.calls(kind="get")
    assert call.request.url.endswith(f"/recordings/{DAILY_ID}")
    session = stored_session(signed_db, signed_session)
    assert (session["recordingStatus"], session["activeRecording"]) == ("recording", DAILY_ID)


def test_a_concurrent_delivery_that_adopts_first_leaves_one_document(
    signed_app, deliver, daily, on_daily, signed_db, signed_session, monkeypatch, started
):
    """While this delivery waits on Daily, another delivery of the event adopts the
    recording: the insert meets its document (a duplicate key) and changes nothing."""
    gateway = signed_app.extensions["livesessions"].daily
    real = gateway.get_recording

    def slow_daily(recording_id, **options):
        answer = real(recording_id, **options)
        if len(daily.calls(kind="get")) == 1:  # the competing delivery runs meanwhile
            assert deliver("recording.started", started()).status_code == 200
            signed_db.livesessions.update_one(
                {"_id": signed_session["_id"]}, {"$set": {"recordingStatus": "marker"}}
            )
        return answer

    monkeypatch.setattr(gateway, "get_recording", slow_daily)
    assert deliver("recording.started", started()).status_code == 200

    assert signed_db.recordings.count_documents({}) == 1
    assert len(daily.calls(kind="get")) == 2
    # the loser of the race did not set the session again (nor claim it)
    session = stored_session(signed_db, signed_session)
    assert (session["recordingStatus"], session["activeRecording"]) == ("marker", DAILY_ID)


def test_a_recording_in_an_unknown_room_is_ignored_and_logged(
    deliver, daily, signed_db, signed_session, caplog, started
):
    daily.recording_objects[DAILY_ID] = {"id": DAILY_ID, "room_name": "elsewhere"}
    with caplog.at_level(logging.WARNING, logger="livesessions.recordings.adoption"):
        response = deliver("recording.started", started())
    assert response.status_code == 200
    assert signed_db.recordings.count_documents({}) == 0
    assert stored_session(signed_db, signed_session) == signed_session
    assert f"recording {DAILY_ID} started in unknown room 'elsewhere': ignored" in caplog.text


@pytest.mark.parametrize("status", [500, 404])
def test_daily_failing_loses_nothing_the_ready_event_queues_the_upload(
    deliver, daily, signed_db, signed_session, caplog, status, started
):
    daily.fail("get", status, {"error": "server-error", "info": "down"})
    with caplog.at_level(logging.WARNING, logger="livesessions.recordings.adoption"):
        response = deliver("recording.started", started())
    # acknowledged: a non-200 would count against Daily's webhook, and retrying can wait
    assert (response.status_code, response.get_json()) == (200, {"received": True})
    assert signed_db.recordings.count_documents({}) == 0
    assert f"recording {DAILY_ID} was started outside the API and Daily can't say" in caplog.text

    ready = {"recording_id": DAILY_ID, "room_name": "room-a", "duration": 75, "status": "finished"}
    assert deliver("recording.ready-to-download", ready).status_code == 200
    job = signed_db.recording_jobs.find_one({"_id": DAILY_ID})
    assert (job["session"], job["room"], job["duration"], job["status"]) == (
        signed_session["_id"],
        "room-a",
        75,
        "pending",
    )
    assert (job["recordingNumber"], job["assetName"]) == (1, f"{signed_session['_id']}-recording")
    assert stored_session(signed_db, signed_session)["recordingStatus"] == "processing"


def test_stop_by_dailys_id_stops_the_default_instance(
    signed_app, deliver, daily, on_daily, signed_db, signed_session, started, start_ts
):
    deliver("recording.started", started())
    client = signed_app.test_client()

    before = utcnow()
    response = client.post("/sessions/recording/stop", json={"recordingId": DAILY_ID})
    after = utcnow()

    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "success": True,
        "recording": {
            "id": DAILY_ID,
            "room_name": "room-a",
            "status": "finished",
            "duration": body["recording"]["duration"],
            "end_ts": body["recording"]["end_ts"],
        },
    }
    # since start_ts, half a minute before the test began
    assert 30 <= body["recording"]["duration"] <= round(after.timestamp() - start_ts)
    assert to_ms(before) <= body["recording"]["end_ts"] <= to_ms(after)
    (call,) = daily.calls(kind="stop")
    assert call.request.url.endswith("/rooms/room-a/recordings/stop")
    assert call.request.body is None  # no instanceId: Daily's default instance
    doc = signed_db.recordings.find_one({"_id": DAILY_ID})
    assert (doc["status"], doc["duration"]) == ("finished", body["recording"]["duration"])
    session = stored_session(signed_db, signed_session)
    assert (session["recordingStatus"], session["activeRecording"]) == ("processing", None)
    again = client.post("/sessions/recording/stop", json={"recordingId": DAILY_ID})
    assert again.get_json() == body
    assert len(daily.calls(kind="stop")) == 1


def test_a_recording_of_another_instance_is_stopped_with_that_instance(
    signed_app, deliver, daily, on_daily, signed_db, started
):
    """Started by another service (the Node one during a cutover) with its own instanceId."""
    deliver("recording.started", started(instance_id="node-instance-1"))
    assert signed_db.recordings.find_one({"_id": DAILY_ID})["instanceId"] == "node-instance-1"
    response = signed_app.test_client().post(
        "/sessions/recording/stop", json={"recordingId": DAILY_ID}
    )
    assert response.get_json()["recording"]["status"] == "finished"
    (call,) = daily.calls(kind="stop")
    assert json.loads(call.request.body) == {"instanceId": "node-instance-1"}


def test_a_start_through_the_api_is_refused_while_a_ui_recording_runs(
    signed_app, deliver, daily, on_daily, signed_db, signed_session, started
):
    deliver("recording.started", started())
    client = signed_app.test_client()
    refused = client.post("/sessions/recording/start", json={"roomName": "room-a"})
    assert (refused.status_code, refused.get_json()) == (
        400,
        {"message": "This live session is already being recorded"},
    )
    assert daily.calls(kind="start") == []
    client.post("/sessions/recording/stop", json={"recordingId": DAILY_ID})
    assert client.post("/sessions/recording/start", json={"roomName": "room-a"}).status_code == 200


def test_ready_finishes_a_recording_stopped_in_dailys_ui_and_queues_it(
    deliver, daily, on_daily, signed_db, signed_session, started
):
    deliver("recording.started", started())
    ready = {"recording_id": DAILY_ID, "room_name": "room-a", "duration": 42, "status": "finished"}
    assert deliver("recording.ready-to-download", ready).status_code == 200
    doc = signed_db.recordings.find_one({"_id": DAILY_ID})
    assert (doc["status"], doc["duration"]) == ("finished", 42)
    assert doc["stoppedAt"] is not None
    session = stored_session(signed_db, signed_session)
    assert (session["recordingStatus"], session["activeRecording"]) == ("processing", None)
    job = signed_db.recording_jobs.find_one({"_id": DAILY_ID})
    assert (job["session"], job["duration"], job["recordingNumber"]) == (
        signed_session["_id"],
        42,
        1,
    )


def test_an_error_of_a_ui_recording_fails_it_and_frees_the_session(
    deliver, daily, on_daily, signed_db, signed_session, started
):
    deliver("recording.started", started())
    error = {
        "action": "cloud-recording-error",
        "error_msg": "no recording worker",
        "instance_id": None,  # Daily's default instance: the UI's
        "room_name": "room-a",
        "timestamp": int(time.time()),
    }
    assert deliver("recording.error", error).status_code == 200
    doc = signed_db.recordings.find_one({"_id": DAILY_ID})
    assert (doc["status"], doc["error"]) == ("error", "no recording worker")
    session = stored_session(signed_db, signed_session)
    assert (session["recordingStatus"], session["activeRecording"]) == ("failed", None)


def test_an_error_of_another_instance_leaves_the_ui_recording(
    deliver, daily, on_daily, signed_db, signed_session, started
):
    deliver("recording.started", started())
    error = {"error_msg": "x", "instance_id": "someone-elses", "room_name": "room-a"}
    assert deliver("recording.error", error).status_code == 200
    assert signed_db.recordings.find_one({"_id": DAILY_ID})["status"] == "recording"
    assert stored_session(signed_db, signed_session)["recordingStatus"] == "recording"


def test_a_recording_of_ours_is_linked_not_adopted(signed_app, deliver, daily, signed_db, started):
    from tests.support.factories import in_class, seed_session

    seed_session(signed_db, roomName="room-b", status="live", scheduledAt=in_class())
    ours = signed_app.test_client().post("/sessions/recording/start", json={"roomName": "room-b"})
    our_id = ours.get_json()["recording"]["id"]
    deliver("recording.started", started(instance_id=our_id))
    (doc,) = signed_db.recordings.find()
    assert (doc["_id"], doc["dailyId"], doc.get("adopted")) == (our_id, DAILY_ID, None)
    assert daily.calls(kind="get") == []  # Daily was not asked


def test_a_late_started_event_of_a_finished_recording_claims_nothing(
    deliver, daily, on_daily, signed_db, signed_session, started, start_ts
):
    on_daily |= {"status": "finished", "duration": 20}
    deliver("recording.started", started())
    doc = signed_db.recordings.find_one({"_id": DAILY_ID})
    assert (doc["status"], doc["duration"], doc["adopted"]) == ("finished", 20, True)
    assert doc["stoppedAt"] == datetime.fromtimestamp(start_ts + 20, UTC)
    assert stored_session(signed_db, signed_session) == signed_session


def test_a_ui_recording_in_a_closed_session_is_adopted_without_a_claim(
    deliver, daily, signed_db, signed_session, started
):
    """The class ended, its room still open: the recording is kept and uploaded later."""
    signed_db.livesessions.update_one({"_id": signed_session["_id"]}, {"$set": {"status": "ended"}})
    daily.recording_objects[DAILY_ID] = {"id": DAILY_ID, "room_name": "room-a"}
    deliver("recording.started", started())
    assert signed_db.recordings.find_one({"_id": DAILY_ID})["status"] == "recording"
    session = stored_session(signed_db, signed_session)
    assert (session["recordingStatus"], session.get("activeRecording")) == ("recording", None)
