"""Bearer JWT authentication: every failure is a 401 `{"message"}`, never flask-jwt's 422/msg."""

import base64
import json
import time
from datetime import datetime

import jwt as pyjwt
import pytest

from livesessions.auth import tokens as auth
from tests.support.app_config import JWT_SECRET
from tests.support.factories import INSTRUCTOR, seed_session, session_payload

MISSING = {"message": "Authorization header with a Bearer token is required"}
INVALID = {"message": "Invalid token"}
EXPIRED = {"message": "Token has expired"}


def claims(**extra):
    now = int(time.time())
    return {"sub": INSTRUCTOR, "role": "instructor", "iat": now, "exp": now + 600, **extra}


def unsigned(payload):
    def b64(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."


# Tokens with times in them are made when the test runs (lambdas), not when the module is
# collected: they must not depend on how long the tests before them took (an `exp` ten
# minutes after the collection turns "empty identity" into "expired" on a slow run).
CASES = [
    ("no header", None, MISSING),
    ("wrong scheme", lambda: f"Basic {pyjwt.encode(claims(), JWT_SECRET, 'HS256')}", MISSING),
    ("empty bearer", "Bearer ", INVALID),
    ("malformed", "Bearer not.a.jwt", INVALID),
    ("garbage", "Bearer abc", INVALID),
    ("wrong secret", lambda: f"Bearer {pyjwt.encode(claims(), 'x' * 64, 'HS256')}", INVALID),
    (  # past exp and the 30 s of leeway
        "expired",
        lambda: f"Bearer {pyjwt.encode(claims(exp=int(time.time()) - 40), JWT_SECRET, 'HS256')}",
        EXPIRED,
    ),
    ("alg none", lambda: f"Bearer {unsigned(claims())}", INVALID),
    ("other algorithm", lambda: f"Bearer {pyjwt.encode(claims(), JWT_SECRET, 'HS512')}", INVALID),
    (
        "no identity",
        lambda: f"Bearer {pyjwt.encode({'exp': int(time.time()) + 60}, JWT_SECRET, 'HS256')}",
        INVALID,
    ),
    (
        "empty identity",
        lambda: f"Bearer {pyjwt.encode(claims(sub=''), JWT_SECRET, 'HS256')}",
        INVALID,
    ),
    (
        "blank identity",
        lambda: f"Bearer {pyjwt.encode(claims(sub='  '), JWT_SECRET, 'HS256')}",
        INVALID,
    ),
    (  # valid forever, even once leaked
        "no exp",
        f"Bearer {pyjwt.encode({'sub': INSTRUCTOR, 'role': 'instructor'}, JWT_SECRET, 'HS256')}",
        INVALID,
    ),
    (  # RFC 7519's exp is a number (PyJWT reads this one as one)
        "string exp",
        lambda: (
            f"Bearer {pyjwt.encode(claims(exp=str(int(time.time()) + 60)), JWT_SECRET, 'HS256')}"
        ),
        INVALID,
    ),
    (  # from a server whose clock is a minute ahead: past the 30 s of leeway
        "issued in the future",
        lambda: f"Bearer {pyjwt.encode(claims(iat=int(time.time()) + 60), JWT_SECRET, 'HS256')}",
        INVALID,
    ),
]


@pytest.mark.parametrize(("case", "header", "expected"), CASES, ids=[c[0] for c in CASES])
def test_protected_endpoints_reject_bad_credentials(client, db, daily, case, header, expected):
    doc = seed_session(db)
    if callable(header):
        header = header()
    headers = {"Authorization": header} if header is not None else {}
    requests_ = [
        client.post("/sessions", json=session_payload(), headers=headers),
        client.get("/sessions", headers=headers),
        client.get(f"/sessions/{doc['_id']}", headers=headers),
        client.put(f"/sessions/{doc['_id']}", json={"title": "Changed"}, headers=headers),
        client.delete(f"/sessions/{doc['_id']}", headers=headers),
    ]
    for response in requests_:
        assert (response.status_code, response.get_json()) == (401, expected), response.request.path
    assert db.livesessions.count_documents({}) == 1
    assert db.livesessions.find_one({"_id": doc["_id"]}) == doc
    assert daily.calls() == []


def test_a_token_from_the_auth_service_is_accepted(client, db):
    """Tokens minted elsewhere carry no `type`, `fresh` or `jti` claims."""
    doc = seed_session(db)
    token = pyjwt.encode(claims(), JWT_SECRET, "HS256")
    response = client.get(f"/sessions/{doc['_id']}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["_id"] == doc["_id"]


def test_identity_and_role_claims_are_configurable(make_app, daily):
    app = make_app(
        JWT_IDENTITY_CLAIM="id", JWT_ROLE_CLAIM="userRole", ADMIN_ROLES="superuser, staff"
    )
    client = app.test_client()
    token = pyjwt.encode(
        {"id": "node-user-7", "userRole": "teacher", "exp": int(time.time()) + 60},
        JWT_SECRET,
        "HS256",
    )
    created = client.post(
        "/sessions", json=session_payload(), headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status_code == 201
    assert created.get_json()["instructor"] == "node-user-7"

    db = app.extensions["livesessions"].database.db
    other = seed_session(db, instructor="someone-else")
    forbidden = client.put(
        f"/sessions/{other['_id']}",
        json={"title": "Nope"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert forbidden.status_code == 403
    staff = pyjwt.encode(
        {"id": "ops", "userRole": "staff", "exp": int(time.time()) + 60}, JWT_SECRET, "HS256"
    )
    allowed = client.put(
        f"/sessions/{other['_id']}",
        json={"title": "Fixed by staff"},
        headers={"Authorization": f"Bearer {staff}"},
    )
    assert (allowed.status_code, allowed.get_json()["title"]) == (200, "Fixed by staff")


def test_public_endpoints_need_no_token(client, db):
    doc = seed_session(db)
    assert client.get(f"/sessions/course/{doc['course']}").status_code == 200
    assert client.get(f"/sessions/instructor/{doc['instructor']}").status_code == 200
    added = client.post(f"/sessions/{doc['_id']}/participants", json={"studentId": "s"})
    assert added.status_code == 200
    assert client.delete(f"/sessions/{doc['_id']}/participants/s").status_code == 200
    assert (
        client.patch(f"/sessions/{doc['_id']}/status", json={"status": "live"}).status_code == 200
    )


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_clocks_a_few_seconds_apart_are_tolerated(client, make_app, db):
    """The auth service's clock 2 s ahead of ours (JWT_LEEWAY_SECONDS=30 by default)."""
    doc = seed_session(db)
    ahead = int(time.time()) + 2
    token = pyjwt.encode(claims(iat=ahead, nbf=ahead), JWT_SECRET, "HS256")
    response = client.get(f"/sessions/{doc['_id']}", headers=bearer(token))
    assert (response.status_code, response.get_json()["_id"]) == (200, doc["_id"])
    strict_clock = make_app(JWT_LEEWAY_SECONDS=0).test_client()
    refused = strict_clock.get(f"/sessions/{doc['_id']}", headers=bearer(token))
    assert (refused.status_code, refused.get_json()) == (401, INVALID)


def test_a_token_expires_after_its_exp_plus_the_leeway(client, db):
    doc = seed_session(db)
    now = int(time.time())
    within = pyjwt.encode(claims(exp=now - 20), JWT_SECRET, "HS256")
    response = client.get(f"/sessions/{doc['_id']}", headers=bearer(within))
    assert (response.status_code, response.get_json()["_id"]) == (200, doc["_id"])
    past = pyjwt.encode(claims(exp=now - 31), JWT_SECRET, "HS256")
    response = client.get(f"/sessions/{doc['_id']}", headers=bearer(past))
    assert (response.status_code, response.get_json()) == (401, EXPIRED)


def test_an_empty_identity_in_the_configured_claim_is_refused(make_app):
    client = make_app(JWT_IDENTITY_CLAIM="id").test_client()
    exp = int(time.time()) + 60
    for identity in ("", " \t", None):
        token = pyjwt.encode({"id": identity, "role": "admin", "exp": exp}, JWT_SECRET, "HS256")
        response = client.get("/sessions", headers=bearer(token))
        assert (response.status_code, response.get_json()) == (401, INVALID), identity
    token = pyjwt.encode({"id": "node-user-7", "exp": exp}, JWT_SECRET, "HS256")
    assert client.get("/sessions", headers=bearer(token)).get_json()["sessions"] == []


def test_an_unusable_token_on_an_open_endpoint_is_ignored_in_compat(client, db):
    """As a forged one: the call goes on without a caller, as the Node service's did."""
    doc = seed_session(db)
    no_exp = pyjwt.encode({"sub": INSTRUCTOR}, JWT_SECRET, "HS256")
    response = client.post(
        f"/sessions/{doc['_id']}/participants", json={"studentId": "s1"}, headers=bearer(no_exp)
    )
    assert (response.status_code, response.get_json()["participants"]) == (200, ["s1"])


class TokenClock:
    """The time both token checks read, held at `now` (Unix seconds) until the test moves
    it: the service's for a remembered token, PyJWT's for one it decodes."""

    def __init__(self, monkeypatch, now):
        self.now = now
        clock = self

        class Held(datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.fromtimestamp(clock.now, tz)

        monkeypatch.setattr(auth, "unix_now", lambda: self.now)
        monkeypatch.setattr(pyjwt.api_jwt, "datetime", Held)


def test_a_remembered_token_still_expires_once_past_the_leeway(client, db, monkeypatch):
    """The remembered token is refused exactly when the library would refuse it: the
    moments tried are set on a held clock, not slept to, so none depends on how fast the
    requests run."""
    doc = seed_session(db)
    exp = int(time.time()) + 60
    token = pyjwt.encode(claims(exp=exp), JWT_SECRET, "HS256")
    assert client.get(f"/sessions/{doc['_id']}", headers=bearer(token)).status_code == 200
    clock = TokenClock(monkeypatch, exp)
    leeway = 30  # JWT_LEEWAY_SECONDS's default
    # past exp, then just within the leeway, then exactly at its end
    for moment, status in ((exp + 1, 200), (exp + leeway - 0.5, 200), (exp + leeway, 401)):
        clock.now = moment
        response = client.get(f"/sessions/{doc['_id']}", headers=bearer(token))
        assert response.status_code == status, moment - exp
        try:
            pyjwt.decode(token, JWT_SECRET, algorithms=["HS256"], leeway=leeway)
        except pyjwt.ExpiredSignatureError:
            assert response.get_json() == EXPIRED, moment - exp
        else:
            assert status == 200, moment - exp


def test_remembered_tokens_are_per_app(client, make_app, db):
    """A token verified by one app (one secret) is not trusted by another."""
    token = pyjwt.encode(claims(), JWT_SECRET, "HS256")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/sessions", headers=headers).status_code == 200
    other = make_app(JWT_SECRET_KEY="another-secret-" + "q" * 50).test_client()
    assert other.get("/sessions", headers=headers).get_json() == INVALID


def test_a_refresh_token_is_refused(client, app):
    from flask_jwt_extended import create_refresh_token

    with app.app_context():
        refresh = create_refresh_token(identity=INSTRUCTOR)
    response = client.get("/sessions", headers={"Authorization": f"Bearer {refresh}"})
    assert (response.status_code, response.get_json()) == (401, INVALID)


def test_a_negative_leeway_is_refused():
    from livesessions.config import ConfigError, load_config

    with pytest.raises(ConfigError) as error:
        load_config({"JWT_LEEWAY_SECONDS": "-5"})
    assert str(error.value) == "Invalid settings: JWT_LEEWAY_SECONDS must not be negative, got -5"
