"""Recordings started "from Daily's UI" on the Daily sandbox (`POST /sandbox/rooms/<room>/
recordings/start|stop`), over real loopback HTTP: Daily's API and webhooks treat them like
the ones started through `POST /v1/rooms/<room>/recordings/start`."""

import base64
import json
import time

import pytest
import requests

from devtools.sandbox.daily import MARKER
from tests.support.sandbox import make_room, sandbox_api, signed_with

SECRET = base64.b64encode(b"the webhook secret of the UI tests").decode()
INSTANCE = "0b8d7c2e-3f4a-4b5c-9d6e-7f8091a2b3c4"


def ui(sandbox, action, room="lesson", **body):
    """Press record (`start`) or stop in the room's call; no API key, as for joins."""
    url = f"{sandbox.url}/sandbox/rooms/{room}/recordings/{action}"
    return requests.post(url, json=body, timeout=5)


def refused(answer):
    return answer.status_code, answer.json()["error"]


def test_a_recording_started_from_the_ui_is_announced_signed_and_listed(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url, webhook_secret=SECRET)
    make_room(sandbox)
    before = int(time.time())

    answer = ui(sandbox, "start")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    recording_id = body["recording_id"]
    assert body == {
        "recording_id": recording_id,
        "room_name": "lesson",
        "start_ts": body["start_ts"],
        "delivered": 200,  # sent before the answer: the receiver has it already
    }
    assert before <= body["start_ts"] <= time.time()
    [(_, headers, raw)] = receiver.posts
    assert signed_with(SECRET, headers, raw)
    event = json.loads(raw)
    assert set(event) == {"version", "type", "id", "payload", "event_ts"}
    assert (event["version"], event["type"]) == ("1.0.0", "recording.started")
    assert event["payload"] == {
        "recording_id": recording_id,
        "action": "start-cloud-recording",
        "layout": {"preset": "default"},
        "started_by": "sandbox",
        "instance_id": None,  # not started through the API: no instanceId of the service's
        "start_ts": body["start_ts"],
    }

    recording = sandbox_api(sandbox, "GET", f"/recordings/{recording_id}").json()
    assert (recording["room_name"], recording["status"], recording["instance_id"]) == (
        "lesson",
        "in-progress",
        None,
    )
    listed = sandbox_api(sandbox, "GET", "/recordings", params={"room_name": "lesson"}).json()
    assert listed == {"total_count": 1, "data": [recording]}


def test_its_started_event_has_the_fields_of_an_api_started_one(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox, "by-api")
    make_room(sandbox, "by-ui")
    start = sandbox_api(sandbox, "POST", "/rooms/by-api/recordings/start")
    assert start.status_code == 200
    receiver.wait_for(1)  # the API's event is sent just after its answer
    assert ui(sandbox, "start", room="by-ui").status_code == 200

    by_api, by_ui = receiver.events(2)
    assert by_api["type"] == by_ui["type"] == "recording.started"
    assert set(by_api) == set(by_ui)
    assert set(by_api["payload"]) == set(by_ui["payload"])


@pytest.mark.parametrize("stop", ["api", "ui"])
def test_stopping_it_sends_ready_to_download_and_it_downloads(make_sandbox, receiver, stop):
    sandbox = make_sandbox(webhook_url=receiver.url, webhook_secret=SECRET)
    make_room(sandbox)
    recording_id = ui(sandbox, "start").json()["recording_id"]

    if stop == "api":  # what the service will call, with no instanceId
        stopped = sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/stop")
    else:
        stopped = ui(sandbox, "stop")

    assert (stopped.status_code, stopped.json()) == (200, {"status": "sent"})
    deliveries = receiver.wait_for(2)
    assert all(signed_with(SECRET, headers, raw) for _, headers, raw in deliveries)
    ready = json.loads(deliveries[1][2])
    assert ready["type"] == "recording.ready-to-download"
    payload = ready["payload"]
    assert payload["duration"] >= 1  # whole seconds, at least one
    assert payload == {
        "type": "cloud",
        "recording_id": recording_id,
        "room_name": "lesson",
        "start_ts": payload["start_ts"],
        "status": "finished",
        "max_participants": 1,
        "duration": payload["duration"],
        "s3_key": f"sandbox/lesson/{recording_id}",
        "tracks": [],
    }
    assert sandbox_api(sandbox, "GET", f"/recordings/{recording_id}").json()["status"] == (
        "finished"
    )
    link = sandbox_api(sandbox, "GET", f"/recordings/{recording_id}/access-link").json()
    download = requests.get(link["download_link"], timeout=5)
    assert (download.status_code, download.headers["Content-Type"]) == (200, "video/mp4")
    assert download.content.startswith(f"{MARKER} duration=".encode())
    assert len(download.content) == sandbox.recording_bytes
    again = sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/stop")
    assert refused(again) == (400, "invalid-request-error")


def test_the_participant_who_pressed_record_is_started_by(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox)
    join = requests.post(
        f"{sandbox.url}/sandbox/rooms/lesson/join",
        json={"user_id": "instructor-1", "owner": True},
        timeout=5,
    )
    session_id = join.json()["session_id"]

    assert refused(ui(sandbox, "start", session_id="not-in-the-call")) == (404, "not-found")
    assert ui(sandbox, "start", session_id=session_id).status_code == 200

    events = receiver.events(3)
    assert [e["type"] for e in events] == [
        "meeting.started",
        "participant.joined",
        "recording.started",
    ]
    assert events[2]["payload"]["started_by"] == session_id


def test_refusals_store_and_send_nothing(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)

    assert refused(ui(sandbox, "start", room="ghost")) == (404, "not-found")
    assert refused(ui(sandbox, "stop", room="ghost")) == (404, "not-found")
    make_room(sandbox)
    assert refused(ui(sandbox, "stop")) == (400, "invalid-request-error")
    assert refused(ui(sandbox, "start", session_id=7)) == (400, "invalid-request-error")
    assert refused(ui(sandbox, "pause")) == (404, "not-found")
    assert sandbox.recordings == {}
    assert receiver.posts == []

    # A room the service records (with its own instanceId) is already recording.
    start = {"json": {"instanceId": INSTANCE}}
    assert (
        sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/start", **start).status_code == 200
    )
    receiver.wait_for(1)
    assert refused(ui(sandbox, "start")) == (400, "invalid-request-error")
    assert len(sandbox.recordings) == 1
    # The UI's stop is the default instance's: the service's recording goes on.
    assert refused(ui(sandbox, "stop")) == (400, "invalid-request-error")
    stop = sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/stop", **start)
    assert stop.status_code == 200

    receiver.wait_for(2)
    assert ui(sandbox, "start").status_code == 200
    assert refused(ui(sandbox, "start")) == (400, "invalid-request-error")
    assert len(sandbox.recordings) == 2
    assert receiver.types() == [
        "recording.started",
        "recording.ready-to-download",
        "recording.started",
    ]


def test_record_from_ui_in_process(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox)

    recording_id = sandbox.record_from_ui("lesson")

    assert sandbox.recordings[recording_id]["status"] == "in-progress"
    assert receiver.events(1)[0]["payload"]["recording_id"] == recording_id
    with pytest.raises(ValueError, match="already being recorded"):
        sandbox.record_from_ui("lesson")
    with pytest.raises(LookupError, match="room ghost not found"):
        sandbox.record_from_ui("ghost")
    with pytest.raises(LookupError, match="no participant"):
        sandbox.record_from_ui("lesson", session_id="nobody")
