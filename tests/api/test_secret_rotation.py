"""Rotating secrets without a gap: tokens signed with a previous JWT secret and webhooks
signed with Daily's previous secret are accepted while the previous one is configured."""

import base64
import json
import time

import jwt as pyjwt
import pytest

from livesessions.config import ConfigError, load_config
from livesessions.errors import INVALID_SIGNATURE
from tests.support.app_config import JWT_SECRET, PRODUCTION
from tests.support.factories import INSTRUCTOR, in_class, seed_session
from tests.support.webhooks import participant_event, sign

OLD_JWT = "the-previous-jwt-secret-" + "p" * 40
OTHER_JWT = "a-secret-nobody-configured-" + "q" * 40
NEW_WEBHOOK = base64.b64encode(b"daily-webhook-secret-installed-now").decode()
OLD_WEBHOOK = base64.b64encode(b"daily-webhook-secret-of-before").decode()


def token(key, **claims):
    now = int(time.time())
    payload = {"sub": INSTRUCTOR, "role": "instructor", "iat": now, "exp": now + 600, **claims}
    return {"Authorization": f"Bearer {pyjwt.encode(payload, key, 'HS256')}"}


def test_tokens_of_the_previous_secret_are_accepted_during_a_rotation(make_app):
    app = make_app(JWT_PREVIOUS_SECRET_KEYS=f"{OLD_JWT}, another-{OLD_JWT}")
    doc = seed_session(app.extensions["livesessions"].database.db)
    client = app.test_client()
    for key in (JWT_SECRET, OLD_JWT, f"another-{OLD_JWT}"):
        response = client.get(f"/sessions/{doc['_id']}", headers=token(key))
        assert (response.status_code, response.get_json()["_id"]) == (200, doc["_id"])
    refused = client.get(f"/sessions/{doc['_id']}", headers=token(OTHER_JWT))
    assert (refused.status_code, refused.get_json()) == (401, {"message": "Invalid token"})
    expired = client.get(f"/sessions/{doc['_id']}", headers=token(OLD_JWT, exp=1))
    assert (expired.status_code, expired.get_json()) == (401, {"message": "Token has expired"})


def test_without_it_the_previous_secret_is_refused(client, db):
    doc = seed_session(db)
    response = client.get(f"/sessions/{doc['_id']}", headers=token(OLD_JWT))
    assert (response.status_code, response.get_json()) == (401, {"message": "Invalid token"})


def test_previous_jwt_secrets_must_be_long_in_production():
    with pytest.raises(ConfigError, match="each of JWT_PREVIOUS_SECRET_KEYS must be at least"):
        load_config({**PRODUCTION, "JWT_PREVIOUS_SECRET_KEYS": "short"})


def deliver(app, secret):
    raw = json.dumps(participant_event()).encode()
    return app.test_client().post(
        "/sessions/webhook/daily", data=raw, headers=sign(raw, secret=secret)
    )


def test_webhooks_signed_with_the_previous_secret_count_as_signed(make_app):
    app = make_app(DAILY_WEBHOOK_SECRET=NEW_WEBHOOK, DAILY_WEBHOOK_PREVIOUS_SECRET=OLD_WEBHOOK)
    db = app.extensions["livesessions"].database.db
    seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())
    for secret in (OLD_WEBHOOK, NEW_WEBHOOK):
        response = deliver(app, secret)
        assert (response.status_code, response.get_json()) == (200, {"received": True})
    assert db.attendance.count_documents({}) == 1  # processed (the same visit twice)
    other = base64.b64encode(b"nobody-s-secret").decode()
    refused = deliver(app, other)
    assert (refused.status_code, refused.get_json()) == (401, {"message": INVALID_SIGNATURE})
    assert db.attendance.count_documents({}) == 1


def test_without_it_a_delivery_of_the_previous_secret_is_unsigned(make_app):
    app = make_app(DAILY_WEBHOOK_SECRET=NEW_WEBHOOK)
    refused = deliver(app, OLD_WEBHOOK)
    assert (refused.status_code, refused.get_json()) == (401, {"message": INVALID_SIGNATURE})


def test_the_previous_webhook_secret_must_be_base64():
    with pytest.raises(ConfigError, match="DAILY_WEBHOOK_PREVIOUS_SECRET must be base64"):
        load_config({"DAILY_WEBHOOK_PREVIOUS_SECRET": "not base64!"})
