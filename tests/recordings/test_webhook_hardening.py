"""The Daily.co webhook under abuse: timestamps that are no time, late and replayed events."""

import json
import time

import orjson
import pytest

from livesessions.daily.receive import signature_is_valid
from tests.support.factories import in_class, seed_recording, seed_session
from tests.support.webhooks import SECRET, envelope, participant_event, sign


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


# -- the signature's timestamp: a plain integer, seconds or milliseconds ----------------------


# Templates of `now` (filled in when the test runs: a time taken at import could be stale,
# and refused for that instead of for its form).
NOT_A_TIME = [
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "Infinity",
    "1e3",
    "{billions:.9f}e9",  # now, with an exponent
    "12.5",
    "{now}.5",  # now, with a fraction
    "{now}.0",
    "-1",
    "-{now}",
    "+{now}",
    "",
    " {now}",
    "{now}_0",
    "0x10",
    "{full_width}",  # now in full-width digits
    "9" * 16,
]


@pytest.mark.parametrize("template", NOT_A_TIME)
def test_a_timestamp_that_is_no_integer_time_is_refused_even_signed(
    signed_app, signed_db, signed_session, template
):
    now = int(time.time())
    full_width = str(now).translate({ord("0") + d: 0xFF10 + d for d in range(10)})
    timestamp = template.format(now=now, billions=now / 1e9, full_width=full_width)
    raw = json.dumps(participant_event()).encode()
    headers = sign(raw, timestamp=timestamp)  # a correct HMAC over that very timestamp
    response = signed_app.test_client().post("/sessions/webhook/daily", data=raw, headers=headers)
    assert (response.status_code, response.get_json()) == (
        401,
        {"message": "Invalid webhook signature"},
    )
    assert signed_db.attendance.count_documents({}) == 0


@pytest.mark.parametrize(("scale", "extra"), [(1, 0), (1000, 0), (1000, 999)])
def test_integer_seconds_and_milliseconds_are_accepted(
    signed_app, signed_db, signed_session, scale, extra
):
    # now, not at import: the suite may run longer than the 300 s tolerance before this test
    timestamp = str(int(time.time()) * scale + extra)
    raw = json.dumps(participant_event()).encode()
    response = signed_app.test_client().post(
        "/sessions/webhook/daily", data=raw, headers=sign(raw, timestamp=timestamp)
    )
    assert (response.status_code, response.get_json()) == (200, {"received": True})
    assert signed_db.attendance.find_one({"_id": "visit-1"})["userId"] == "u1"


def test_the_tolerance_is_as_before_in_seconds_and_milliseconds():
    body, now = b"{}", 1_800_000_000

    def valid(timestamp):
        signature = sign(body, timestamp=timestamp)["X-Webhook-Signature"]
        return signature_is_valid(SECRET, str(timestamp), signature, body, 300, now=now)

    assert [valid(now - 300), valid(now + 300), valid(now - 301), valid(now + 301)] == [
        True,
        True,
        False,
        False,
    ]
    assert [valid((now - 300) * 1000), valid((now - 301) * 1000)] == [True, False]


@pytest.mark.parametrize("signature", ["\u00e9" * 44, "\u00ff", "é=="])
def test_a_signature_with_non_ascii_characters_is_a_401_not_a_500(
    signed_app, signed_db, signed_session, signature
):
    raw = json.dumps(participant_event()).encode()
    headers = {**sign(raw), "X-Webhook-Signature": signature}
    response = signed_app.test_client().post("/sessions/webhook/daily", data=raw, headers=headers)
    assert (response.status_code, response.get_json()) == (
        401,
        {"message": "Invalid webhook signature"},
    )
    assert signed_db.attendance.count_documents({}) == 0


# -- unsigned bodies: only a small one is ever parsed ------------------------------------------


def megabyte_event():
    """A signature-less event of 1,000,000 bytes that is slow to parse (~0.25 s before)."""
    head = b'{"type":"participant.joined","payload":{"room":"room-a","x":['
    count = (1_000_000 - len(head) - 4) // 3
    raw = head + b"[]," * count + b"0]}}"
    return raw + b" " * (1_000_000 - len(raw))


@pytest.fixture
def parsed(monkeypatch):
    """The bodies the webhook gave to the JSON parser."""
    import livesessions.daily.receive as receive

    calls, parse = [], receive.parse_json
    monkeypatch.setattr(
        receive, "parse_json", lambda raw, message: calls.append(raw) or parse(raw, message)
    )
    return calls


@pytest.fixture
def decoded(monkeypatch):
    """The length of every text given to a JSON decoder from the test's start: the stdlib's
    (whoever calls it) and orjson (the app's `get_json`)."""
    sizes, decode, orjson_loads = [], json.JSONDecoder.decode, orjson.loads
    monkeypatch.setattr(
        json.JSONDecoder,
        "decode",
        lambda self, text, *args: sizes.append(len(text)) or decode(self, text, *args),
    )
    monkeypatch.setattr(orjson, "loads", lambda text: sizes.append(len(text)) or orjson_loads(text))
    return sizes


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed wrongly"])
def test_a_megabyte_without_a_valid_signature_is_refused_fast_unparsed(
    signed_app, signed_db, signed_session, parsed, decoded, signed
):
    """Fast because unread: no JSON decoder is given the megabyte (~0.25 s to parse), which
    is checked as such rather than timed."""
    headers = {}
    if signed:  # a current timestamp: the signature alone is wrong
        headers = {"X-Webhook-Timestamp": str(int(time.time())), "X-Webhook-Signature": "AAAA"}
    raw = megabyte_event()
    assert len(raw) == 1_000_000
    assert json.loads(raw)["type"] == "participant.joined"
    decoded.clear()  # that was the test's own reading
    response = signed_app.test_client().post(
        "/sessions/webhook/daily", data=raw, headers=headers, content_type="application/json"
    )
    assert (response.status_code, response.get_json()) == (
        401,
        {"message": "Invalid webhook signature"},
    )
    assert parsed == []
    assert max(decoded) < 1024  # the answers' JSON only: nothing near the body's size
    assert signed_db.attendance.count_documents({}) == 0


def test_a_megabyte_of_unsigned_garbage_is_401_not_400(signed_app, parsed):
    """Not parsed at all: were it parsed, it would be a 400 `not valid JSON`."""
    response = signed_app.test_client().post(
        "/sessions/webhook/daily", data=b"\xff" * 1_000_000, content_type="application/json"
    )
    assert (response.status_code, response.get_json()) == (
        401,
        {"message": "Invalid webhook signature"},
    )
    assert parsed == []


def padded(size, **fields):
    """A JSON object of exactly `size` bytes: `fields` and a padding string."""
    body = {**fields, "pad": ""}
    body["pad"] = "x" * (size - len(json.dumps(body).encode()))
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


def test_up_to_1_kb_unsigned_is_parsed_and_the_set_up_check_is_acknowledged(signed_app, parsed):
    client = signed_app.test_client()
    for raw in (b'{"test": "test"}', padded(1024, test="test")):
        response = client.post("/sessions/webhook/daily", data=raw, content_type="application/json")
        assert (response.status_code, response.get_json()) == (200, {"received": True})
    assert parsed == [b'{"test": "test"}', padded(1024, test="test")]
    response = client.post(
        "/sessions/webhook/daily", data=padded(1025, test="test"), content_type="application/json"
    )
    assert (response.status_code, response.get_json()) == (
        401,
        {"message": "Invalid webhook signature"},
    )
    assert len(parsed) == 2


def test_small_unsigned_answers_are_as_documented(signed_app, signed_db, signed_session):
    client = signed_app.test_client()
    garbage = client.post(
        "/sessions/webhook/daily", data=b"{not json", content_type="application/json"
    )
    assert (garbage.status_code, garbage.get_json()) == (
        400,
        {"message": "Webhook body is not valid JSON"},
    )
    event = client.post("/sessions/webhook/daily", json=participant_event())
    assert (event.status_code, event.get_json()) == (401, {"message": "Invalid webhook signature"})
    assert signed_db.attendance.count_documents({}) == 0


def test_a_large_signed_body_is_parsed_and_processed(signed_app, signed_db, signed_session):
    body = participant_event()
    body["payload"]["permissions"] = {"note": "x" * 100_000}
    raw = json.dumps(body).encode()
    response = signed_app.test_client().post("/sessions/webhook/daily", data=raw, headers=sign(raw))
    assert (response.status_code, response.get_json()) == (200, {"received": True})
    assert signed_db.attendance.find_one({"_id": "visit-1"})["userId"] == "u1"


def test_without_a_secret_a_large_unsigned_event_is_processed_as_before(client, db, live_session):
    raw = megabyte_event()
    response = client.post("/sessions/webhook/daily", data=raw, content_type="application/json")
    assert (response.status_code, response.get_json()) == (200, {"received": True})
    # (that megabyte has no visit in it: a signature-less event of a visit, padded, is stored)
    raw = padded(5000, **participant_event())
    response = client.post("/sessions/webhook/daily", data=raw, content_type="application/json")
    assert response.status_code == 200
    assert db.attendance.find_one({"_id": "visit-1"})["room"] == "room-a"
