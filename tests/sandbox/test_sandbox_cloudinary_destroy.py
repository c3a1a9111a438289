"""`destroy` on the Cloudinary sandbox, called through the real SDK over loopback HTTP as the
service will: `cloudinary.uploader.destroy(public_id, resource_type="video", type=...,
invalidate=True)`."""

import time
from pathlib import Path

import cloudinary.exceptions
import cloudinary.uploader
import pytest
import requests
from cloudinary.utils import api_sign_request

from devtools.sandbox.cloudinary import CloudinarySandbox
from tests.support.cloudinary_urls import SANDBOX_CREDENTIALS, sdk_url

PUBLIC_ID = "live-sessions/c1/s1-recording"
DATA = b"not really a video\n" * 100


@pytest.fixture
def sandbox():
    sandbox = CloudinarySandbox().start()
    yield sandbox
    sandbox.stop()


def per_call(sandbox, **overrides):
    """Credentials and the sandbox's address per call: no test touches `cloudinary.config`."""
    return {"upload_prefix": sandbox.url, "timeout": 10, **SANDBOX_CREDENTIALS, **overrides}


def upload(sandbox, tmp_path, delivery_type="authenticated"):
    path = tmp_path / "recording.mp4"
    path.write_bytes(DATA)
    return cloudinary.uploader.upload(
        str(path),
        resource_type="video",
        type=delivery_type,
        public_id=PUBLIC_ID,
        overwrite=True,
        **per_call(sandbox),
    )


def destroy(sandbox, public_id=PUBLIC_ID, **options):
    """The service's call: a video, of the given delivery type, with a CDN invalidation."""
    arguments = {"resource_type": "video", "type": "authenticated", "invalidate": True}
    return cloudinary.uploader.destroy(public_id, **{**arguments, **per_call(sandbox, **options)})


def delivered(sandbox, result):
    """The status of a GET of the asset's delivery URL, built by the SDK."""
    signed = result["type"] == "authenticated"
    url = sdk_url(sandbox, PUBLIC_ID, type=result["type"], sign_url=signed)
    return requests.get(url, timeout=5).status_code


def test_destroy_removes_the_asset_and_its_file_and_records_the_invalidation(sandbox, tmp_path):
    result = upload(sandbox, tmp_path)
    stored = Path(sandbox.assets[PUBLIC_ID]["path"])
    assert delivered(sandbox, result) == 200

    answer = destroy(sandbox)

    assert answer["result"] == "ok"
    assert answer["request_id"]  # the SDK copies the sandbox's X-Request-Id
    assert PUBLIC_ID not in sandbox.assets
    assert not stored.exists()
    assert sandbox.invalidated == [PUBLIC_ID]
    (request,) = sandbox.destroys
    assert request["path"] == "/v1_1/sandbox/video/destroy"
    params = request["params"]
    assert (params["public_id"], params["type"], params["invalidate"]) == (
        PUBLIC_ID,
        "authenticated",
        "1",
    )
    assert set(params) == {"public_id", "type", "invalidate", "timestamp", "signature", "api_key"}
    assert (request["status"], request["result"]) == (200, "ok")
    assert delivered(sandbox, result) == 404

    again = destroy(sandbox)
    assert again["result"] == "not found"
    assert sandbox.invalidated == [PUBLIC_ID]  # nothing destroyed, nothing to purge
    assert [d["result"] for d in sandbox.destroys] == ["ok", "not found"]


def test_a_public_asset_is_destroyed_with_the_default_type_and_no_invalidation(sandbox, tmp_path):
    result = upload(sandbox, tmp_path, delivery_type="upload")

    answer = cloudinary.uploader.destroy(PUBLIC_ID, resource_type="video", **per_call(sandbox))

    assert answer["result"] == "ok"
    assert "type" not in sandbox.destroys[0]["params"]  # the SDK sends no type: `upload`
    assert sandbox.invalidated == []
    assert delivered(sandbox, result) == 404


@pytest.mark.parametrize(
    ("public_id", "options"),
    [
        ("live-sessions/c1/nothing", {}),
        (PUBLIC_ID, {"type": "upload"}),
        (PUBLIC_ID, {"resource_type": "image"}),
    ],
    ids=["unknown-public-id", "other-delivery-type", "other-resource-type"],
)
def test_another_asset_is_not_found_and_this_one_stays(sandbox, tmp_path, public_id, options):
    result = upload(sandbox, tmp_path)

    assert destroy(sandbox, public_id, **options)["result"] == "not found"

    assert sandbox.destroys[0]["status"] == 200
    assert sandbox.invalidated == []
    assert Path(sandbox.assets[PUBLIC_ID]["path"]).exists()
    assert delivered(sandbox, result) == 200


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"api_secret": "another-secret"}, cloudinary.exceptions.AuthorizationRequired, "Invalid"),
        ({"api_key": "another-key"}, cloudinary.exceptions.AuthorizationRequired, "Unknown API"),
        ({"cloud_name": "another"}, cloudinary.exceptions.NotFound, "Invalid cloud_name"),
    ],
    ids=["wrong-secret", "wrong-key", "wrong-cloud"],
)
def test_a_wrongly_signed_destroy_is_refused_and_changes_nothing(
    sandbox, tmp_path, options, error, message
):
    result = upload(sandbox, tmp_path)

    with pytest.raises(error, match=message):
        destroy(sandbox, **options)

    assert sandbox.destroys[0]["status"] in (401, 404)
    assert sandbox.invalidated == []
    assert delivered(sandbox, result) == 200


def hand_made(sandbox, fields, signed):
    """A destroy request built by hand: `signed` are the fields the signature covers."""
    signature = api_sign_request(signed, "sandbox-secret")
    form = {**fields, "signature": signature, "api_key": "sandbox-key"}
    url = f"{sandbox.url}/v1_1/sandbox/video/destroy"
    return requests.post(url, files={k: (None, v) for k, v in form.items()}, timeout=5)


def test_a_swapped_public_id_a_stale_timestamp_and_no_public_id_are_refused(sandbox, tmp_path):
    result = upload(sandbox, tmp_path)
    now = str(int(time.time()))
    fields = {"public_id": PUBLIC_ID, "type": "authenticated", "timestamp": now}

    # Signed for another public id, then sent for this one.
    swapped = hand_made(sandbox, fields, {**fields, "public_id": "live-sessions/c1/other"})
    assert swapped.status_code == 401
    assert swapped.json()["error"]["message"].startswith("Invalid Signature")
    stale = {**fields, "timestamp": str(int(time.time()) - 2 * 3600)}
    assert hand_made(sandbox, stale, stale).status_code == 400
    missing = {"type": "authenticated", "timestamp": now}
    answer = hand_made(sandbox, missing, missing)
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": {"message": "Missing required parameter - public_id"}},
    )
    assert [d["status"] for d in sandbox.destroys] == [401, 400, 400]
    assert delivered(sandbox, result) == 200

    assert hand_made(sandbox, fields, fields).json() == {"result": "ok"}  # the same, signed


def test_fail_next_makes_a_destroy_fail_and_leaves_everything_as_it_was(sandbox, tmp_path):
    result = upload(sandbox, tmp_path)
    stored = Path(sandbox.assets[PUBLIC_ID]["path"])
    sandbox.fail_next(1, status=500, message="Cloudinary is down")

    with pytest.raises(cloudinary.exceptions.GeneralError, match="Cloudinary is down"):
        destroy(sandbox)

    assert sandbox.destroys[0]["status"] == 500
    assert (PUBLIC_ID in sandbox.assets, stored.exists()) == (True, True)
    assert sandbox.invalidated == []
    assert delivered(sandbox, result) == 200
    assert destroy(sandbox)["result"] == "ok"  # only the next request failed
    assert delivered(sandbox, result) == 404
