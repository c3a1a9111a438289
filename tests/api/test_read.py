"""GET /sessions (paginated), /sessions/:id, /sessions/course/:id, /sessions/instructor/:id."""

from datetime import timedelta

import pytest

from tests.support.factories import (
    COURSE,
    EMPTY_PAGE,
    INSTRUCTOR,
    OTHER_COURSE,
    OTHER_INSTRUCTOR,
    PAGE_KEYS,
    future,
    iso,
    seed_session,
)
from tests.support.secantus import secantus_deviation


@pytest.fixture
def platform(db):
    """The Node platform's courses and users, which sessions are populated from."""
    db.courses.insert_many(
        [
            {"_id": COURSE, "title": "JavaScript Fundamentals", "price": 10, "secret": "x"},
            {"_id": OTHER_COURSE, "title": "React Advanced"},
        ]
    )
    db.users.insert_many(
        [
            {"_id": INSTRUCTOR, "name": "John Doe", "email": "john@example.com", "password": "h"},
            {"_id": OTHER_INSTRUCTOR, "name": "Jane Smith"},
        ]
    )


def seed_many(db, count, **fields):
    start = future()
    return [
        seed_session(db, title=f"Session {i:02d}", scheduledAt=start + timedelta(hours=i), **fields)
        for i in range(count)
    ]


def test_list_page_shape_and_population(client, auth, db, platform):
    docs = seed_many(db, 3)
    seed_session(
        db,
        course=OTHER_COURSE,
        instructor=OTHER_INSTRUCTOR,
        title="Later",
        scheduledAt=future(days=30),
        participants=["student-1", "student-2"],
        status="live",
    )
    body = client.get("/sessions?page=1&pageCount=10", headers=auth).get_json()
    assert list(body) == PAGE_KEYS
    assert {k: v for k, v in body.items() if k != "sessions"} == {
        "page": 1,
        "pageCount": 10,
        "totalItems": 4,
        "totalPages": 1,
        "hasPrevPage": False,
        "hasNextPage": False,
        "prevPage": None,
        "nextPage": None,
    }
    first, *_, last = body["sessions"]
    assert first["_id"] == docs[0]["_id"]
    assert list(first["course"]) == ["_id", "title"]  # Mongoose's order, as the spec shows
    assert list(first["instructor"]) == ["_id", "name"]
    assert first["course"] == {"_id": COURSE, "title": "JavaScript Fundamentals"}
    assert first["instructor"] == {"_id": INSTRUCTOR, "name": "John Doe"}
    assert first["scheduledAt"] == iso(docs[0]["scheduledAt"])
    assert last["course"] == {"_id": OTHER_COURSE, "title": "React Advanced"}
    assert last["instructor"] == {"_id": OTHER_INSTRUCTOR, "name": "Jane Smith"}
    assert last["participants"] == ["student-1", "student-2"]
    assert last["status"] == "live"


def test_defaults_are_page_1_of_10_sorted_by_schedule(client, auth, db):
    docs = seed_many(db, 25)
    body = client.get("/sessions", headers=auth).get_json()
    assert [s["_id"] for s in body["sessions"]] == [d["_id"] for d in docs[:10]]
    assert (body["page"], body["pageCount"], body["totalItems"], body["totalPages"]) == (
        1,
        10,
        25,
        3,
    )
    assert (body["hasNextPage"], body["nextPage"]) == (True, 2)


def test_ties_on_schedule_are_ordered_by_id(client, auth, db):
    when = future()
    docs = [seed_session(db, scheduledAt=when) for _ in range(5)]
    body = client.get("/sessions", headers=auth).get_json()
    assert [s["_id"] for s in body["sessions"]] == sorted(d["_id"] for d in docs)


def test_middle_and_last_pages(client, auth, db):
    docs = seed_many(db, 25)
    middle = client.get("/sessions?page=2&pageCount=10", headers=auth).get_json()
    assert [s["_id"] for s in middle["sessions"]] == [d["_id"] for d in docs[10:20]]
    assert (
        middle["hasPrevPage"],
        middle["prevPage"],
        middle["hasNextPage"],
        middle["nextPage"],
    ) == (True, 1, True, 3)
    last = client.get("/sessions?page=3&pageCount=10", headers=auth).get_json()
    assert [s["_id"] for s in last["sessions"]] == [d["_id"] for d in docs[20:]]
    assert (last["hasPrevPage"], last["prevPage"], last["hasNextPage"], last["nextPage"]) == (
        True,
        2,
        False,
        None,
    )


def test_page_past_the_end(client, auth, db):
    seed_many(db, 5)
    body = client.get("/sessions?page=7&pageCount=2", headers=auth).get_json()
    assert body == {
        "sessions": [],
        "page": 7,
        "pageCount": 2,
        "totalItems": 5,
        "totalPages": 3,
        "hasPrevPage": True,
        "hasNextPage": False,
        "prevPage": 6,
        "nextPage": None,
    }


def test_empty_collection(client, auth):
    body = client.get("/sessions", headers=auth).get_json()
    assert body == EMPTY_PAGE
    assert list(body) == PAGE_KEYS


def test_numeric_strings_in_the_query_are_converted(client, auth, db):
    seed_many(db, 3)
    body = client.get("/sessions?page=%202&pageCount=2.0", headers=auth).get_json()
    assert (body["page"], body["pageCount"], len(body["sessions"])) == (2, 2, 1)


def test_search_is_a_case_insensitive_literal_substring(client, auth, db):
    wanted = seed_session(db, title="C++ (intro) for beginners")
    seed_session(db, title="C (intro)")
    seed_session(db, title="Cxx intro")
    seed_session(db, title="Python .*")
    for term in ["C++ (intro)", "c++ (INTRO)", "+ (i"]:
        body = client.get("/sessions", query_string={"search": term}, headers=auth).get_json()
        assert [s["_id"] for s in body["sessions"]] == [wanted["_id"]], term
        assert body["totalItems"] == 1
    dot_star = client.get("/sessions", query_string={"search": ".*"}, headers=auth).get_json()
    assert [s["title"] for s in dot_star["sessions"]] == ["Python .*"]
    nothing = client.get("/sessions", query_string={"search": "[unclosed"}, headers=auth)
    assert nothing.status_code == 200
    assert nothing.get_json()["totalItems"] == 0


def test_search_paginates_the_matches(client, auth, db):
    seed_many(db, 12)  # "Session 00" .. "Session 11"
    body = client.get("/sessions?search=session 1&pageCount=2", headers=auth).get_json()
    assert body["totalItems"] == 2  # Session 10, Session 11
    assert [s["title"] for s in body["sessions"]] == ["Session 10", "Session 11"]


@secantus_deviation("test_range_on_a_middle_field_of_a_compound_index_drops_the_boundary")
def test_filters_by_status_course_instructor_and_schedule(client, auth, db):
    start = future()

    def at(hours, **fields):
        return seed_session(db, scheduledAt=start + timedelta(hours=hours), **fields)["_id"]

    early = at(0, status="live")
    middle = at(5, course=OTHER_COURSE)
    late = at(10, instructor=OTHER_INSTRUCTOR, status="cancelled")
    at(7, status="cancelled", deletedAt=start)  # deleted: never listed

    def listed(**query):
        body = client.get("/sessions", query_string=query, headers=auth).get_json()
        assert body["totalItems"] == len(body["sessions"]), body
        return [s["_id"] for s in body["sessions"]]

    assert listed() == [early, middle, late]
    assert listed(status="live") == [early]
    assert listed(status="cancelled") == [late]
    assert listed(courseId=OTHER_COURSE) == [middle]
    assert listed(instructorId=OTHER_INSTRUCTOR) == [late]
    assert listed(instructorId=INSTRUCTOR, courseId=COURSE) == [early]
    # the range is inclusive at both ends; a date-time without offset is UTC
    assert listed(**{"from": iso(start + timedelta(hours=5))}) == [middle, late]
    assert listed(to=iso(start + timedelta(hours=5))) == [early, middle]
    window = {"from": iso(start + timedelta(hours=1)), "to": iso(start + timedelta(hours=9))}
    assert listed(**window) == [middle]
    assert listed(**window, status="scheduled", search="seeded") == [middle]
    assert listed(**window, status="live") == []
    naive = (start + timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M:%S")
    assert listed(**{"from": naive}) == [late]


def test_filters_combine_with_pagination(client, auth, db):
    seed_many(db, 5, status="live")
    seed_many(db, 3)
    body = client.get("/sessions?status=live&pageCount=2&page=3", headers=auth).get_json()
    assert (body["totalItems"], body["totalPages"], len(body["sessions"])) == (5, 3, 1)
    assert body["sessions"][0]["status"] == "live"
    assert (body["hasNextPage"], body["prevPage"]) == (False, 2)


def test_missing_course_or_instructor_populates_as_null(client, auth, db, platform):
    doc = seed_session(db, course="cccccccc-cccc-4ccc-8ccc-cccccccccccc", instructor="ghost")
    body = client.get(f"/sessions/{doc['_id']}", headers=auth).get_json()
    assert body["course"] is None
    assert body["instructor"] is None
    listed = client.get("/sessions", headers=auth).get_json()["sessions"][0]
    assert (listed["course"], listed["instructor"]) == (None, None)


def test_a_course_without_title_populates_its_id_only(client, auth, db):
    db.courses.insert_one({"_id": COURSE, "slug": "js"})
    doc = seed_session(db)
    assert client.get(f"/sessions/{doc['_id']}", headers=auth).get_json()["course"] == {
        "_id": COURSE
    }


def test_round_trips_do_not_grow_with_the_page_size(client, auth, db, platform, queries):
    """count + find + one $in per populated collection, whatever the page size."""
    seed_many(db, 30)
    for size in (1, 30):
        queries.clear()
        body = client.get(f"/sessions?pageCount={size}", headers=auth).get_json()
        assert len(body["sessions"]) == size
        assert queries == [
            ("livesessions", "count_documents"),
            ("livesessions", "find"),
            ("courses", "find"),
            ("users", "find"),
        ]
    queries.clear()
    client.get(f"/sessions/{body['sessions'][0]['_id']}", headers=auth)
    assert queries == [("livesessions", "find_one"), ("courses", "find"), ("users", "find")]


def test_get_by_id_returns_the_full_populated_session(client, auth, db, platform):
    doc = seed_session(db, participants=["s1"])
    body = client.get(f"/sessions/{doc['_id']}", headers=auth).get_json()
    assert body == {
        "_id": doc["_id"],
        "title": "Seeded session",
        "description": "",
        "course": {"_id": COURSE, "title": "JavaScript Fundamentals"},
        "instructor": {"_id": INSTRUCTOR, "name": "John Doe"},
        "roomName": doc["roomName"],
        "roomUrl": "https://test.daily.co/seeded",
        "scheduledAt": iso(doc["scheduledAt"]),
        "duration": 60,
        "status": "scheduled",
        "maxParticipants": 100,
        "participants": ["s1"],
        "isRecorded": False,
        "recordingUrl": None,
        "recordingDuration": None,
        "createdAt": iso(doc["createdAt"]),
        "updatedAt": iso(doc["updatedAt"]),
        "recordingStatus": "none",  # beyond the spec: appended after its fields
    }


@pytest.mark.parametrize(
    "session_id", ["nope", "0" * 24, "aaaaaaaa-aaaa-4aaa-8aaa-000000000000", "x" * 5000]
)
def test_get_unknown_or_malformed_id_is_404(client, auth, session_id):
    response = client.get(f"/sessions/{session_id}", headers=auth)
    assert (response.status_code, response.get_json()) == (
        404,
        {"message": "Live session not found"},
    )


def test_deleted_sessions_are_hidden(client, auth, db):
    deleted = seed_session(db, status="cancelled", deletedAt=future(days=-1))
    kept = seed_session(db, status="cancelled")  # cancelled by status, not deleted
    assert client.get(f"/sessions/{deleted['_id']}", headers=auth).status_code == 404
    listed = client.get("/sessions", headers=auth).get_json()
    assert [s["_id"] for s in listed["sessions"]] == [kept["_id"]]
    assert listed["totalItems"] == 1
    assert [s["_id"] for s in client.get(f"/sessions/course/{COURSE}").get_json()] == [kept["_id"]]
    assert [s["_id"] for s in client.get(f"/sessions/instructor/{INSTRUCTOR}").get_json()] == [
        kept["_id"]
    ]


def test_by_course_populates_the_instructor_only(client, db, platform):
    late = seed_session(db, scheduledAt=future(days=9), instructor=OTHER_INSTRUCTOR)
    early = seed_session(db, scheduledAt=future(days=2))
    seed_session(db, course=OTHER_COURSE)
    response = client.get(f"/sessions/course/{COURSE}")  # no token needed
    assert response.status_code == 200
    body = response.get_json()
    assert [s["_id"] for s in body] == [early["_id"], late["_id"]]
    assert body[0]["course"] == COURSE
    assert body[0]["instructor"] == {"_id": INSTRUCTOR, "name": "John Doe"}
    assert body[1]["instructor"] == {"_id": OTHER_INSTRUCTOR, "name": "Jane Smith"}
    assert body[0]["roomUrl"] == "https://test.daily.co/seeded"


def test_by_instructor_populates_the_course_only(client, db, platform):
    mine = seed_session(
        db,
        course=OTHER_COURSE,
        status="ended",
        recordingUrl="https://res.cloudinary.com/demo/recording.mp4",
    )
    seed_session(db, instructor=OTHER_INSTRUCTOR)
    body = client.get(f"/sessions/instructor/{INSTRUCTOR}").get_json()
    assert len(body) == 1
    assert body[0]["_id"] == mine["_id"]
    assert body[0]["instructor"] == INSTRUCTOR
    assert body[0]["course"] == {"_id": OTHER_COURSE, "title": "React Advanced"}
    assert body[0]["recordingUrl"] == "https://res.cloudinary.com/demo/recording.mp4"


def test_by_course_and_instructor_with_no_sessions_are_empty_lists(client):
    assert client.get("/sessions/course/unknown").get_json() == []
    assert client.get("/sessions/instructor/unknown").get_json() == []


def test_list_requires_a_token(client):
    for path in ["/sessions", "/sessions/anything"]:
        response = client.get(path)
        assert response.status_code == 401
        assert response.get_json() == {
            "message": "Authorization header with a Bearer token is required"
        }


def test_trailing_slash_is_accepted(client, auth, db):
    seed_session(db)
    assert client.get("/sessions/", headers=auth).get_json()["totalItems"] == 1
