"""Recording with no REST call (DAILY_AUTO_RECORD=owner), end to end over loopback: the
owner's self-signed meeting token carries Daily's start-cloud-recording claim (`sr`), so the
Daily sandbox starts the recording when the instructor joins and stops it at the meeting's
end; its signed webhooks drive adoption and the worker's upload, as for any recording. No
`POST /rooms/<name>/recordings/start` reaches Daily, however many classes start at once."""

from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
import requests

from devtools.sandbox.daily import recording_content
from tests.support.factories import SESSION_KEYS, in_class, iso, session_payload, starting_soon
from tests.support.processes import wait_until

STUDENT = "student-1"
CLASSES = 100


@pytest.fixture
def stack_config():
    return {"DAILY_AUTO_RECORD": "owner"}


def claims(token):
    """A meeting token's claims (the sandbox checks the signature; here only what it says)."""
    return jwt.decode(token, options={"verify_signature": False})


def deliveries(daily, event_type):
    return [d for d in daily.webhook_deliveries if d["type"] == event_type]


def create_class(base, auth):
    answer = requests.post(
        f"{base}/sessions", json=session_payload(scheduledAt=iso(starting_soon())), headers=auth
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def join(base, session, headers):
    answer = requests.post(f"{base}/sessions/{session['_id']}/join", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def upload_all(services, sessions):
    """Let the classes be under way (as by the upload), then run the worker's jobs."""
    ids = [session["_id"] for session in sessions]
    begun = {"$set": {"scheduledAt": in_class()}}
    services.database.db.livesessions.update_many({"_id": {"$in": ids}}, begun)
    return services.make_worker().drain()


def test_the_instructor_joining_records_the_class_with_no_start_call(stack, token_for):
    base, auth, daily, cloud, app = stack
    services = app.extensions["livesessions"]
    student = {"Authorization": f"Bearer {token_for(user_id=STUDENT, role='student')}"}
    session = create_class(base, auth)
    room, url = session["roomName"], f"{base}/sessions/{session['_id']}"
    assert list(session) == [key for key in SESSION_KEYS if key in session]  # compat JSON
    assert daily.rooms[room]["config"]["enable_recording"] == "cloud"
    requests.post(f"{url}/participants", json={"studentId": STUDENT}).raise_for_status()

    owner = join(base, session, auth)
    guest = join(base, session, student)

    assert list(owner) == list(guest) == ["roomUrl", "token", "joinUrl", "expiresAt"]
    assert claims(owner["token"])["sr"] is True
    assert claims(owner["token"])["o"] is True
    assert "sr" not in claims(guest["token"])  # a student's token never starts one
    teacher_visit = daily.join_call(room, token=owner["token"])
    student_visit = daily.join_call(room, token=guest["token"])

    (daily_id,) = daily.recordings
    assert daily.recording_start_calls == 0
    (started,) = deliveries(daily, "recording.started")
    assert started["status"] == 200  # signed, accepted, adopted
    adopted = wait_until(lambda: services.recording_store.find(daily_id))
    assert (adopted["session"], adopted["room"], adopted["adopted"]) == (session["_id"], room, True)
    assert requests.get(url, headers=auth).json()["recordingStatus"] == "recording"

    daily.leave_call(room, student_visit)
    daily.leave_call(room, teacher_visit)  # the meeting ends: Daily stops the recording

    (ready,) = wait_until(lambda: deliveries(daily, "recording.ready-to-download"))
    assert ready["status"] == 200
    job = wait_until(lambda: services.job_store.list())[0]
    assert (job["_id"], job["session"], job["status"]) == (daily_id, session["_id"], "pending")
    assert upload_all(services, [session]) == 1

    published = requests.get(url, headers=auth).json()
    assert published["recordingStatus"] == "ready"
    assert published["isRecorded"] is True
    assert published["recordingUrl"].startswith(cloud.url)
    assert published["recordingDuration"] == daily.recordings[daily_id]["duration"]
    expected = b"".join(recording_content(daily.recordings[daily_id], daily.recording_bytes))
    assert requests.get(published["recordingUrl"], timeout=5).content == expected
    assert daily.recording_start_calls == 0


@pytest.mark.slow
@pytest.mark.scale
def test_a_hundred_classes_starting_together_are_all_recorded_with_no_start_call(stack):
    base, auth, daily, _, app = stack
    services = app.extensions["livesessions"]
    sessions = [create_class(base, auth) for _ in range(CLASSES)]

    def teach(session):
        """The instructor's join at the top of the hour, the class, and its end."""
        token = join(base, session, auth)["token"]
        visit = daily.join_call(session["roomName"], token=token)
        daily.leave_call(session["roomName"], visit)

    with ThreadPoolExecutor(max_workers=20) as pool:  # the instructors join together
        list(pool.map(teach, sessions))

    assert len(daily.recordings) == CLASSES
    assert daily.recording_start_calls == 0
    assert {r["room_name"] for r in daily.recordings.values()} == {s["roomName"] for s in sessions}
    # each class's recording adopted and its upload queued (the upload itself is the one
    # a single class takes above: 100 more would only time the worker)
    wait_until(lambda: len(services.job_store.list()) == CLASSES)
    jobs = {job["session"]: job for job in services.job_store.list()}
    for session in sessions:
        (daily_id,) = [
            r["id"] for r in daily.recordings.values() if r["room_name"] == session["roomName"]
        ]
        adopted = services.recording_store.find(daily_id)
        assert (adopted["session"], adopted["adopted"]) == (session["_id"], True)
        assert (jobs[session["_id"]]["_id"], jobs[session["_id"]]["status"]) == (
            daily_id,
            "pending",
        )
    assert daily.recording_start_calls == 0
