"""A meeting token's start-cloud-recording claim (`sr`, Daily's `start_cloud_recording`): the
sandbox, like Daily, starts a cloud recording when the token's holder joins a recordable room,
with no `POST /rooms/<name>/recordings/start`, and stops it when the meeting ends, sending
the webhooks a REST-started recording gets."""

import time

import requests

from tests.sandbox.test_sandbox_daily_self_signed import join, self_signed
from tests.support.sandbox import make_room, sandbox_api

RECORDABLE = {"enable_recording": "cloud"}


def leave(sandbox, session_id, room="lesson"):
    url = f"{sandbox.url}/sandbox/rooms/{room}/leave"

    return requests.post(url, json={"session_id": session_id}, timeout=5)


def test_an_owner_token_with_sr_records_from_join_to_the_meetings_end(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox, privacy="private", properties=RECORDABLE)
    exp = int(time.time()) + 600
    teacher = self_signed(sandbox, ud="teacher-1", o=True, sr=True, exp=exp)
    student = self_signed(sandbox, ud="student-1", o=False, exp=exp)

    owner = join(sandbox, token=teacher)
    guest = join(sandbox, token=student)

    assert (owner.status_code, guest.status_code) == (200, 200)
    (recording,) = sandbox.recordings.values()
    assert (recording["room_name"], recording["status"]) == ("lesson", "in-progress")
    assert recording["instance_id"] is None  # Daily's default instance, as from its UI
    assert sandbox.recording_start_calls == 0
    assert receiver.types() == [
        "meeting.started",
        "participant.joined",
        "recording.started",
        "participant.joined",  # the student's token starts nothing more
    ]
    started = receiver.events()[2]["payload"]
    assert started["recording_id"] == recording["id"]
    assert started["started_by"] == owner.json()["session_id"]
    assert started["instance_id"] is None

    assert leave(sandbox, guest.json()["session_id"]).status_code == 200
    assert recording["status"] == "in-progress"  # the meeting goes on
    assert leave(sandbox, owner.json()["session_id"]).status_code == 200

    events = receiver.events(8)
    assert [event["type"] for event in events][4:] == [
        "participant.left",
        "participant.left",
        "meeting.ended",
        "recording.ready-to-download",
    ]
    ready = events[-1]["payload"]
    assert (ready["recording_id"], ready["room_name"], ready["status"]) == (
        recording["id"],
        "lesson",
        "finished",
    )
    fetched = sandbox_api(sandbox, "GET", f"/recordings/{recording['id']}").json()
    assert fetched["status"] == "finished"
    assert sandbox.recording_start_calls == 0


def test_no_claim_or_no_recordable_room_records_nothing(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox, properties=RECORDABLE)
    make_room(sandbox, name="plain")  # enable_recording not set: Daily records nothing
    exp = int(time.time()) + 600
    owner = self_signed(sandbox, ud="teacher-1", o=True, exp=exp)
    elsewhere = self_signed(sandbox, r="plain", ud="teacher-1", o=True, sr=True, exp=exp)

    assert join(sandbox, token=owner).status_code == 200
    assert join(sandbox, room="plain", token=elsewhere).status_code == 200

    assert sandbox.recordings == {}
    assert "recording.started" not in receiver.types()


def test_a_second_sr_holder_does_not_start_a_second_recording(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox, properties=RECORDABLE)
    exp = int(time.time()) + 600
    for user in ("teacher-1", "admin-1"):
        token = self_signed(sandbox, ud=user, o=True, sr=True, exp=exp)
        assert join(sandbox, token=token).status_code == 200

    assert len(sandbox.recordings) == 1
    assert receiver.types().count("recording.started") == 1


def test_a_non_boolean_sr_claim_is_refused(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, properties=RECORDABLE)
    token = self_signed(sandbox, o=True, sr="yes", exp=int(time.time()) + 600)

    refused = join(sandbox, token=token)

    assert refused.status_code == 403
    assert sandbox.recordings == {}


def test_rest_starts_are_counted_refused_or_not(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, properties=RECORDABLE)
    path = "/rooms/lesson/recordings/start"

    assert sandbox_api(sandbox, "POST", path, json={}).status_code == 200
    assert sandbox_api(sandbox, "POST", path, json={}).status_code == 400  # already recording

    assert sandbox.recording_start_calls == 2
