"""Attendance reports: GET /sessions/:id/attendance.csv."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from livesessions.errors import (
    ATTENDANCE_FORBIDDEN,
    MISSING_TOKEN,
    SESSION_NOT_FOUND,
    TOO_MANY_REQUESTS,
)
from tests.support.factories import (
    ADMIN,
    INSTRUCTOR,
    OTHER_INSTRUCTOR,
    seed_session,
)
from tests.support.webhooks import envelope

ATTENDEE_HEADER = "userId,userName,role,firstJoinedAt,lastLeftAt,present,minutesPresent,visits"
YESTERDAY = datetime.now(UTC).replace(microsecond=0, second=0) - timedelta(days=1)


def visit(client, doc, user_id, minutes=None, user_name=None, after=0):
    """One visit of `user_id` to the room of `doc`, `after` minutes into its class, lasting
    `minutes` (None: its `participant.left` never came), delivered as Daily sends it."""
    joined = doc["scheduledAt"] + timedelta(minutes=after)
    payload = {
        "joined_at": joined.timestamp(),
        "session_id": f"visit-{doc['_id']}-{user_id}-{after}",
        "room": doc["roomName"],
        "user_id": user_id,
        "user_name": user_name or user_id,
    }
    events = [("participant.joined", payload)]
    if minutes is not None:
        events.append(("participant.left", {**payload, "duration": minutes * 60}))
    for event_type, body in events:
        response = client.post("/sessions/webhook/daily", json=envelope(event_type, body))
        assert (response.status_code, response.get_json()) == (200, {"received": True})


def bearer(token_for, user_id, role):
    return {"Authorization": f"Bearer {token_for(user_id=user_id, role=role)}"}


@pytest.fixture
def admin(token_for):
    return bearer(token_for, ADMIN, "admin")


@pytest.fixture
def other_instructor(token_for):
    return bearer(token_for, OTHER_INSTRUCTOR, "instructor")


@pytest.fixture
def student(token_for):
    return bearer(token_for, "student-1", "student")


def read_csv(response, filename):
    """The rows of a CSV download, after checking it is one (RFC 4180: CRLF line ends)."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'
    raw = response.get_data()
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline=""), strict=True))
    # each record ends with CRLF (a line break inside a quoted field is the field's own)
    assert raw.endswith(b"\r\n")
    assert raw.count(b"\r\n") == len(rows)
    return rows


def as_cells(record, columns):
    """A JSON record as the CSV writes it: null empty, booleans as JSON spells them."""
    spelled = {None: "", True: "true", False: "false"}
    return [
        spelled[value] if value is None or isinstance(value, bool) else str(value)
        for value in (record[column] for column in columns)
    ]


# -- GET /sessions/:id/attendance.csv ------------------------------------------------------


def test_the_csv_holds_the_jsons_attendees(client, auth, db):
    doc = seed_session(
        db, scheduledAt=YESTERDAY, status="ended", participants=["student-1", "student-2"]
    )
    visit(client, doc, INSTRUCTOR, minutes=60, after=-5)
    visit(client, doc, "student-1", minutes=10)
    visit(client, doc, "student-1", minutes=5, user_name='Ann "the great", Smith', after=20)
    visit(client, doc, "guest-9", user_name="Zoë\nNewline", after=1)  # its `left` was lost
    stored = list(db.attendance.find().sort("_id"))

    response = client.get(f"/sessions/{doc['_id']}/attendance.csv", headers=auth)
    rows = read_csv(response, f"attendance-{doc['_id']}.csv")
    body = client.get(f"/sessions/{doc['_id']}/attendance", headers=auth).get_json()
    columns = ATTENDEE_HEADER.split(",")
    assert response.get_data().startswith(ATTENDEE_HEADER.encode() + b"\r\n")
    assert rows == [columns, *(as_cells(a, columns) for a in body["attendees"])]
    assert [row[0] for row in rows[1:]] == [INSTRUCTOR, "student-1", "guest-9"]
    guest = rows[3]
    # counted until the room closed: 60 minutes and 30 of grace, from minute 1
    assert guest[1:] == ["Zoë\nNewline", "guest", guest[3], "", "false", "89.0", "1"]
    assert rows[2][1] == 'Ann "the great", Smith'
    assert rows[2][6:] == ["15.0", "2"]
    assert b'"Ann ""the great"", Smith"' in response.get_data()  # quoted as RFC 4180 says
    assert list(db.attendance.find().sort("_id")) == stored  # a read writes nothing


def test_the_csv_of_a_class_nobody_joined_is_its_header(client, admin, db):
    doc = seed_session(db, participants=["student-1"])
    response = client.get(f"/sessions/{doc['_id']}/attendance.csv", headers=admin)
    assert read_csv(response, f"attendance-{doc['_id']}.csv") == [ATTENDEE_HEADER.split(",")]
    assert response.get_data() == ATTENDEE_HEADER.encode() + b"\r\n"


@pytest.mark.parametrize(
    ("who", "status", "message"),
    [
        (None, 401, MISSING_TOKEN),
        ("student", 403, ATTENDANCE_FORBIDDEN),
        ("other_instructor", 403, ATTENDANCE_FORBIDDEN),
    ],
)
def test_the_csv_is_refused_as_the_json_is(request, client, db, who, status, message):
    headers = request.getfixturevalue(who) if who else {}
    doc = seed_session(db, participants=["student-1"])
    for path in (f"/sessions/{doc['_id']}/attendance", f"/sessions/{doc['_id']}/attendance.csv"):
        response = client.get(path, headers=headers)
        assert (response.status_code, response.get_json()) == (status, {"message": message})
        assert response.headers["Content-Type"] == "application/json"


def test_the_csv_of_an_unknown_or_deleted_session_is_a_404(client, auth, db):
    deleted = seed_session(db, status="cancelled", deletedAt=YESTERDAY)
    for session_id in ("no-such-session", deleted["_id"]):
        for suffix in ("", ".csv"):
            response = client.get(f"/sessions/{session_id}/attendance{suffix}", headers=auth)
            assert (response.status_code, response.get_json()) == (
                404,
                {"message": SESSION_NOT_FOUND},
            )


def test_the_reports_are_reads_for_the_rate_limits(make_app, token_for):
    app = make_app(RATE_LIMITS_ENABLED=True, RATE_LIMIT_READS="2/minute")
    client = app.test_client()
    services = app.extensions["livesessions"]
    doc = seed_session(services.database.db)
    headers = {"Authorization": f"Bearer {token_for()}"}
    assert client.get(f"/sessions/{doc['_id']}/attendance.csv", headers=headers).status_code == 200
    assert client.get(f"/sessions/{doc['_id']}/attendance", headers=headers).status_code == 200
    refused = client.get(f"/sessions/{doc['_id']}/attendance.csv", headers=headers)
    assert (refused.status_code, refused.get_json()) == (429, {"message": TOO_MANY_REQUESTS})
