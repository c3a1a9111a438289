"""A whole value with a newline after it is not that value.

Python's `$` also matches before a final newline; JavaScript's (Joi's regexes) only at the
very end. So `"<uuid>\\n"` is not a GUID and `"2099-01-01T10:00:00.000Z\\n"` not an ISO date,
and neither may be stored.
"""

from urllib.parse import quote

import pytest

from tests.support.factories import COURSE, INSTRUCTOR, iso, seed_session, session_payload

# A fixed date in the future, not one derived from now at import: the test ids show it.
DATE = "2099-01-01T10:00:00.000Z"
GUID_CASES = [
    ("courseId", COURSE + "\n"),
    ("courseId", "{" + COURSE + "}\n"),
    ("courseId", COURSE.replace("-", "") + "\n"),
    ("instructorId", INSTRUCTOR + "\n"),
]
DATE_CASES = [DATE + "\n", DATE[:10] + "\n", DATE[:16] + "\n", DATE[:19] + "+01:00\n"]


@pytest.mark.parametrize(("field", "value"), GUID_CASES, ids=ascii)
def test_a_guid_with_a_trailing_newline_is_not_a_guid(client, auth, daily, db, field, value):
    response = client.post("/sessions", json=session_payload(**{field: value}), headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f'"{field}" must be a valid GUID'},
    )
    assert db.livesessions.count_documents({}) == 0
    assert daily.calls() == []


@pytest.mark.parametrize("value", DATE_CASES, ids=ascii)
def test_a_date_with_a_trailing_newline_is_not_an_iso_date(client, auth, daily, db, value):
    response = client.post("/sessions", json=session_payload(scheduledAt=value), headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": '"scheduledAt" must be in ISO 8601 date format'},
    )
    assert db.livesessions.count_documents({}) == 0
    assert daily.calls() == []


def test_an_update_to_a_date_with_a_trailing_newline_changes_nothing(client, auth, daily, db):
    doc = seed_session(db)
    response = client.put(
        f"/sessions/{doc['_id']}", json={"scheduledAt": DATE + "\n"}, headers=auth
    )
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": '"scheduledAt" must be in ISO 8601 date format'},
    )
    assert db.livesessions.find_one({"_id": doc["_id"]}) == doc
    assert daily.calls() == []


@pytest.mark.parametrize("key", ["from", "to"])
def test_list_dates_with_a_trailing_newline_are_refused(client, auth, key):
    response = client.get(f"/sessions?{key}={quote(DATE + chr(10))}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        400,
        {"message": f'"{key}" must be in ISO 8601 date format'},
    )


def test_the_same_values_without_the_newline_are_accepted(client, auth, daily, db):
    body = session_payload(courseId=COURSE, instructorId=INSTRUCTOR, scheduledAt=DATE)
    response = client.post("/sessions", json=body, headers=auth)
    assert response.status_code == 201
    stored = db.livesessions.find_one({"_id": response.get_json()["_id"]})
    assert (stored["course"], stored["instructor"], iso(stored["scheduledAt"])) == (
        COURSE,
        INSTRUCTOR,
        DATE,
    )


def test_a_request_id_with_a_trailing_newline_is_replaced(client, db):
    """It would be echoed in a header, where a newline can't go (werkzeug raises)."""
    response = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": "req-1\n"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] != "req-1"
    assert len(response.headers["X-Request-ID"]) == 32  # a generated uuid4 hex
    kept = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": "req-1"})
    assert kept.headers["X-Request-ID"] == "req-1"
