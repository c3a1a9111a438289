"""A class's recordings as a resource: listed, deleted (on the Cloudinary sandbox, over
HTTP), kept for RECORDING_RETENTION_DAYS; the uploads run through the real worker."""

import hashlib
import json
import urllib.request
import uuid
from datetime import timedelta

import pytest

from livesessions.clock import utcnow
from livesessions.errors import (
    CANNOT_DELETE_RECORDING,
    DELETE_RECORDING_FAILED,
    MISSING_TOKEN,
    RECORDING_DELETE_FORBIDDEN,
    RECORDING_NOT_FOUND,
    RECORDINGS_FORBIDDEN,
    SESSION_NOT_FOUND,
)
from tests.support.factories import ADMIN, INSTRUCTOR, in_class, seed_recording, seed_session
from tests.support.sandbox import UPLOAD_CHUNK, cloudinary_settings
from tests.support.webhooks import SECRET, sign

STUDENT = "student-1"


def on_sandbox(cloud, **settings):
    """On the Cloudinary sandbox, a failed download failing for good at once."""
    return {**cloudinary_settings(cloud), "RECORDING_MAX_ATTEMPTS": 1, **settings}


@pytest.fixture
def app(make_app, cloud):
    return make_app(**on_sandbox(cloud))


@pytest.fixture
def session(db):
    return seed_session(
        db, roomName="room-a", status="live", scheduledAt=in_class(), participants=[STUDENT]
    )


def bearer(token_for, user=INSTRUCTOR, role="instructor"):
    return {"Authorization": f"Bearer {token_for(user, role)}"}


def finish(app, daily, recording_id, data=None, duration=600):
    """Daily finishes `recording_id` (its file `data`; none: the download fails for good),
    the webhook says so, and the worker uploads it."""
    if data is not None:
        daily.files[recording_id] = data
    payload = {"recording_id": recording_id, "room_name": "room-a", "duration": duration}
    envelope = {"type": "recording.ready-to-download", "id": str(uuid.uuid4()), "payload": payload}
    assert app.test_client().post("/sessions/webhook/daily", json=envelope).status_code == 200
    assert app.extensions["livesessions"].make_worker(periodic=[]).drain() == 1


def video(seed):
    return (hashlib.sha256(seed.encode()).digest() * 400)[: 3 * UPLOAD_CHUNK]


@pytest.fixture
def three(app, daily, session):
    """rec-1 ready, rec-2 failed (Daily has no file for it), rec-3 ready."""
    finish(app, daily, "rec-1", video("first"), duration=600)
    finish(app, daily, "rec-2", None, duration=600)
    finish(app, daily, "rec-3", video("third"), duration=600)
    return session


def listed(client, session, headers):
    response = client.get(f"/sessions/{session['_id']}/recordings", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stored_session(db, session):
    return db.livesessions.find_one({"_id": session["_id"]})


def test_every_recording_is_listed_in_order_with_its_status(client, three, token_for, cloud):
    recordings = listed(client, three, bearer(token_for))
    assert [(r["id"], r["dailyId"], r["status"]) for r in recordings] == [
        ("rec-1", "rec-1", "ready"),
        ("rec-2", "rec-2", "failed"),
        ("rec-3", "rec-3", "ready"),
    ]
    first, failed, third = recordings
    asset = cloud.assets[f"live-sessions/{three['course']}/{three['_id']}-recording"]
    assert first["url"] == asset["result"]["secure_url"]
    assert (first["duration"], first["bytes"]) == (600, 3 * UPLOAD_CHUNK)
    assert first["failureReason"] is None
    assert first["thumbnailUrl"].endswith(
        f"/video/upload/so_0/v{asset['result']['version']}/"
        f"live-sessions/{three['course']}/{three['_id']}-recording.jpg"
    )
    assert (failed["url"], failed["thumbnailUrl"], failed["bytes"]) == (None, None, None)
    assert failed["failureReason"] == "Daily.co answered 404 not-found: no such recording"
    assert third["duration"] == 600
    assert first["startedAt"] <= failed["startedAt"] <= third["startedAt"] < third["endedAt"]


def test_the_poster_frame_is_a_jpeg_served_by_cloudinary(client, three, token_for):
    with urllib.request.urlopen(
        listed(client, three, bearer(token_for))[0]["thumbnailUrl"]
    ) as frame:
        assert frame.headers["Content-Type"] == "image/jpeg"
        assert frame.read()[:2] == b"\xff\xd8"


def test_deleting_the_latest_falls_back_to_the_previous_one(client, db, three, token_for, cloud):
    before = listed(client, three, bearer(token_for))
    assert stored_session(db, three)["recordingUrl"] == before[2]["url"]
    response = client.delete(
        f"/sessions/{three['_id']}/recordings/rec-3", headers=bearer(token_for)
    )
    assert response.status_code == 200
    assert response.get_json() == {
        **before[2],
        "status": "deleted",
        "url": None,
        "thumbnailUrl": None,
    }
    stored = stored_session(db, three)
    assert (stored["recordingUrl"], stored["recordingDuration"], stored["isRecorded"]) == (
        before[0]["url"],
        600,
        True,
    )
    assert stored["recordingStatus"] == "ready"
    assert db.recording_jobs.find_one({"_id": "rec-3"})["deletedAt"] is not None  # kept
    assert f"live-sessions/{three['course']}/{three['_id']}-recording-3" not in cloud.assets
    assert cloud.invalidated == [f"live-sessions/{three['course']}/{three['_id']}-recording-3"]
    shown = client.get(f"/sessions/{three['_id']}", headers=bearer(token_for)).get_json()
    assert (shown["recordingUrl"], shown["recordingStatus"]) == (before[0]["url"], "ready")
    assert [r["status"] for r in listed(client, three, bearer(token_for))] == [
        "ready",
        "failed",
        "deleted",
    ]


def test_deleting_twice_answers_the_same_and_destroys_once(client, three, token_for, cloud):
    path = f"/sessions/{three['_id']}/recordings/rec-1"
    first = client.delete(path, headers=bearer(token_for))
    second = client.delete(path, headers=bearer(token_for))
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.get_json() == second.get_json()
    assert first.get_json()["status"] == "deleted"
    assert len(cloud.destroys) == 1


def test_deleting_every_ready_recording_leaves_the_session_without_one(
    client, db, three, token_for, cloud
):
    for recording_id in ("rec-1", "rec-3", "rec-2"):  # the failed one is forgotten, no destroy
        path = f"/sessions/{three['_id']}/recordings/{recording_id}"
        deleted = client.delete(path, headers=bearer(token_for))
        assert (deleted.status_code, deleted.get_json()["status"]) == (200, "deleted")
    assert len(cloud.destroys) == 2
    stored = stored_session(db, three)
    assert (stored["recordingUrl"], stored["recordingDuration"], stored["isRecorded"]) == (
        None,
        None,
        False,
    )
    assert {r["status"] for r in listed(client, three, bearer(token_for))} == {"deleted"}


def test_cloudinary_failing_on_delete_changes_nothing(client, db, three, token_for, cloud):
    before_session = stored_session(db, three)
    before = listed(client, three, bearer(token_for))
    cloud.fail_next(1, status=500, message="Cloudinary is down")
    response = client.delete(
        f"/sessions/{three['_id']}/recordings/rec-3", headers=bearer(token_for)
    )
    assert (response.status_code, response.get_json()) == (
        500,
        {"message": DELETE_RECORDING_FAILED},
    )
    assert stored_session(db, three) == before_session
    assert listed(client, three, bearer(token_for)) == before
    assert db.recording_jobs.find_one({"_id": "rec-3"}).get("deletedAt") is None


def test_who_may_list_and_delete(client, three, token_for):
    path = f"/sessions/{three['_id']}/recordings"
    anonymous = client.get(path)
    assert (anonymous.status_code, anonymous.get_json()) == (401, {"message": MISSING_TOKEN})
    stranger = client.get(path, headers=bearer(token_for, "someone-else", "student"))
    assert (stranger.status_code, stranger.get_json()) == (403, {"message": RECORDINGS_FORBIDDEN})
    student = bearer(token_for, STUDENT, "student")
    assert [r["id"] for r in listed(client, three, student)] == ["rec-1", "rec-2", "rec-3"]
    refused = client.delete(f"{path}/rec-1", headers=student)
    assert (refused.status_code, refused.get_json()) == (
        403,
        {"message": RECORDING_DELETE_FORBIDDEN},
    )
    anonymous = client.delete(f"{path}/rec-1")
    assert (anonymous.status_code, anonymous.get_json()) == (401, {"message": MISSING_TOKEN})
    admin = bearer(token_for, ADMIN, "admin")
    assert client.delete(f"{path}/rec-1", headers=admin).get_json()["status"] == "deleted"


def test_unknown_sessions_and_recordings_are_404(client, three, token_for):
    headers = bearer(token_for)
    unknown = client.get(f"/sessions/{uuid.uuid4()}/recordings", headers=headers)
    assert (unknown.status_code, unknown.get_json()) == (404, {"message": SESSION_NOT_FOUND})
    missing = client.delete(f"/sessions/{three['_id']}/recordings/nope", headers=headers)
    assert (missing.status_code, missing.get_json()) == (404, {"message": RECORDING_NOT_FOUND})


def test_a_recording_in_progress_is_listed_and_cannot_be_deleted(
    client, db, session, token_for, daily
):
    started = client.post("/sessions/recording/start", json={"roomName": "room-a"})
    assert started.status_code == 200, started.get_json()
    ours = started.get_json()["recording"]["id"]
    recordings = listed(client, session, bearer(token_for))
    assert [(r["id"], r["dailyId"], r["status"]) for r in recordings] == [(ours, None, "recording")]
    refused = client.delete(
        f"/sessions/{session['_id']}/recordings/{ours}", headers=bearer(token_for)
    )
    assert (refused.status_code, refused.get_json()) == (
        400,
        {"message": CANNOT_DELETE_RECORDING.format(status="recording")},
    )


def test_authenticated_recordings_are_signed_at_read_time(make_app, cloud, daily, token_for):
    app = make_app(**on_sandbox(cloud, RECORDING_DELIVERY="authenticated"))
    db = app.extensions["livesessions"].database.db
    session = seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())
    finish(app, daily, "rec-1", video("private"))
    (recording,) = listed(app.test_client(), session, bearer(token_for))
    # the video: a private download URL that expires (RECORDING_URL_TTL_SECONDS); the poster
    # frame: a signed delivery URL (a download URL can't transform), which does not
    assert recording["url"].startswith(f"{cloud.url}/v1_1/{cloud.cloud_name}/video/download?")
    assert "expires_at=" in recording["url"]
    assert "/video/authenticated/s--" in recording["thumbnailUrl"]
    with urllib.request.urlopen(recording["thumbnailUrl"]) as frame:
        assert frame.read()[:2] == b"\xff\xd8"
    with urllib.request.urlopen(recording["url"]) as played:
        assert played.read() == video("private")


def test_retention_deletes_only_the_old_recordings(make_app, cloud, daily):
    app = make_app(**on_sandbox(cloud, RECORDING_RETENTION_DAYS=30))
    services = app.extensions["livesessions"]
    db = services.database.db
    session = seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())
    finish(app, daily, "rec-old", video("old"))
    finish(app, daily, "rec-new", video("new"))
    db.recording_jobs.update_one(
        {"_id": "rec-old"}, {"$set": {"createdAt": utcnow() - timedelta(days=31)}}
    )
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["recordings", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would delete rec-old" in dry.output
    assert "rec-new" not in dry.output
    assert db.recording_jobs.find_one({"_id": "rec-old"}).get("deletedAt") is None
    (task,) = [t for t in services.make_worker().periodic if "retention" in t.name]
    assert task.action() == (1, 0)  # what the worker runs every RECORDING_RECONCILE_SECONDS
    statuses = {j["_id"]: bool(j.get("deletedAt")) for j in db.recording_jobs.find()}
    assert statuses == {"rec-old": True, "rec-new": False}
    shown = db.livesessions.find_one({"_id": session["_id"]})
    assert (
        shown["recordingUrl"]
        == db.recording_jobs.find_one({"_id": "rec-new"})["result"]["recordingUrl"]
    )
    again = runner.invoke(args=["recordings", "purge"])
    assert again.output.strip() == "deleted 0 recording(s), 0 failed"


def test_purge_without_a_retention_says_so(app):
    result = app.test_cli_runner().invoke(args=["recordings", "purge", "--dry-run"])
    assert result.exit_code == 1
    assert "RECORDING_RETENTION_DAYS is not set" in result.output


def test_a_start_that_failed_before_any_upload_is_forgotten_without_cloudinary(
    client, db, session, token_for, cloud
):
    seed_recording(db, session, _id="ours-1", dailyId=None, status="error", error="no room")
    (failed,) = listed(client, session, bearer(token_for))
    assert (failed["id"], failed["status"], failed["failureReason"]) == (
        "ours-1",
        "failed",
        "no room",
    )
    path = f"/sessions/{session['_id']}/recordings/ours-1"
    deleted = client.delete(path, headers=bearer(token_for))
    assert deleted.get_json() == {**failed, "status": "deleted", "failureReason": None}
    assert db.recordings.find_one({"_id": "ours-1"})["deletedAt"] is not None  # kept
    assert client.delete(path, headers=bearer(token_for)).get_json() == deleted.get_json()
    assert cloud.destroys == []


@pytest.mark.parametrize("signed", [True, False])
def test_retention_counts_from_dailys_finish_only_when_daily_signed_it(
    make_app, cloud, daily, signed
):
    """A signed ready-to-download carries Daily's start_ts and duration: a recording Daily
    finished 40 days ago is past 30 days' retention however late the event came. Unsigned
    (no DAILY_WEBHOOK_SECRET) the times are not taken, or anyone could age a recording
    into the purge: retention counts from when the service learnt of it, as before."""
    secret = {"DAILY_WEBHOOK_SECRET": SECRET} if signed else {}
    app = make_app(**on_sandbox(cloud, RECORDING_RETENTION_DAYS=30, **secret))
    services = app.extensions["livesessions"]
    db = services.database.db
    seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())
    started = utcnow().replace(microsecond=0) - timedelta(days=40, hours=1)
    daily.files["rec-1"] = video("old")
    payload = {"recording_id": "rec-1", "room_name": "room-a", "duration": 3600}
    payload["start_ts"] = int(started.timestamp())
    body = json.dumps({"type": "recording.ready-to-download", "payload": payload}).encode()
    headers = sign(body) if signed else {"Content-Type": "application/json"}
    response = app.test_client().post("/sessions/webhook/daily", data=body, headers=headers)
    assert (response.status_code, response.get_json()) == (200, {"received": True})
    assert services.make_worker(periodic=[]).drain() == 1
    job = db.recording_jobs.find_one({"_id": "rec-1"})
    assert job["finishedAt"] == (started + timedelta(hours=1) if signed else None)
    assert services.recording_library.purge() == ((1, 0) if signed else (0, 0))
    job = db.recording_jobs.find_one({"_id": "rec-1"})
    assert (job.get("deletedAt") is not None) is signed
    destroyed = [d["params"]["public_id"] for d in cloud.destroys]
    assert destroyed == ([job["result"]["asset"]["publicId"]] if signed else [])
