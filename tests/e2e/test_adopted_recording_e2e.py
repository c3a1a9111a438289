"""End to end over real loopback HTTP: a recording started from Daily's own UI (the Daily
sandbox's record button) is adopted from its signed webhook, stopped through the API by
Daily's id, uploaded to the Cloudinary sandbox, and published on its session."""

import requests

from devtools.sandbox.daily import recording_content
from tests.support.factories import in_class, iso, session_payload, starting_soon
from tests.support.processes import wait_until


def deliveries(daily, event_type):
    return [d for d in daily.webhook_deliveries if d["type"] == event_type]


def test_a_recording_started_in_dailys_ui_is_adopted_stopped_and_published(stack):
    base, auth, daily, cloud, app = stack
    services = app.extensions["livesessions"]
    session = requests.post(
        f"{base}/sessions", json=session_payload(scheduledAt=iso(starting_soon())), headers=auth
    ).json()
    room, url = session["roomName"], f"{base}/sessions/{session['_id']}"

    daily_id = daily.record_from_ui(room)  # the webhook is delivered before this returns

    (started,) = deliveries(daily, "recording.started")
    assert started["status"] == 200  # signed, accepted
    adopted = wait_until(lambda: services.recording_store.find(daily_id))
    assert {k: adopted[k] for k in ("_id", "dailyId", "session", "room", "status", "adopted")} == {
        "_id": daily_id,
        "dailyId": daily_id,
        "session": session["_id"],
        "room": room,
        "status": "recording",
        "adopted": True,
    }
    assert adopted["instanceId"] is None
    assert requests.get(url, headers=auth).json()["recordingStatus"] == "recording"
    # While it runs, the API starts no second recording (the sandbox, like Daily, would
    # run one with another instanceId).
    refused = requests.post(f"{base}/sessions/recording/start", json={"roomName": room})
    assert (refused.status_code, refused.json()) == (
        400,
        {"message": "This live session is already being recorded"},
    )
    assert list(daily.recordings) == [daily_id]

    stopped = requests.post(f"{base}/sessions/recording/stop", json={"recordingId": daily_id})

    assert stopped.status_code == 200, stopped.text
    body = stopped.json()
    assert body == {
        "success": True,
        "recording": {
            "id": daily_id,
            "room_name": room,
            "status": "finished",
            "duration": body["recording"]["duration"],
            "end_ts": body["recording"]["end_ts"],
        },
    }
    assert isinstance(body["recording"]["end_ts"], int)
    assert daily.recordings[daily_id]["status"] == "finished"  # Daily's default instance
    (ready,) = wait_until(lambda: deliveries(daily, "recording.ready-to-download"))
    assert ready["status"] == 200
    job = wait_until(lambda: services.job_store.list())[0]
    assert (job["_id"], job["session"], job["status"]) == (daily_id, session["_id"], "pending")
    finished = services.recording_store.find(daily_id)
    assert (finished["status"], finished["adopted"]) == ("finished", True)
    assert services.session_store.find_any(session["_id"])["activeRecording"] is None

    begun = {"$set": {"scheduledAt": in_class()}}  # the class is under way by the upload
    services.database.db.livesessions.update_one({"_id": session["_id"]}, begun)
    assert services.make_worker().drain() == 1

    published = requests.get(url, headers=auth).json()
    assert published["recordingStatus"] == "ready"
    assert published["isRecorded"] is True
    assert published["status"] == "ended"
    assert published["recordingUrl"].startswith(cloud.url)
    assert published["recordingUrl"].endswith(".mp4")
    assert f"{session['_id']}-recording" in published["recordingUrl"]
    assert published["recordingDuration"] == daily.recordings[daily_id]["duration"]
    expected = b"".join(recording_content(daily.recordings[daily_id], 300_000))
    assert requests.get(published["recordingUrl"], timeout=5).content == expected
    assert services.job_store.list()[0]["status"] == "done"
    # listed among the class's recordings, by Daily's id, with its poster frame
    (listed,) = requests.get(f"{url}/recordings", headers=auth, timeout=5).json()
    assert (listed["id"], listed["dailyId"], listed["status"]) == (daily_id, daily_id, "ready")
    assert listed["url"] == published["recordingUrl"]
    frame = requests.get(listed["thumbnailUrl"], timeout=5)
    assert (frame.status_code, frame.content[:2]) == (200, b"\xff\xd8")
