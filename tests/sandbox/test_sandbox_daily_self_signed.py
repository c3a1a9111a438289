"""The Daily.co sandbox accepts meeting tokens signed with the API key, as Daily does: joins
and room pages over real loopback HTTP, with no `POST /meeting-tokens` call."""

import time
import warnings

import jwt
import pytest
import requests
from jwt.warnings import InsecureKeyLengthWarning

from devtools.sandbox import DailySandbox
from tests.support.sandbox import SANDBOX_API_KEY, make_room, sandbox_api

PERMISSIONS = {"hasPresence": True, "canSend": True, "canReceive": {"base": True}}
NOT_VALID = {"error": "forbidden-error", "info": "the meeting token is not valid for lesson"}


def self_signed(sandbox, key=SANDBOX_API_KEY, algorithm="HS256", **claims):
    """A token signed as the service signs one: Daily's abbreviated claims, for room
    `lesson` unless told; a claim given as None is left out."""
    payload = {"r": "lesson", "d": sandbox.domain_id, "iat": int(time.time())} | claims
    payload = {name: value for name, value in payload.items() if value is not None}
    with warnings.catch_warnings():  # the sandbox's API key is shorter than PyJWT would like
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, key, algorithm=algorithm)


def join(sandbox, room="lesson", **body):
    return requests.post(f"{sandbox.url}/sandbox/rooms/{room}/join", json=body, timeout=5)


def page(sandbox, room, token):
    return requests.get(f"{sandbox.url}/{room}", params={"t": token}, timeout=5)


def test_self_signed_tokens_join_as_owner_or_participant(make_sandbox, receiver):
    sandbox = make_sandbox(webhook_url=receiver.url)
    make_room(sandbox, privacy="private")
    exp = int(time.time()) + 600
    teacher = self_signed(sandbox, ud="teacher-1", u="Teacher", o=True, exp=exp, ejt=True)
    student = self_signed(sandbox, ud="student-1", u="Student", o=False, exp=exp)
    owner = join(sandbox, user_id="x", owner=False, token=teacher)  # the token wins
    assert owner.status_code == 200, owner.text
    guest = join(sandbox, token=student)
    assert guest.status_code == 200, guest.text
    assert receiver.types() == ["meeting.started", "participant.joined", "participant.joined"]
    _, owner_joined, guest_joined = (event["payload"] for event in receiver.events())
    assert owner_joined == {
        "joined_at": owner_joined["joined_at"],
        "session_id": owner.json()["session_id"],
        "room": "lesson",
        "user_id": "teacher-1",
        "user_name": "Teacher",
        "owner": True,
        "will_eject_at": None,
        "permissions": PERMISSIONS | {"canAdmin": True},
    }
    assert guest_joined == owner_joined | {
        "joined_at": guest_joined["joined_at"],
        "session_id": guest.json()["session_id"],
        "user_id": "student-1",
        "user_name": "Student",
        "owner": False,
        "permissions": PERMISSIONS | {"canAdmin": False},
    }
    # Daily's long names, as for the tokens POST /meeting-tokens issues (d and iat dropped).
    assert sandbox.verify_meeting_token(teacher, "lesson") == {
        "room_name": "lesson",
        "user_id": "teacher-1",
        "user_name": "Teacher",
        "is_owner": True,
        "exp": exp,
        "eject_at_token_exp": True,
    }
    assert sandbox.meeting_tokens == []  # no Daily call was made for them
    assert sandbox.api_calls.total() == 1  # the room's creation


def test_a_private_room_page_opens_with_a_self_signed_token(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, privacy="private")
    owner = page(sandbox, "lesson", self_signed(sandbox, ud="ada-1", u="Ada", o=True))
    assert owner.status_code == 200
    assert "token accepted for user_name Ada, user_id ada-1, owner: yes" in owner.text
    guest = page(sandbox, "lesson", self_signed(sandbox, ud="bob-2", u="Bob"))
    assert guest.status_code == 200
    assert "token accepted for user_name Bob, user_id bob-2, owner: no" in guest.text


@pytest.mark.parametrize(
    ("reason", "claims", "options"),
    [
        ("signed with another key", {}, {"key": "another-key"}),
        ("another domain", {"d": "another-domain"}, {}),
        ("no domain", {"d": None}, {}),
        ("no room", {"r": None}, {}),
        ("another room", {"r": "other"}, {}),
        ("no iat", {"iat": None}, {}),
        ("iat not a number", {"iat": "yesterday"}, {}),
        # times from the moment the test runs (a lambda of it), not of the collection
        ("expired", lambda now: {"exp": now - 1}, {}),
        ("not yet valid", lambda now: {"nbf": now + 600}, {}),
        ("exp not a number", {"exp": "tomorrow"}, {}),
        ("user_id too long", {"ud": "u" * 37}, {}),
        ("user_id not a string", {"ud": 7}, {}),
        ("user_name not a string", {"u": ["Ada"]}, {}),
        ("is_owner not a boolean", {"o": "yes"}, {}),
        ("alg none", {}, {"key": None, "algorithm": "none"}),
        ("another algorithm", {}, {"algorithm": "HS512"}),
    ],
)
def test_refused_self_signed_tokens(make_sandbox, reason, claims, options):
    sandbox = make_sandbox()
    make_room(sandbox, "lesson", privacy="private")
    make_room(sandbox, "open")
    if callable(claims):
        claims = claims(int(time.time()))
    token = self_signed(sandbox, **options, **claims)
    assert sandbox.verify_meeting_token(token, "lesson") is None, reason
    refused = join(sandbox, token=token)
    assert (refused.status_code, refused.json()) == (403, NOT_VALID), reason
    private = page(sandbox, "lesson", token)
    assert private.status_code == 403, reason
    assert "private room: a valid meeting token is required" in private.text, reason
    assert "token accepted" not in private.text, reason
    assert sandbox.meetings == {}, reason


def test_a_refused_token_on_a_public_room_page(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, "open")
    answer = page(sandbox, "open", self_signed(sandbox, key="another-key", r="open"))
    assert answer.status_code == 200
    assert "exists; the token is not valid for it" in answer.text


def test_nbf_and_exp_are_read_on_the_sandbox_clock(make_sandbox):
    now = time.time()
    sandbox = make_sandbox()
    make_room(sandbox, privacy="private")
    token = self_signed(sandbox, u="Ada", nbf=int(now) + 60, exp=int(now) + 120)
    sandbox.clock = lambda: now  # held: the token is not yet valid however long this takes
    assert sandbox.verify_meeting_token(token, "lesson") is None
    sandbox.clock = lambda: now + 90
    assert sandbox.verify_meeting_token(token, "lesson")["user_name"] == "Ada"
    assert join(sandbox, token=token).status_code == 200
    sandbox.clock = lambda: now + 121
    assert join(sandbox, token=token).json() == NOT_VALID


def test_rest_tokens_still_work_and_alone_are_recorded(make_sandbox):
    sandbox = make_sandbox()
    make_room(sandbox, privacy="private")
    properties = {"room_name": "lesson", "user_name": "Ada", "is_owner": True}
    answer = sandbox_api(sandbox, "POST", "/meeting-tokens", json={"properties": properties})
    rest = answer.json()["token"]
    assert sandbox.verify_meeting_token(rest, "lesson") == properties
    assert "owner: yes" in page(sandbox, "lesson", rest).text
    assert join(sandbox, token=self_signed(sandbox, u="Bob")).status_code == 200
    assert sandbox.meeting_tokens == [properties]
    # Signed with the key, the long names are no claims of Daily's: a token with no room.
    long_names = self_signed(sandbox, r=None, **properties)
    assert sandbox.verify_meeting_token(long_names, "lesson") is None


def test_no_self_signed_tokens_without_an_api_key():
    sandbox = DailySandbox(rate_limits=False)  # never started: verify needs no server
    try:
        assert sandbox.verify_meeting_token(self_signed(sandbox, key="any-key"), "lesson") is None
    finally:
        sandbox.stop()
