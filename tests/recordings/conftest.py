"""Fixtures of the recording and webhook tests: an app with DAILY_WEBHOOK_SECRET set, and
the Cloudinary sandbox over loopback."""

import pytest

from devtools.sandbox import CloudinarySandbox
from tests.support.factories import in_class, seed_session
from tests.support.sandbox import UPLOAD_CHUNK
from tests.support.webhooks import SECRET


@pytest.fixture
def signed_app(make_app):
    """An app that requires Daily's signature (the secret of tests/support/webhooks.py)."""
    return make_app(DAILY_WEBHOOK_SECRET=SECRET)


@pytest.fixture
def signed_db(signed_app):
    return signed_app.extensions["livesessions"].database.db


@pytest.fixture
def services(app):
    return app.extensions["livesessions"]


@pytest.fixture
def session(db):
    """A live session of room-a, in class (an upload then ends it)."""
    return seed_session(db, roomName="room-a", status="live", scheduledAt=in_class())


@pytest.fixture
def signed_session(signed_db):
    """A live session of room-a, in class, in the signed app's database."""
    return seed_session(signed_db, roomName="room-a", status="live", scheduledAt=in_class())


@pytest.fixture
def cloud(tmp_path):
    """The Cloudinary sandbox, storing its assets in the test's directory."""
    sandbox = CloudinarySandbox(
        min_chunk_bytes=UPLOAD_CHUNK, storage_dir=str(tmp_path / "cloud")
    ).start()
    yield sandbox
    sandbox.stop()
