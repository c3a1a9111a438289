"""Rate limits never refuse a real class (issue 27): with default settings, a class filling
at its start from one address (a PaaS router, a campus NAT) is admitted whole, and users
behind one address have a budget each; abuse of one class is still refused.

The limiter's time is held (`limiter_clock`): every request falls in one minute, however
long the test takes."""

import logging

import pytest
from flask.testing import FlaskClient

from tests.api.test_rate_limits import (
    add,
    assert_refused,
    limiter_clock,  # noqa: F401 (a fixture)
    stored_participants,
)
from tests.support.factories import iso, session_payload, starting_soon

pytestmark = pytest.mark.usefixtures("limiter_clock")


def full_size(test):
    """The full-size storms: a few seconds each on mongomock without coverage (`make
    test`'s job for the tests at a class's scale); a round trip to SecantusDB, a Python
    server, per request would make them a minute each in its run."""
    return pytest.mark.slow(pytest.mark.scale(test))


@pytest.fixture
def defaults(make_app, daily):
    """An app with every rate limit on at its default. Its answers are not checked against
    the OpenAPI document: a thousand of a growing session would take half a minute (the
    answers of these routes are checked by their own tests)."""
    app = make_app(RATE_LIMITS_ENABLED=True, RATE_LIMIT_STORAGE="memory")
    app.test_client_class = FlaskClient
    return app


def open_class(client, token_for, seats, owner="instructor-1"):
    headers = {"Authorization": f"Bearer {token_for(owner)}"}
    body = session_payload(maxParticipants=seats, scheduledAt=iso(starting_soon(2)))
    created = client.post("/sessions", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    return created.get_json()["_id"]


def admit_all(client, session_id, students):
    """Each student adds themself, all from the one address of the test client."""
    statuses = [add(client, session_id, student).status_code for student in students]
    return [status for status in statuses if status != 200]


@full_size
def test_a_1000_seat_class_admits_all_its_students_from_one_address(defaults, token_for):
    client = defaults.test_client()
    session_id = open_class(client, token_for, 1000)
    students = [f"student-{index}" for index in range(1000)]
    assert admit_all(client, session_id, students) == []
    assert sorted(stored_participants(defaults, session_id)) == sorted(students)


@full_size
def test_twenty_classes_of_fifty_start_together_and_every_student_joins(defaults, token_for):
    client = defaults.test_client()
    classes = [open_class(client, token_for, 50, f"instructor-{n}") for n in range(20)]
    refused = []
    for round_ in range(50):  # interleaved, as at the top of the hour
        for number, session_id in enumerate(classes):
            student = f"student-{number}-{round_}"
            refused += (
                [(session_id, student)]
                if add(client, session_id, student).status_code != 200
                else []
            )
    assert refused == []
    for number, session_id in enumerate(classes):
        expected = sorted(f"student-{number}-{r}" for r in range(50))
        assert sorted(stored_participants(defaults, session_id)) == expected
        for round_ in range(50):  # each joins with its own token: counted per user
            headers = {
                "Authorization": f"Bearer {token_for(f'student-{number}-{round_}', 'student')}"
            }
            joined = client.post(f"/sessions/{session_id}/join", headers=headers)
            assert joined.status_code == 200, joined.get_json()
            assert joined.get_json()["token"]


def test_one_student_hammering_one_class_is_refused_after_its_budget(defaults, token_for):
    client = defaults.test_client()
    session_id, other = open_class(client, token_for, 50), open_class(client, token_for, 50)
    for _ in range(5):  # add, remove, add...: 10 admissions a minute per student and class
        assert add(client, session_id, "pest").status_code == 200
        removed = client.delete(f"/sessions/{session_id}/participants/pest")
        assert removed.status_code == 200, removed.get_json()
    assert_refused(add(client, session_id, "pest"))
    assert stored_participants(defaults, session_id) == []
    # the class, and the student elsewhere, are not affected
    assert add(client, session_id, "student-1").status_code == 200
    assert add(client, other, "pest").status_code == 200
    assert sorted(stored_participants(defaults, session_id)) == ["student-1"]


def test_a_flood_of_one_class_is_refused_beyond_its_limit(make_app, daily, token_for):
    app = make_app(
        RATE_LIMITS_ENABLED=True,
        RATE_LIMIT_STORAGE="memory",
        RATE_LIMIT_CLASS_ADMISSIONS="30/minute",
    )
    client = app.test_client()
    session_id, other = open_class(client, token_for, 1000), open_class(client, token_for, 10)
    assert admit_all(client, session_id, [f"bot-{n}" for n in range(30)]) == []
    assert_refused(add(client, session_id, "bot-30"))
    assert len(stored_participants(app, session_id)) == 30
    assert add(client, other, "bot-30").status_code == 200  # per class


def test_the_default_class_limit_is_three_times_the_biggest_class(defaults):
    assert defaults.config["RATE_LIMIT_CLASS_ADMISSIONS"] == "3000/minute"
    assert defaults.config["RATE_LIMIT_STUDENT_ADMISSIONS"] == "10/minute"


def test_users_behind_one_address_each_have_their_own_read_budget(make_app, daily, token_for):
    app = make_app(
        RATE_LIMITS_ENABLED=True, RATE_LIMIT_STORAGE="memory", RATE_LIMIT_READS="3/minute"
    )
    client = app.test_client()  # a server-side frontend: one address for all its users
    for user in ("student-1", "student-2", "student-3"):
        headers = {"Authorization": f"Bearer {token_for(user, 'student')}"}
        for _ in range(3):
            answer = client.get("/sessions/course/course-1", headers=headers)
            assert (answer.status_code, answer.get_json()) == (200, [])
        assert_refused(client.get("/sessions/course/course-1", headers=headers))
    # without a token, the address's own budget
    assert [client.get("/sessions/course/c").status_code for _ in range(4)] == [200] * 3 + [429]


def test_users_behind_one_address_each_have_their_own_write_budget(make_app, daily, token_for):
    app = make_app(
        RATE_LIMITS_ENABLED=True, RATE_LIMIT_STORAGE="memory", RATE_LIMIT_USER_WRITES="2/minute"
    )
    client = app.test_client()
    for user in ("instructor-1", "instructor-2", "instructor-3"):
        headers = {"Authorization": f"Bearer {token_for(user)}"}
        for _ in range(2):
            assert (
                client.post("/sessions", json=session_payload(), headers=headers).status_code == 201
            )
        assert_refused(client.post("/sessions", json=session_payload(), headers=headers))
    db = app.extensions["livesessions"].database.db
    assert db.livesessions.count_documents({}) == 6


def test_a_class_limit_smaller_than_the_biggest_class_is_named_at_start_up(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="livesessions.ratelimit"):
        make_app(RATE_LIMITS_ENABLED=True)  # the defaults: no warning
        make_app(RATE_LIMITS_ENABLED=True, RATE_LIMIT_CLASS_ADMISSIONS="50/second;3000/minute")
    warned = [r.getMessage() for r in caplog.records if r.name == "livesessions.ratelimit"]
    assert warned == [
        "RATE_LIMIT_CLASS_ADMISSIONS admits no more than 50 students of one class at once (a "
        "class may have 1000 seats, all taken at its start)"
    ]
