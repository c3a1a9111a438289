"""The Daily.co sandbox's meeting tokens, private rooms, simulated calls, recordings list and
webhooks configuration, over real loopback HTTP."""

import base64
import json
import time
import uuid

import jwt
import pytest
import requests

from tests.support.processes import free_port, wait_until
from tests.support.sandbox import make_room, sandbox_api, signed_with

SECRET = base64.b64encode(b"the constructor's webhook secret").decode()
HOOK_SECRET = base64.b64encode(b"the secret given to POST /webhooks").decode()
PERMISSIONS = {"hasPresence": True, "canSend": True, "canReceive": {"base": True}}


def ok(answer):
    assert answer.status_code == 200, answer.text
    return answer.json()


def refused(answer):
    """(status, error type) of an error answer."""
    return answer.status_code, answer.json()["error"]


def meeting_token(sandbox, **properties):
    return ok(sandbox_api(sandbox, "POST", "/meeting-tokens", json={"properties": properties}))[
        "token"
    ]


def join(sandbox, room="lesson", **body):
    return requests.post(f"{sandbox.url}/sandbox/rooms/{room}/join", json=body, timeout=5)


def leave(sandbox, session_id, room="lesson"):
    url = f"{sandbox.url}/sandbox/rooms/{room}/leave"
    return requests.post(url, json={"session_id": session_id}, timeout=5)


def page(sandbox, room, token=None):
    params = {"t": token} if token is not None else None
    return requests.get(f"{sandbox.url}/{room}", params=params, timeout=5)


# -- meeting tokens and private rooms ------------------------------------------------------------


def test_a_meeting_token_is_a_jwt_of_its_properties(make_sandbox):
    sandbox = make_sandbox()
    now = int(time.time())
    properties = {
        "room_name": "lesson",
        "user_id": "u" * 36,
        "user_name": "Ada",
        "is_owner": True,
        "nbf": now - 5,
        "exp": now + 3600,
    }
    answer = ok(sandbox_api(sandbox, "POST", "/meeting-tokens", json={"properties": properties}))
    assert set(answer) == {"token"}
    token = answer["token"]
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert jwt.decode(token, options={"verify_signature": False}) == properties
    assert sandbox.meeting_tokens == [properties]

    assert sandbox.verify_meeting_token(token, "lesson") == properties
    assert sandbox.verify_meeting_token(token, "other") is None
    forged = jwt.encode(properties, b"another secret".ljust(32, b"."), algorithm="HS256")
    assert sandbox.verify_meeting_token(forged, "lesson") is None
    assert sandbox.verify_meeting_token("not.a.jwt", "lesson") is None
    assert make_sandbox().verify_meeting_token(token, "lesson") is None  # another sandbox

    later = meeting_token(sandbox, room_name="lesson", nbf=now + 60)
    assert sandbox.verify_meeting_token(later, "lesson") is None
    real_time = time.time
    sandbox.clock = lambda: real_time() + 3600
    assert sandbox.verify_meeting_token(later, "lesson") == {"room_name": "lesson", "nbf": now + 60}
    assert sandbox.verify_meeting_token(token, "lesson") is None  # expired by now


def test_meeting_token_properties_are_validated(make_sandbox):
    sandbox = make_sandbox()
    room = {"room_name": "lesson"}
    bad = [
        ({}, "properties"),
        ({"properties": ["lesson"]}, "properties"),
        ({"properties": {}}, "room_name"),
        ({"properties": {"room_name": 5}}, "room_name"),
        ({"properties": {"room_name": ""}}, "room_name"),
        ({"properties": room | {"user_id": "u" * 37}}, "user_id"),
        ({"properties": room | {"user_id": 7}}, "user_id"),
        ({"properties": room | {"is_owner": "yes"}}, "is_owner"),
        ({"properties": room | {"nbf": "soon"}}, "nbf"),
        ({"properties": room | {"exp": True}}, "exp"),
        ({"properties": room | {"exp": int(time.time()) - 1}}, "exp"),
    ]
    for body, field in bad:
        answer = sandbox_api(sandbox, "POST", "/meeting-tokens", json=body)
        assert refused(answer) == (400, "invalid-request-error"), body
        assert field in answer.json()["info"], body
    no_key = sandbox_api(sandbox, "POST", "/meeting-tokens", headers={}, json={"properties": room})
    assert refused(no_key) == (401, "authentication-error")
    assert sandbox.meeting_tokens == []
    assert meeting_token(sandbox, room_name="lesson", exp=time.time() + 60.5)


def test_a_private_room_page_needs_a_token_for_that_room(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, "secret", privacy="private")
    make_room(sandbox, "open")
    owner = meeting_token(
        sandbox, room_name="secret", user_id="ada-1", user_name="Ada", is_owner=True
    )
    guest = meeting_token(sandbox, room_name="open", user_id="bob-2", user_name="Bob")

    required = "private room: a valid meeting token is required"
    for token in (None, guest, "garbage"):
        answer = page(sandbox, "secret", token)
        assert answer.status_code == 403, token
        assert required in answer.text, token
        assert "token accepted" not in answer.text
    accepted = page(sandbox, "secret", owner)
    assert accepted.status_code == 200
    assert accepted.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "token accepted" in accepted.text
    assert "Ada" in accepted.text
    assert "ada-1" in accepted.text
    assert "owner: yes" in accepted.text

    public = page(sandbox, "open")
    assert public.status_code == 200
    assert "exists" in public.text
    assert "token accepted" not in public.text
    with_token = page(sandbox, "open", guest)
    assert with_token.status_code == 200
    assert "token accepted" in with_token.text
    assert "Bob" in with_token.text
    assert "bob-2" in with_token.text
    assert "owner: no" in with_token.text
    wrong = page(sandbox, "open", owner)
    assert wrong.status_code == 200
    assert "not valid" in wrong.text
    assert page(sandbox, "ghost", owner).status_code == 404


# -- simulated calls ------------------------------------------------------------------------------


def test_joins_and_leaves_fire_the_call_events_in_order(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url, webhook_secret=SECRET)
    make_room(sandbox)
    teacher = meeting_token(
        sandbox, room_name="lesson", user_id="teacher-1", user_name="Teacher", is_owner=True
    )
    before = int(time.time())
    student = ok(join(sandbox, user_id="student-1", user_name="Student"))
    # The token's identity wins over the body's.
    owner = ok(join(sandbox, user_id="x", user_name="x", owner=False, token=teacher))
    assert set(student) == {"session_id", "meeting_id"}
    assert owner["meeting_id"] == student["meeting_id"]
    assert uuid.UUID(student["session_id"])
    assert owner["session_id"] != student["session_id"]
    # Delivered before the join answered: nothing to wait for.
    assert receiver.types() == ["meeting.started", "participant.joined", "participant.joined"]
    started, joined, owner_joined = (event["payload"] for event in receiver.events())
    assert started == {
        "start_ts": started["start_ts"],
        "meeting_id": student["meeting_id"],
        "room": "lesson",
    }
    assert before <= started["start_ts"] <= time.time()
    assert joined == {
        "joined_at": joined["joined_at"],
        "session_id": student["session_id"],
        "room": "lesson",
        "user_id": "student-1",
        "user_name": "Student",
        "owner": False,
        "will_eject_at": None,
        "permissions": PERMISSIONS | {"canAdmin": False},
    }
    assert before <= joined["joined_at"] <= time.time()
    assert owner_joined == joined | {
        "joined_at": owner_joined["joined_at"],
        "session_id": owner["session_id"],
        "user_id": "teacher-1",
        "user_name": "Teacher",
        "owner": True,
        "permissions": PERMISSIONS | {"canAdmin": True},
    }

    with sandbox.lock:  # as if the student had joined half a minute ago
        sandbox.meetings["lesson"]["participants"][student["session_id"]]["joined_at"] -= 30
    assert ok(leave(sandbox, student["session_id"])) == {"left": True}
    assert ok(leave(sandbox, owner["session_id"])) == {"left": True}
    seconds = int(time.time()) - before  # whole seconds the calls may have lasted
    assert receiver.types() == [
        "meeting.started",
        "participant.joined",
        "participant.joined",
        "participant.left",
        "participant.left",
        "meeting.ended",
    ]
    student_left, owner_left, ended = (event["payload"] for event in receiver.events()[3:])
    assert 30 <= student_left["duration"] <= 30 + seconds
    assert student_left == joined | {
        "joined_at": joined["joined_at"] - 30,
        "duration": student_left["duration"],
    }
    assert owner_left == owner_joined | {"duration": owner_left["duration"]}
    assert isinstance(owner_left["duration"], int)
    assert 0 <= owner_left["duration"] <= seconds
    assert ended == {
        "start_ts": started["start_ts"],
        "end_ts": ended["end_ts"],
        "meeting_id": student["meeting_id"],
        "room": "lesson",
    }
    assert started["start_ts"] <= ended["end_ts"] <= time.time()
    assert all(signed_with(SECRET, headers, raw) for _, headers, raw in receiver.posts)
    assert sandbox.meetings == {}

    assert refused(leave(sandbox, owner["session_id"])) == (404, "not-found")
    again = ok(join(sandbox))  # a new call: a new meeting
    assert again["meeting_id"] != student["meeting_id"]
    assert receiver.types()[-2:] == ["meeting.started", "participant.joined"]
    assert receiver.events()[-1]["payload"]["user_id"] == again["session_id"]  # no user_id given


def test_refused_joins_and_leaves(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox, "secret", privacy="private")
    make_room(sandbox, "open")
    for_open = meeting_token(sandbox, room_name="open")
    for_secret = meeting_token(sandbox, room_name="secret", user_name="Ada")

    assert refused(join(sandbox, "ghost")) == (404, "not-found")
    assert refused(leave(sandbox, str(uuid.uuid4()), "ghost")) == (404, "not-found")
    assert refused(join(sandbox, "secret")) == (403, "forbidden-error")
    assert refused(join(sandbox, "secret", token=for_open)) == (403, "forbidden-error")
    assert refused(join(sandbox, "open", token="garbage")) == (403, "forbidden-error")
    for body in ({"user_id": 5}, {"owner": "yes"}, {"token": 1}):
        assert refused(join(sandbox, "open", **body)) == (400, "invalid-request-error")
    assert refused(leave(sandbox, None, "open")) == (400, "invalid-request-error")
    assert refused(leave(sandbox, str(uuid.uuid4()), "open")) == (404, "not-found")
    assert receiver.posts == []
    assert sandbox.meetings == {}

    with pytest.raises(LookupError):
        sandbox.join_call("ghost")
    with pytest.raises(PermissionError):
        sandbox.join_call("secret", user_name="Eve")
    with pytest.raises(ValueError, match="owner must be a boolean"):
        sandbox.join_call("open", owner="yes")
    with pytest.raises(LookupError):
        sandbox.leave_call("open", "no-such-session")
    assert receiver.posts == []

    session_id = ok(join(sandbox, "secret", token=for_secret))["session_id"]
    assert receiver.types() == ["meeting.started", "participant.joined"]
    assert receiver.events()[1]["payload"]["user_name"] == "Ada"
    assert ok(leave(sandbox, session_id, "secret")) == {"left": True}


def test_in_process_calls_and_room_expiry(make_sandbox, receiver):
    sandbox = make_sandbox()  # no webhook_url: nothing is delivered, nothing fails
    make_room(sandbox)
    assert ok(sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/start")) == {"status": "sent"}
    session_id = sandbox.join_call("lesson", user_name="Ada")
    [participant] = sandbox.meetings["lesson"]["participants"].values()
    assert participant["user_id"] == participant["session_id"] == session_id  # as on Daily
    instance = {"instanceId": str(uuid.uuid4())}
    assert ok(sandbox_api(sandbox, "POST", "/rooms/lesson/recordings/start", json=instance))
    assert sandbox.leave_call("lesson", session_id) is None
    assert sandbox.meetings == {}
    assert sandbox.webhook_deliveries == []

    # A new sandbox: recording.started is sent from a thread, and could still reach a receiver.
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox)
    exp = int(time.time()) + 600
    make_room(sandbox, "timed", properties={"exp": exp})
    owner = sandbox.join_call("timed", user_id="t-1", owner=True)
    assert sandbox.fire_room_expiry("timed") == 200
    before = int(time.time())
    assert sandbox.fire_room_expiry("lesson") == 200
    with pytest.raises(LookupError):
        sandbox.fire_room_expiry("ghost")
    sandbox.leave_call("timed", owner)
    assert receiver.types() == [
        "meeting.started",
        "participant.joined",
        "room.exp",
        "room.exp",
        "participant.left",
        "meeting.ended",
    ]
    events = receiver.events()
    assert events[1]["payload"]["owner"] is True
    assert events[1]["payload"]["user_name"] is None
    assert events[2]["payload"] == {"room": "timed", "exp": exp}
    assert events[3]["payload"]["room"] == "lesson"
    assert before <= events[3]["payload"]["exp"] <= time.time()


def test_deleting_a_room_ejects_the_participants(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox)
    first = sandbox.join_call("lesson", user_id="a")
    second = sandbox.join_call("lesson", user_id="b")
    assert ok(sandbox_api(sandbox, "DELETE", "/rooms/lesson")) == {
        "deleted": True,
        "name": "lesson",
    }
    wait_until(lambda: len(receiver.events()) == 6)  # sent after the answer, in a thread
    events = receiver.events()
    assert [event["type"] for event in events[3:]] == [
        "participant.left",
        "participant.left",
        "meeting.ended",
    ]
    assert events[5]["payload"]["meeting_id"] == events[0]["payload"]["meeting_id"]
    assert {events[3]["payload"]["session_id"], events[4]["payload"]["session_id"]} == {
        first,
        second,
    }
    assert sandbox.meetings == {}
    with pytest.raises(LookupError):
        sandbox.leave_call("lesson", first)


# -- recordings list ------------------------------------------------------------------------------


def list_recordings(sandbox, **params):
    return sandbox_api(sandbox, "GET", "/recordings", params=params)


def test_recordings_are_listed_newest_first_with_cursors(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url, recording_bytes=200)
    now = int(time.time())
    starts = {"a1": now - 100, "a2": now - 50, "b1": now - 75, "a3": now - 50, "b2": now - 10}
    ids = {
        label: sandbox.add_finished_recording(f"room-{label[0]}", duration=7, start_ts=start)
        for label, start in starts.items()
    }
    newest_first = sorted(ids.values(), key=lambda i: (-sandbox.recordings[i]["start_ts"], i))
    assert newest_first[0] == ids["b2"]
    assert newest_first[-1] == ids["a1"]
    assert {newest_first[1], newest_first[2]} == {ids["a2"], ids["a3"]}  # a tie, in id order

    everything = ok(list_recordings(sandbox))
    assert everything["total_count"] == 5
    assert [recording["id"] for recording in everything["data"]] == newest_first
    for recording in everything["data"]:
        assert recording == ok(sandbox_api(sandbox, "GET", f"/recordings/{recording['id']}"))
        assert recording["status"] == "finished"
        assert recording["duration"] == 7
    room_a = ok(list_recordings(sandbox, room_name="room-a"))
    assert room_a["total_count"] == 3
    in_a = [i for i in newest_first if sandbox.recordings[i]["room_name"] == "room-a"]
    assert [recording["id"] for recording in room_a["data"]] == in_a
    assert ok(list_recordings(sandbox, room_name="nowhere")) == {"total_count": 0, "data": []}

    seen, params = [], {"limit": 2}
    while True:
        page = ok(list_recordings(sandbox, **params))
        assert page["total_count"] == 5
        assert len(page["data"]) <= 2
        if not page["data"]:
            break
        seen += [recording["id"] for recording in page["data"]]
        params = {"limit": 2, "starting_after": seen[-1]}
    assert seen == newest_first  # every recording exactly once, in order

    backwards, params = [], {"limit": 2, "ending_before": newest_first[-1]}
    while page := ok(list_recordings(sandbox, **params))["data"]:
        backwards = [recording["id"] for recording in page] + backwards
        params = {"limit": 2, "ending_before": page[0]["id"]}
    assert backwards == newest_first[:-1]
    after_b = ok(list_recordings(sandbox, room_name="room-a", starting_after=ids["b1"]))
    assert [r["id"] for r in after_b["data"]] == [ids["a1"]]
    assert after_b["total_count"] == 3

    for limit in ("0", "101", "x", "2.5", "-1"):
        assert refused(list_recordings(sandbox, limit=limit)) == (400, "invalid-request-error")
    assert len(ok(list_recordings(sandbox, limit="1"))["data"]) == 1
    assert len(ok(list_recordings(sandbox, limit="100"))["data"]) == 5
    unknown = list_recordings(sandbox, starting_after=str(uuid.uuid4()))
    assert refused(unknown) == (400, "invalid-request-error")
    # lost webhooks
    assert receiver.posts == []
    assert sandbox.webhook_deliveries == []

    link = ok(sandbox_api(sandbox, "GET", f"/recordings/{ids['a1']}/access-link"))["download_link"]
    download = requests.get(link, timeout=5)
    assert download.status_code == 200
    assert len(download.content) == 200
    assert download.content.startswith(b"LIVESESSIONS-SANDBOX-RECORDING duration=7\n")


def test_a_lost_recording_defaults_to_a_finished_10_seconds(make_sandbox):
    sandbox = make_sandbox()
    before = int(time.time())
    recording_id = sandbox.add_finished_recording("lesson")
    recording = ok(sandbox_api(sandbox, "GET", f"/recordings/{recording_id}"))
    assert recording == {
        "id": recording_id,
        "room_name": "lesson",
        "instance_id": None,
        "start_ts": recording["start_ts"],
        "status": "finished",
        "max_participants": 1,
        "s3key": f"sandbox/lesson/{recording_id}",
        "mtgSessionId": recording["mtgSessionId"],
        "tracks": [],
        "duration": 10,
    }
    assert before - 10 <= recording["start_ts"] <= time.time() - 10


def test_the_recordings_list_can_be_rate_limited(make_sandbox):
    sandbox = make_sandbox()
    recording_id = sandbox.add_finished_recording("lesson")
    sandbox.rate_limit_list = 2
    assert ok(
        sandbox_api(sandbox, "GET", f"/recordings/{recording_id}")
    )  # only the list is limited
    for _ in range(2):
        limited = list_recordings(sandbox)
        assert limited.status_code == 429
        assert set(limited.json()) == {"error", "info"}
        assert limited.json()["error"] == "rate-limit-error"
    for _ in range(2):
        assert ok(list_recordings(sandbox))["total_count"] == 1


# -- webhooks configuration -----------------------------------------------------------------------


def create_webhook(sandbox, url, **body):
    return sandbox_api(sandbox, "POST", "/webhooks", json={"url": url, **body})


def test_a_webhook_is_created_after_a_test_request(make_sandbox, receiver):
    sandbox = make_sandbox()
    before = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    hook = ok(create_webhook(sandbox, receiver.url, hmac=HOOK_SECRET, eventTypes=["meeting.ended"]))
    [(_, headers, raw)] = receiver.posts
    test = json.loads(raw)
    assert test == {"test": "test"}
    assert signed_with(HOOK_SECRET, headers, raw)
    assert uuid.UUID(hook["uuid"])
    assert hook["createdAt"] == hook["updatedAt"] >= before
    assert hook == {
        "uuid": hook["uuid"],
        "url": receiver.url,
        "hmac": HOOK_SECRET,
        "basicAuth": None,
        "retryType": "circuit-breaker",
        "eventTypes": ["meeting.ended"],
        "state": "ACTIVE",
        "failedCount": 0,
        "lastMomentPushed": None,
        "domainId": "sandbox",
        "createdAt": hook["createdAt"],
        "updatedAt": hook["updatedAt"],
    }
    assert ok(sandbox_api(sandbox, "GET", "/webhooks")) == [hook]
    assert ok(sandbox_api(sandbox, "GET", f"/webhooks/{hook['uuid']}")) == hook
    assert refused(sandbox_api(sandbox, "GET", f"/webhooks/{uuid.uuid4()}")) == (404, "not-found")

    second = create_webhook(sandbox, receiver.url)  # one webhook per domain
    assert refused(second) == (400, "invalid-request-error")
    assert "already exists" in second.json()["info"]
    assert len(receiver.posts) == 1
    deleted = ok(sandbox_api(sandbox, "DELETE", f"/webhooks/{hook['uuid']}"))
    assert deleted == {"deleted": True, "uuid": hook["uuid"]}
    assert ok(sandbox_api(sandbox, "GET", "/webhooks")) == []
    assert refused(sandbox_api(sandbox, "DELETE", f"/webhooks/{hook['uuid']}")) == (
        404,
        "not-found",
    )

    receiver.status = 500
    failing = create_webhook(sandbox, receiver.url)
    assert refused(failing) == (400, "invalid-request-error")
    assert len(receiver.posts) == 2
    assert "500" in failing.json()["info"]
    unreachable = create_webhook(sandbox, f"http://127.0.0.1:{free_port()}/hook")
    assert refused(unreachable) == (400, "invalid-request-error")
    assert ok(sandbox_api(sandbox, "GET", "/webhooks")) == []

    receiver.status = 200
    generated = ok(create_webhook(sandbox, receiver.url, retryType="exponential"))
    assert len(base64.b64decode(generated["hmac"], validate=True)) == 32
    assert (generated["retryType"], generated["eventTypes"]) == ("exponential", [])
    assert signed_with(generated["hmac"], *receiver.posts[-1][1:])


def test_webhook_bodies_are_validated_before_any_test_request(make_sandbox, receiver):
    sandbox = make_sandbox()
    for body in (
        {},
        {"url": "ftp://example.com/hook"},
        {"url": 5},
        {"url": receiver.url, "retryType": "sometimes"},
        {"url": receiver.url, "hmac": "not base64!"},
        {"url": receiver.url, "hmac": ""},
        {"url": receiver.url, "eventTypes": "meeting.ended"},
        {"url": receiver.url, "eventTypes": [1]},
    ):
        answer = sandbox_api(sandbox, "POST", "/webhooks", json=body)
        assert refused(answer) == (400, "invalid-request-error"), body
    hook = ok(create_webhook(sandbox, receiver.url))
    bad_update = sandbox_api(
        sandbox, "POST", f"/webhooks/{hook['uuid']}", json={"retryType": "never"}
    )
    assert refused(bad_update) == (400, "invalid-request-error")
    missing = sandbox_api(sandbox, "POST", f"/webhooks/{uuid.uuid4()}", json={})
    assert refused(missing) == (404, "not-found")
    assert receiver.bodies() == [{"test": "test"}]


def test_events_go_to_the_configured_webhook_signed_with_its_hmac(make_sandbox, make_receiver):
    legacy, configured = make_receiver(), make_receiver()
    sandbox = make_sandbox(webhook_url=legacy.url, webhook_secret=SECRET)
    make_room(sandbox)
    assert sandbox.fire_webhook("meeting.started", {"room": "lesson"}) == 200
    hook = ok(
        create_webhook(
            sandbox,
            configured.url,
            hmac=HOOK_SECRET,
            eventTypes=["participant.joined", "participant.left"],
        )
    )
    session_id = ok(join(sandbox, user_id="ada"))["session_id"]
    ok(leave(sandbox, session_id))
    assert configured.types() == ["participant.joined", "participant.left"]
    assert [e["payload"]["session_id"] for e in configured.events()] == [session_id] * 2
    for _, headers, raw in configured.posts:
        assert signed_with(HOOK_SECRET, headers, raw)
        assert not signed_with(SECRET, headers, raw)
    assert legacy.types() == ["meeting.started"]  # only what was sent before
    assert sandbox.webhook_deliveries[1:] == [
        {"type": "participant.joined", "status": 200},
        {"type": "participant.left", "status": 200},
    ]
    assert ok(sandbox_api(sandbox, "GET", f"/webhooks/{hook['uuid']}"))["lastMomentPushed"]

    ok(sandbox_api(sandbox, "DELETE", f"/webhooks/{hook['uuid']}"))
    assert sandbox.fire_webhook("meeting.ended", {"room": "lesson"}) == 200
    assert legacy.types() == ["meeting.started", "meeting.ended"]  # the constructor's again
    assert signed_with(SECRET, *legacy.posts[-1][1:])


def test_the_circuit_breaker_fails_the_webhook_until_it_is_updated(make_sandbox, make_receiver):
    receiver, elsewhere = make_receiver(), make_receiver()
    sandbox = make_sandbox()
    hook = ok(create_webhook(sandbox, receiver.url, hmac=HOOK_SECRET))
    path = f"/webhooks/{hook['uuid']}"

    def fire():
        event = {"type": "meeting.ended", "payload": {"room": "lesson"}}
        url = f"{sandbox.url}/sandbox/webhook"
        return requests.post(url, json=event, timeout=5).json()["delivered"]

    def state():
        current = ok(sandbox_api(sandbox, "GET", path))
        return current["state"], current["failedCount"]

    receiver.status = 500
    assert [fire(), fire()] == [500, 500]
    assert state() == ("ACTIVE", 2)
    receiver.status = 204
    assert fire() == 204
    assert state() == ("ACTIVE", 0)  # a success resets the count
    receiver.status = 500
    assert [fire(), fire(), fire()] == [500, 500, 500]
    assert state() == ("FAILED", 3)
    events = len(receiver.events())
    assert fire() is None
    assert len(receiver.events()) == events  # nothing more is sent

    refused_update = sandbox_api(sandbox, "POST", path, json={})  # the test request fails too
    assert refused(refused_update) == (400, "invalid-request-error")
    assert state() == ("FAILED", 3)
    receiver.status = 200
    updated = ok(sandbox_api(sandbox, "POST", path, json={"url": elsewhere.url}))
    assert (updated["state"], updated["failedCount"], updated["url"]) == (
        "ACTIVE",
        0,
        elsewhere.url,
    )
    assert updated["updatedAt"] >= updated["createdAt"] == hook["createdAt"]
    assert updated["hmac"] == HOOK_SECRET
    assert elsewhere.bodies() == [{"test": "test"}]
    assert fire() == 200
    assert elsewhere.types() == ["meeting.ended"]
    assert len(receiver.events()) == events

    sandbox.fail_webhook()
    assert state() == ("FAILED", 3)
    assert fire() is None
    assert ok(sandbox_api(sandbox, "POST", path, json={"eventTypes": []}))["state"] == "ACTIVE"
    assert fire() == 200
    assert elsewhere.types() == ["meeting.ended"] * 2

    ok(sandbox_api(sandbox, "DELETE", path))
    with pytest.raises(LookupError):
        sandbox.fail_webhook()
    exponential = ok(create_webhook(sandbox, receiver.url, retryType="exponential"))
    receiver.status = 500
    assert [fire() for _ in range(4)] == [500] * 4
    current = ok(sandbox_api(sandbox, "GET", f"/webhooks/{exponential['uuid']}"))
    assert (current["state"], current["failedCount"]) == ("ACTIVE", 4)  # never FAILED
