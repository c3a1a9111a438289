"""The services take the caller as a value (auth.Caller): they run the same outside a
request, from the CLI, the worker or a test, and decide ownership from it alone."""

import pytest
from flask import g
from flask_jwt_extended import create_access_token

from livesessions.auth.tokens import Caller, current_caller, token_required
from livesessions.errors import NOT_OWNER, Forbidden
from tests.support.factories import ADMIN, COURSE, INSTRUCTOR, OTHER_INSTRUCTOR, future

INSTRUCTOR_CALLER = Caller(INSTRUCTOR, name="Ines", roles=frozenset({"instructor"}))


@pytest.fixture
def sessions(app, daily):
    """The session service, used with no request (and so no `g`) at all."""
    with app.app_context():
        assert "jwt_claims" not in g
        yield app.extensions["livesessions"].session_service


def new_session(sessions, caller=INSTRUCTOR_CALLER):
    data = {
        "title": "Outside a request",
        "courseId": COURSE,
        "scheduledAt": future(),
        "duration": 60,
        "maxParticipants": 10,
    }
    return sessions.create(data, caller)


def test_create_makes_the_caller_the_instructor(sessions, db):
    doc = new_session(sessions)
    assert doc["instructor"] == INSTRUCTOR
    assert db.livesessions.find_one({"_id": doc["_id"]})["instructor"] == INSTRUCTOR


def test_another_instructor_may_not_update_or_delete(sessions, db):
    doc = new_session(sessions)
    other = Caller(OTHER_INSTRUCTOR, roles=frozenset({"instructor"}))
    with pytest.raises(Forbidden, match=NOT_OWNER):
        sessions.update(doc["_id"], {"title": "Taken over"}, other)
    with pytest.raises(Forbidden, match=NOT_OWNER):
        sessions.delete(doc["_id"], other)
    stored = db.livesessions.find_one({"_id": doc["_id"]})
    assert stored["title"] == "Outside a request"
    assert stored["status"] == "scheduled"
    assert "deletedAt" not in stored


def test_the_owner_and_an_admin_may(sessions, db):
    doc = new_session(sessions)
    updated = sessions.update(doc["_id"], {"title": "Renamed"}, INSTRUCTOR_CALLER)
    assert updated["title"] == "Renamed"
    admin = Caller(ADMIN, roles=frozenset({"admin"}), is_admin=True)
    deleted = sessions.delete(doc["_id"], admin)
    assert deleted["status"] == "cancelled"
    assert db.livesessions.find_one({"_id": doc["_id"]})["deletedAt"] is not None


def test_owns_is_the_instructor_or_an_admin():
    doc = {"instructor": INSTRUCTOR}
    assert Caller(INSTRUCTOR).owns(doc)
    assert not Caller(OTHER_INSTRUCTOR).owns(doc)
    assert Caller(OTHER_INSTRUCTOR, is_admin=True).owns(doc)


def test_the_request_caller_reads_the_configured_claims(make_app):
    app = make_app(JWT_IDENTITY_CLAIM="id", JWT_ROLE_CLAIM="roles", ADMIN_ROLES="staff,admin")
    seen = []

    @token_required
    def view():
        seen.append(current_caller())
        return {}

    with app.app_context():
        token = create_access_token(
            identity="ignored", additional_claims={"id": 42, "roles": ["staff", 7], "name": "Al"}
        )
    with app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
        view()
    assert seen == [Caller("42", name="Al", roles=frozenset({"staff"}), is_admin=True)]
