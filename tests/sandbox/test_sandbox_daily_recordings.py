"""The Daily.co sandbox's recordings, access links and webhooks, over real loopback HTTP."""

import base64
import hashlib
import json
import time
import tracemalloc
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests

from devtools.sandbox.daily import DailySandbox, recording_content
from tests.support.processes import free_port, wait_until
from tests.support.sandbox import make_room, sandbox_api, signed_with

SECRET = base64.b64encode(b"a webhook secret of 32 bytes....").decode()
INSTANCE = "5f0c3a4e-8a8e-4d9c-9a57-0b6f2f1c9e11"
MIB = 1024 * 1024


def finished_recording(sandbox, name="lesson"):
    """Record for a moment in a new room; return the recording's id."""
    make_room(sandbox, name)
    assert sandbox_api(sandbox, "POST", f"/rooms/{name}/recordings/start").json() == {
        "status": "sent"
    }
    assert sandbox_api(sandbox, "POST", f"/rooms/{name}/recordings/stop").json() == {
        "status": "sent"
    }
    [recording_id] = [key for key, rec in sandbox.recordings.items() if rec["room_name"] == name]
    return recording_id


def access_link(sandbox, recording_id, **params):
    answer = sandbox_api(sandbox, "GET", f"/recordings/{recording_id}/access-link", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def sha256(pieces):
    digest = hashlib.sha256()
    for piece in pieces:
        digest.update(piece)
    return digest.hexdigest()


def test_start_and_stop_a_recording(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox)
    before = int(time.time())
    started = sandbox_api(
        sandbox,
        "POST",
        "/rooms/lesson/recordings/start",
        json={"type": "cloud", "instanceId": INSTANCE},
    )
    assert (started.status_code, started.json()) == (200, {"status": "sent"})
    [recording_id] = sandbox.recordings
    recording = sandbox_api(sandbox, "GET", f"/recordings/{recording_id}").json()
    assert before <= recording["start_ts"] <= time.time()
    uuid.UUID(recording["mtgSessionId"])
    assert recording == {
        "id": recording_id,
        "room_name": "lesson",
        "instance_id": INSTANCE,
        "start_ts": recording["start_ts"],
        "status": "in-progress",
        "max_participants": 1,
        "s3key": f"sandbox/lesson/{recording_id}",
        "mtgSessionId": recording["mtgSessionId"],
        "tracks": [],
    }
    [event] = receiver.events(1)
    assert (event["type"], event["payload"]) == (
        "recording.started",
        {
            "recording_id": recording_id,
            "action": "start-cloud-recording",
            "layout": {"preset": "default"},
            "started_by": "sandbox",
            "instance_id": INSTANCE,
            "start_ts": recording["start_ts"],
        },
    )

    with sandbox.lock:  # as if it had started a minute and a half ago
        sandbox.recordings[recording_id]["start_ts"] -= 90
    stopped = sandbox_api(
        sandbox, "POST", "/rooms/lesson/recordings/stop", json={"instanceId": INSTANCE}
    )
    assert (stopped.status_code, stopped.json()) == (200, {"status": "sent"})
    finished = sandbox_api(sandbox, "GET", f"/recordings/{recording_id}").json()
    # from its (whole second) start to the stop, which came before now
    assert 90 <= finished["duration"] <= round(time.time() - finished["start_ts"])
    assert finished == recording | {
        "start_ts": recording["start_ts"] - 90,
        "status": "finished",
        "duration": finished["duration"],
    }


def test_recording_errors(make_sandbox):
    sandbox = make_sandbox()

    def post(path, **kwargs):
        answer = sandbox_api(sandbox, "POST", path, **kwargs)
        return answer.status_code, answer.json()["error"]

    assert post("/rooms/ghost/recordings/start") == (404, "not-found")
    assert post("/rooms/ghost/recordings/stop") == (404, "not-found")
    make_room(sandbox)
    assert post("/rooms/lesson/recordings/stop") == (400, "invalid-request-error")
    assert sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/start").status_code == 200
    assert post("/rooms/lesson/recordings/start") == (400, "invalid-request-error")
    other = {"json": {"instanceId": INSTANCE}}
    assert post("/rooms/lesson/recordings/stop", **other) == (400, "invalid-request-error")
    assert (
        sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/start", **other).status_code == 200
    )
    assert post("/rooms/lesson/recordings/start", **other) == (400, "invalid-request-error")
    assert post("/rooms/lesson/recordings/start", json={"instanceId": 7}) == (
        400,
        "invalid-request-error",
    )
    assert len(sandbox.recordings) == 2

    [recording_id, _] = sandbox.recordings
    early = sandbox_api(sandbox, "GET", f"/recordings/{recording_id}/access-link")
    assert (early.status_code, early.json()["error"]) == (400, "invalid-request-error")
    assert sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/stop").status_code == 200
    for valid_for in ("0", "soon"):
        bad = sandbox_api(
            sandbox, "GET", f"/recordings/{recording_id}/access-link?valid_for_secs={valid_for}"
        )
        assert (bad.status_code, bad.json()["error"]) == (400, "invalid-request-error")
    for path in ("/recordings/nope", "/recordings/nope/access-link"):
        missing = sandbox_api(sandbox, "GET", path)
        assert (missing.status_code, missing.json()["error"]) == (404, "not-found")

    wrong = {"Authorization": "Bearer wrong"}
    for method, path in [
        ("POST", "/rooms/lesson/recordings/start"),
        ("GET", f"/recordings/{recording_id}"),
        ("GET", f"/recordings/{recording_id}/access-link"),
    ]:
        refused = sandbox_api(sandbox, method, path, headers=wrong)
        assert (refused.status_code, refused.json()["error"]) == (401, "authentication-error")
    assert len(sandbox.recordings) == 2


def test_ready_to_download_arrives_after_the_stop_without_a_url(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url, ready_delay=0.2)
    make_room(sandbox)
    assert sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/start").status_code == 200
    receiver.wait_for(1)
    asked, stopping = time.monotonic(), time.time()
    assert sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/stop").status_code == 200
    started, ready = receiver.wait_for(2)
    received = time.time()
    assert ready[0] - asked >= 0.2

    event = json.loads(ready[2])
    assert ready[1]["Content-Type"] == "application/json"
    assert "X-Webhook-Signature" not in ready[1]
    assert "X-Webhook-Timestamp" not in ready[1]
    assert set(event) == {"version", "type", "id", "payload", "event_ts"}
    assert (event["version"], event["type"]) == ("1.0.0", "recording.ready-to-download")
    assert event["id"] != json.loads(started[2])["id"]
    assert uuid.UUID(event["id"])
    assert isinstance(event["event_ts"], float)
    assert stopping <= event["event_ts"] <= received
    [recording] = sandbox.recordings.values()
    # whole seconds from the start (a whole second too) to the stop; one at least
    assert 1 <= recording["duration"] <= max(1, round(received - recording["start_ts"]))
    assert event["payload"] == {
        "type": "cloud",
        "recording_id": recording["id"],
        "room_name": "lesson",
        "start_ts": recording["start_ts"],
        "status": "finished",
        "max_participants": 1,
        "duration": recording["duration"],
        "s3_key": f"sandbox/lesson/{recording['id']}",
        "tracks": [],
    }
    assert b"http" not in ready[2]  # no link: the receiver must ask for an access link
    wait_until(lambda: len(sandbox.webhook_deliveries) == 2)
    assert sandbox.webhook_deliveries == [
        {"type": "recording.started", "status": 200},
        {"type": "recording.ready-to-download", "status": 200},
    ]


def test_webhooks_are_signed_with_the_secret(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url, webhook_secret=SECRET)
    before = int(time.time())
    finished_recording(sandbox)
    deliveries = receiver.wait_for(2)
    after = time.time()
    for _, headers, body in deliveries:
        assert before <= int(headers["X-Webhook-Timestamp"]) <= after  # when it was sent
        assert signed_with(SECRET, headers, body)
    with pytest.raises(ValueError, match="base64"):  # binascii.Error, at construction
        DailySandbox(webhook_secret="not base64!")


def test_access_link_downloads_the_recording(make_sandbox):
    sandbox = make_sandbox(recording_bytes=3000)
    recording_id = finished_recording(sandbox)
    before = int(time.time())
    link = access_link(sandbox, recording_id)
    minute = access_link(sandbox, recording_id, valid_for_secs=60)
    after = int(time.time())
    assert set(link) == {"download_link", "expires"}
    assert before + 3600 <= link["expires"] <= after + 3600  # an hour from when it was asked
    assert link["download_link"].startswith(f"{sandbox.url}/recordings/{recording_id}/download?")
    assert before + 60 <= minute["expires"] <= after + 60

    download = requests.get(link["download_link"], timeout=5)  # no API key, like S3
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "video/mp4"
    assert download.headers["Content-Length"] == "3000"
    assert len(download.content) == 3000
    duration = sandbox.recordings[recording_id]["duration"]  # whole seconds, one at least
    assert download.content.startswith(b"LIVESESSIONS-SANDBOX-RECORDING duration=%d\n" % duration)
    expected = recording_content(sandbox.recordings[recording_id], 3000)
    assert hashlib.sha256(download.content).hexdigest() == sha256(expected)

    head = requests.head(link["download_link"], timeout=5)
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "3000", b"")


def test_changed_or_expired_links_are_refused(make_sandbox):
    sandbox = make_sandbox(recording_bytes=100)
    recording_id = finished_recording(sandbox)
    other_id = finished_recording(sandbox, "other")
    link = access_link(sandbox, recording_id, valid_for_secs=60)["download_link"]
    query = dict(parse_qsl(urlsplit(link).query))
    flipped = query["signature"][:-1] + ("0" if query["signature"][-1] != "0" else "1")
    later = str(int(query["expires"]) + 1)
    base = f"{sandbox.url}/recordings"
    changed = [
        f"{base}/{recording_id}/download?{urlencode(query | {'signature': flipped})}",
        f"{base}/{recording_id}/download?{urlencode(query | {'expires': later})}",
        f"{base}/{recording_id}/download?{urlencode(query | {'expires': '0' + query['expires']})}",
        f"{base}/{other_id}/download?{urlencode(query)}",
        f"{base}/{recording_id}/download",
    ]
    for url in changed:
        refused = requests.get(url, timeout=5)
        assert (refused.status_code, refused.json()["error"]) == (403, "forbidden-error"), url
    assert requests.get(link, timeout=5).status_code == 200

    real_time = time.time
    sandbox.clock = lambda: real_time() + 61
    expired = requests.get(link, timeout=5)
    assert expired.status_code == 403
    assert "expired" in expired.json()["info"]


def test_large_recordings_are_streamed(make_sandbox):
    size = 50 * MIB
    sandbox = make_sandbox(recording_bytes=size)
    recording_id = finished_recording(sandbox)
    link = access_link(sandbox, recording_id)["download_link"]
    tracemalloc.start()
    try:
        with requests.get(link, stream=True, timeout=5) as download:
            assert download.headers["Content-Length"] == str(size)
            received, total = hashlib.sha256(), 0
            for piece in download.iter_content(MIB):
                received.update(piece)
                total += len(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert total == size
    # Sandbox and client together hold a few 1 MiB pieces at a time, never the 50 MiB body.
    assert peak < 16 * MIB
    assert received.hexdigest() == sha256(recording_content(sandbox.recordings[recording_id], size))


def test_recording_content_is_exact_and_deterministic():
    recording = {"id": "3b0f7c52-43f5-4bde-9f0b-7f2a6a8b1c3d", "duration": 42}
    pieces = list(recording_content(recording, 5000, piece_size=1000))
    assert all(0 < len(piece) <= 1000 for piece in pieces)
    content = b"".join(pieces)
    marker = b"LIVESESSIONS-SANDBOX-RECORDING duration=42\n"
    assert len(content) == 5000
    assert content.startswith(marker)
    assert b"".join(recording_content(recording, 5000, piece_size=7)) == content
    assert b"".join(recording_content(recording, 5000)) == content
    assert b"".join(recording_content(recording, 9000))[:5000] == content
    other = b"".join(recording_content(recording | {"id": str(uuid.uuid4())}, 5000))
    assert other.startswith(marker)
    assert other[len(marker) :] != content[len(marker) :]
    assert len(set(content[len(marker) :])) > 16  # filler, not one repeated byte
    assert b"".join(recording_content(recording, 12)) == b"LIVESESSIONS"
    assert list(recording_content(recording, 0)) == []


def test_sandbox_webhook_endpoint_delivers_any_event(make_sandbox, receiver):
    sandbox = make_sandbox()
    url = f"{sandbox.url}/sandbox/webhook"
    event = {"type": "meeting.ended", "payload": {"room": "lesson", "meeting_id": "m", "end_ts": 9}}
    unset = requests.post(url, json=event, timeout=5)
    assert (unset.status_code, unset.json()["error"]) == (400, "invalid-request-error")

    sandbox.webhook_url = receiver.url
    assert requests.post(url, json=event, timeout=5).json() == {"delivered": 200}
    [(_, _, body)] = receiver.posts  # already there: delivered before the answer
    assert json.loads(body)["type"] == "meeting.ended"
    assert json.loads(body)["payload"] == event["payload"]
    receiver.status = 500
    assert requests.post(url, json=event, timeout=5).json() == {"delivered": 500}
    bad = requests.post(url, json={"type": 1, "payload": {}}, timeout=5)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid-request-error")
    assert sandbox.webhook_deliveries == [
        {"type": "meeting.ended", "status": 200},
        {"type": "meeting.ended", "status": 500},
    ]


def test_failed_deliveries_are_recorded_not_raised(make_sandbox):
    sandbox = make_sandbox()
    assert sandbox.fire_webhook("meeting.started", {}) is None
    assert sandbox.webhook_deliveries == []
    sandbox.webhook_url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    assert sandbox.fire_webhook("meeting.started", {}) is None
    make_room(sandbox)
    assert sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/start").status_code == 200
    wait_until(lambda: len(sandbox.webhook_deliveries) == 2)
    assert sandbox.webhook_deliveries == [
        {"type": "meeting.started", "status": None},
        {"type": "recording.started", "status": None},
    ]
