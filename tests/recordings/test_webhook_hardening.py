"""The Daily.co webhook under abuse: late and replayed events change nothing they shouldn't."""

import pytest

from tests.support.factories import in_class, seed_recording, seed_session
from tests.support.webhooks import envelope


def recording_error(recording_id, message="disk full"):
    payload = {
        "action": "cloud-recording-err",
        "error_msg": message,
        "instance_id": recording_id,
        "room_name": "room-a",
        "timestamp": 1,
    }
    return envelope("recording.error", payload)


def post(client, body, headers=None):
    response = client.post("/sessions/webhook/daily", json=body, headers=headers)
    return response.status_code, response.get_json()


# -- recording.error changes only a recording in progress ------------------------------------


@pytest.fixture
def live_session(db):
    return seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())


@pytest.mark.parametrize("status", ["finished", "error"])
def test_a_late_error_leaves_an_ended_recording_and_its_session(client, db, live_session, status):
    db.livesessions.update_one(
        {"_id": live_session["_id"]},
        {"$set": {"recordingStatus": "processing", "activeRecording": "the-next-one"}},
    )
    session = db.livesessions.find_one({"_id": live_session["_id"]})
    recording = seed_recording(db, live_session, status=status, error=None, duration=42)
    assert post(client, recording_error(recording["_id"])) == (200, {"received": True})
    assert db.recordings.find_one({"_id": recording["_id"]}) == recording
    assert db.livesessions.find_one({"_id": live_session["_id"]}) == session


@pytest.mark.parametrize("status", ["starting", "recording"])
def test_an_error_fails_a_recording_in_progress(client, db, live_session, status):
    db.livesessions.update_one(
        {"_id": live_session["_id"]}, {"$set": {"recordingStatus": "recording"}}
    )
    recording = seed_recording(db, live_session, status=status)
    db.livesessions.update_one(
        {"_id": live_session["_id"]}, {"$set": {"activeRecording": recording["_id"]}}
    )
    assert post(client, recording_error(recording["_id"])) == (200, {"received": True})
    stored = db.recordings.find_one({"_id": recording["_id"]})
    assert (stored["status"], stored["error"]) == ("error", "disk full")
    session = db.livesessions.find_one({"_id": live_session["_id"]})
    assert (session["recordingStatus"], session["activeRecording"]) == ("failed", None)


def test_an_error_after_stop_through_the_api_changes_nothing(client, auth, daily, db, live_session):
    started = client.post("/sessions/recording/start", json={"roomName": "room-a"}).get_json()
    recording_id = started["recording"]["id"]
    client.post("/sessions/recording/stop", json={"recordingId": recording_id})
    recording = db.recordings.find_one({"_id": recording_id})
    session = db.livesessions.find_one({"_id": live_session["_id"]})
    assert (recording["status"], session["recordingStatus"]) == ("finished", "processing")
    assert post(client, recording_error(recording_id, "late")) == (200, {"received": True})
    assert db.recordings.find_one({"_id": recording_id}) == recording
    assert db.livesessions.find_one({"_id": live_session["_id"]}) == session
    shown = client.get(f"/sessions/{live_session['_id']}", headers=auth).get_json()
    assert shown["recordingStatus"] == "processing"


def test_a_second_error_keeps_the_first_message(client, db, live_session):
    recording = seed_recording(db, live_session, status="recording")
    post(client, recording_error(recording["_id"], "disk full"))
    failed = db.recordings.find_one({"_id": recording["_id"]})
    post(client, recording_error(recording["_id"], "something else"))
    assert db.recordings.find_one({"_id": recording["_id"]}) == failed
    assert failed["error"] == "disk full"


def test_a_late_error_of_the_first_half_leaves_the_second_half_recording(
    client, auth, daily, db, live_session
):
    """A class recorded in two halves: the first half's error, arriving late, must not
    mark the session's recording (the second half, running) failed."""
    first = seed_recording(db, live_session, status="finished", duration=600)
    second = client.post("/sessions/recording/start", json={"roomName": "room-a"}).get_json()
    session = db.livesessions.find_one({"_id": live_session["_id"]})
    assert session["recordingStatus"] == "recording"
    assert post(client, recording_error(first["_id"])) == (200, {"received": True})
    assert db.recordings.find_one({"_id": first["_id"]}) == first
    assert db.recordings.find_one({"_id": second["recording"]["id"]})["status"] == "recording"
    assert db.livesessions.find_one({"_id": live_session["_id"]}) == session
