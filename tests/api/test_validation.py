"""Joi-worded validation errors: one per request, 400, never a 500, nothing stored."""

import pytest

from tests.support.factories import future, seed_session, session_payload

MISSING = ...
TOO_LONG_TITLE = "x" * 201


CREATE_CASES = [
    # field, value (MISSING = key absent), message
    ("title", MISSING, '"title" is required'),
    ("title", None, '"title" must be a string'),
    ("title", 123, '"title" must be a string'),
    ("title", ["abc"], '"title" must be a string'),
    ("title", {"$gt": ""}, '"title" must be a string'),
    ("title", "", '"title" is not allowed to be empty'),
    ("title", "ab", '"title" length must be at least 3 characters long'),
    ("title", "  ", '"title" length must be at least 3 characters long'),
    ("title", TOO_LONG_TITLE, '"title" length must be less than or equal to 200 characters long'),
    ("description", 5, '"description" must be a string'),
    ("description", None, '"description" must be a string'),
    (
        "description",
        "d" * 1001,
        '"description" length must be less than or equal to 1000 characters long',
    ),
    ("courseId", MISSING, '"courseId" is required'),
    ("courseId", "", '"courseId" is not allowed to be empty'),
    ("courseId", "not-a-uuid", '"courseId" must be a valid GUID'),
    (
        "courseId",
        "urn:uuid:aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
        '"courseId" must be a valid GUID',
    ),
    ("courseId", " aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", '"courseId" must be a valid GUID'),
    ("courseId", "{aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa]", '"courseId" must be a valid GUID'),
    ("courseId", {"$ne": None}, '"courseId" must be a string'),
    ("courseId", 42, '"courseId" must be a string'),
    ("instructorId", "someone", '"instructorId" must be a valid GUID'),
    ("instructorId", None, '"instructorId" must be a string'),
    ("scheduledAt", MISSING, '"scheduledAt" is required'),
    ("scheduledAt", None, '"scheduledAt" must be a valid date'),
    ("scheduledAt", 1703500800000, '"scheduledAt" must be a valid date'),
    ("scheduledAt", True, '"scheduledAt" must be a valid date'),
    ("scheduledAt", "tomorrow", '"scheduledAt" must be in ISO 8601 date format'),
    ("scheduledAt", "", '"scheduledAt" must be in ISO 8601 date format'),
    ("scheduledAt", "2099-02-32T10:00:00Z", '"scheduledAt" must be in ISO 8601 date format'),
    ("scheduledAt", "2099-13-01", '"scheduledAt" must be in ISO 8601 date format'),
    (
        "scheduledAt",
        "2020-01-01T10:00:00.000Z",
        '"scheduledAt" must be greater than or equal to now',
    ),
    (
        "scheduledAt",
        "9999-12-31T23:00:00.000Z",
        '"scheduledAt" must be less than or equal to "9999-01-01T00:00:00.000Z"',
    ),
    (
        "scheduledAt",
        "9999-12-31T23:59:59-12:00",  # past year 9999 in UTC: a date all the same
        '"scheduledAt" must be less than or equal to "9999-01-01T00:00:00.000Z"',
    ),
    (
        "scheduledAt",
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC
        '"scheduledAt" must be greater than or equal to now',
    ),
    ("duration", MISSING, '"duration" is required'),
    ("duration", None, '"duration" must be a number'),
    ("duration", "abc", '"duration" must be a number'),
    ("duration", "", '"duration" must be a number'),
    ("duration", "0x10", '"duration" must be a number'),
    ("duration", True, '"duration" must be a number'),
    ("duration", [60], '"duration" must be a number'),
    ("duration", 14, '"duration" must be greater than or equal to 15'),
    ("duration", -1, '"duration" must be greater than or equal to 15'),
    ("duration", 481, '"duration" must be less than or equal to 480'),
    ("duration", 60.5, '"duration" must be an integer'),
    ("duration", "1.5e1", None),  # 15: valid
    ("duration", 2**60, '"duration" must be a safe number'),
    ("maxParticipants", 0, '"maxParticipants" must be greater than or equal to 1'),
    ("maxParticipants", 1001, '"maxParticipants" must be less than or equal to 1000'),
    ("maxParticipants", 2.5, '"maxParticipants" must be an integer'),
    ("maxParticipants", "many", '"maxParticipants" must be a number'),
    ("maxParticipants", None, '"maxParticipants" must be a number'),
    ("status", "live", '"status" is not allowed'),
    ("roomName", "mine", '"roomName" is not allowed'),
    ("$where", "1", '"$where" is not allowed'),
]


@pytest.mark.parametrize(("field", "value", "message"), CREATE_CASES)
def test_create_validation(client, auth, daily, db, field, value, message):
    body = session_payload(**{field: value})
    response = client.post("/sessions", json=body, headers=auth)
    if message is None:
        assert response.status_code == 201, response.get_json()
        return
    assert response.status_code == 400
    assert response.get_json() == {"message": message}
    assert db.livesessions.count_documents({}) == 0
    assert daily.calls() == []


def test_empty_body_reports_the_first_declared_key(client, auth, daily):
    response = client.post("/sessions", json={}, headers=auth)
    assert (response.status_code, response.get_json()) == (400, {"message": '"title" is required'})


def test_declared_keys_are_checked_before_unknown_ones(client, auth, daily):
    response = client.post("/sessions", json={"zzz": 1, "title": "ab"}, headers=auth)
    assert response.get_json() == {"message": '"title" length must be at least 3 characters long'}
    body = session_payload(zzz=1, aaa=2)
    assert client.post("/sessions", json=body, headers=auth).get_json() == {
        "message": '"zzz" is not allowed'
    }


# a valid body in a list: made when the test runs (its date is from now)
@pytest.mark.parametrize("body", [[], "text", 5, None, lambda: [session_payload()]])
def test_a_body_that_is_not_an_object(client, auth, daily, body):
    import json

    if callable(body):
        body = body()

    response = client.post(
        "/sessions", data=json.dumps(body), content_type="application/json", headers=auth
    )
    assert response.status_code == 400
    assert response.get_json() == {"message": '"value" must be of type object'}


@pytest.mark.parametrize("raw", ['{"title": ', "{'a': 1}", '{"duration": NaN}', "[" * 100_000])
def test_malformed_json_is_a_400(client, auth, daily, raw):
    response = client.post("/sessions", data=raw, content_type="application/json", headers=auth)
    assert response.status_code == 400
    assert response.get_json() == {"message": "Request body is not valid JSON"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ab", '"title" length must be at least 3 characters long'),
        (None, '"title" must be a string'),
    ],
)
def test_update_validates_like_create(client, auth, db, daily, value, message):
    doc = seed_session(db)
    response = client.put(f"/sessions/{doc['_id']}", json={"title": value}, headers=auth)
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert db.livesessions.find_one({"_id": doc["_id"]})["title"] == "Seeded session"


UPDATE_CASES = [
    ({}, '"value" must have at least 1 key'),
    ({"courseId": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"}, '"courseId" is not allowed'),
    ({"status": "live"}, '"status" is not allowed'),
    ({"participants": ["x"]}, '"participants" is not allowed'),
    ({"duration": 500}, '"duration" must be less than or equal to 480'),
    ({"duration": "ninety"}, '"duration" must be a number'),
    ({"maxParticipants": 0}, '"maxParticipants" must be greater than or equal to 1'),
    ({"scheduledAt": "2001-01-01"}, '"scheduledAt" must be greater than or equal to now'),
    ({"scheduledAt": "soon"}, '"scheduledAt" must be in ISO 8601 date format'),
    (
        {"scheduledAt": "9999-12-31T23:00:00Z"},
        '"scheduledAt" must be less than or equal to "9999-01-01T00:00:00.000Z"',
    ),
    (
        {"scheduledAt": "0001-01-01T00:00:00+01:00"},
        '"scheduledAt" must be greater than or equal to now',
    ),
    ({"foo": 1}, '"foo" is not allowed'),  # unknown keys come before the object's own rule
    ({"description": {"$set": 1}}, '"description" must be a string'),
]


@pytest.mark.parametrize(("body", "message"), UPDATE_CASES)
def test_update_validation(client, auth, db, daily, body, message):
    doc = seed_session(db)
    response = client.put(f"/sessions/{doc['_id']}", json=body, headers=auth)
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert db.livesessions.find_one({"_id": doc["_id"]}) == doc
    assert daily.calls() == []


LIST_CASES = [
    ("page=0", '"page" must be greater than or equal to 1'),
    ("page=-3", '"page" must be greater than or equal to 1'),
    ("page=abc", '"page" must be a number'),
    ("page=", '"page" must be a number'),
    ("page=1.5", '"page" must be an integer'),
    ("page=1&page=2", '"page" must be a number'),
    ("page=99999999999999999999", '"page" must be a safe number'),
    ("pageCount=0", '"pageCount" must be greater than or equal to 1'),
    ("pageCount=101", '"pageCount" must be less than or equal to 100'),
    ("pageCount=ten", '"pageCount" must be a number'),
    ("search=a&search=b", '"search" must be a string'),
    ("search=" + "s" * 201, '"search" length must be less than or equal to 200 characters long'),
    ("sort=title", '"sort" is not allowed'),
    ("status=open", '"status" must be one of [scheduled, live, ended, cancelled]'),
    ("status=", '"status" must be one of [scheduled, live, ended, cancelled]'),
    ("status=live&status=ended", '"status" must be one of [scheduled, live, ended, cancelled]'),
    ("courseId=", '"courseId" is not allowed to be empty'),
    (
        "instructorId=" + "i" * 129,
        '"instructorId" length must be less than or equal to 128 characters long',
    ),
    ("from=tomorrow", '"from" must be in ISO 8601 date format'),
    ("from=2026-02-32", '"from" must be in ISO 8601 date format'),
    ("to=2026-13-01", '"to" must be in ISO 8601 date format'),
    ("from=2026-12-02&to=2026-12-01", '"to" must be greater than or equal to "ref:from"'),
    ("from_=2026-12-01", '"from_" is not allowed'),
    ("status=nope&from=bad", '"status" must be one of [scheduled, live, ended, cancelled]'),
]


@pytest.mark.parametrize(("query", "message"), LIST_CASES)
def test_list_query_validation(client, auth, query, message):
    response = client.get(f"/sessions?{query}", headers=auth)
    assert (response.status_code, response.get_json()) == (400, {"message": message})


PARTICIPANT_CASES = [
    ({}, "Student ID is required"),
    ({"studentId": None}, "Student ID is required"),
    ({"studentId": ""}, "Student ID is required"),
    ({"studentId": 0}, "Student ID is required"),
    ({"studentId": False}, "Student ID is required"),
    ({"studentId": {"$ne": None}}, '"studentId" must be a string'),
    ({"studentId": ["a", "b"]}, '"studentId" must be a string'),
    ({"studentId": 42}, '"studentId" must be a string'),
    (
        {"studentId": "s" * 129},
        '"studentId" length must be less than or equal to 128 characters long',
    ),
    ({"studentId": "s1", "role": "admin"}, '"role" is not allowed'),
]


@pytest.mark.parametrize(("body", "message"), PARTICIPANT_CASES)
def test_participant_validation(client, db, body, message):
    doc = seed_session(db)
    response = client.post(f"/sessions/{doc['_id']}/participants", json=body)
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert db.livesessions.find_one({"_id": doc["_id"]})["participants"] == []


INVALID_STATUS = "Invalid status value. Must be one of: scheduled, live, ended, cancelled"
STATUS_CASES = [
    ({}, "Status is required"),
    ({"status": None}, "Status is required"),
    ({"status": ""}, "Status is required"),
    ({"status": "paused"}, INVALID_STATUS),
    ({"status": "LIVE"}, INVALID_STATUS),
    ({"status": 1}, INVALID_STATUS),
    ({"status": ["live"]}, INVALID_STATUS),
    ({"status": {"$ne": "x"}}, INVALID_STATUS),
    ({"status": "live", "note": "x"}, '"note" is not allowed'),
]


@pytest.mark.parametrize(("body", "message"), STATUS_CASES)
def test_status_validation(client, db, body, message):
    doc = seed_session(db)
    response = client.patch(f"/sessions/{doc['_id']}/status", json=body)
    assert (response.status_code, response.get_json()) == (400, {"message": message})
    assert db.livesessions.find_one({"_id": doc["_id"]})["status"] == "scheduled"


def test_iso_formats_joi_accepts(client, auth, daily):
    day = future().date()
    for text, expected in [
        (f"{day}", f"{day}T00:00:00.000Z"),
        (f"{day}T10:00", f"{day}T10:00:00.000Z"),
        (f"{day}T10:00:00Z", f"{day}T10:00:00.000Z"),
        (f"{day}T10:00:00.5-02:00", f"{day}T12:00:00.500Z"),
    ]:
        body = client.post("/sessions", json=session_payload(scheduledAt=text), headers=auth)
        assert body.get_json()["scheduledAt"] == expected, text


def test_guid_forms_joi_accepts(client, auth, daily):
    for text in [
        "AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA",
        "aaaaaaaaaaaa4aaa8aaaaaaaaaaaaaaa",
        "{aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa}",
    ]:
        response = client.post("/sessions", json=session_payload(courseId=text), headers=auth)
        assert response.status_code == 201
        assert response.get_json()["course"] == text


def test_lone_surrogates_are_stored_as_replacement_characters(client, auth, daily, db):
    """JSON allows "\\ud800"; BSON (UTF-8) does not. Node's encoder wrote U+FFFD instead."""
    raw = (
        '{"title": "ab\\ud800c", "courseId": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", '
        f'"scheduledAt": "{session_payload()["scheduledAt"]}", "duration": 60}}'
    )
    response = client.post("/sessions", data=raw, content_type="application/json", headers=auth)
    assert response.status_code == 201
    assert response.get_json()["title"] == "ab\ufffdc"
    stored = db.livesessions.find_one({"_id": response.get_json()["_id"]})
    assert stored["title"] == "ab\ufffdc"
    joined = client.post(
        f"/sessions/{stored['_id']}/participants",
        data='{"studentId": "s\\udc00"}',
        content_type="application/json",
    )
    assert joined.get_json()["participants"] == ["s\ufffd"]
    webhook = client.post(
        "/sessions/webhook/daily",
        data='{"type": "room.exp", "payload": {"room": "\\ud83d"}}',
        content_type="application/json",
    )
    assert webhook.status_code == 200


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/sessions//", "Resource not found"),
        ("/sessions/%2F", "Resource not found"),
        ("/sessions/course//", "Resource not found"),
        ("//sessions", "Resource not found"),
    ],
)
def test_doubled_slashes_are_json_404s(client, auth, path, message):
    response = client.get(path, headers=auth)
    assert (response.status_code, response.get_json()) == (404, {"message": message})
