"""The Cloudinary sandbox driven by the real Cloudinary SDK over loopback HTTP."""

import hashlib
import os
from pathlib import Path

import cloudinary.exceptions
import cloudinary.uploader
import pytest
import requests
from cloudinary.utils import api_sign_request

from devtools.sandbox.cloudinary import CloudinarySandbox

MB = 1024 * 1024
CHUNK = 5 * MB + 1000  # just over Cloudinary's 5 MB minimum for every chunk but the last
TARGET = {
    "folder": "live-sessions/c1",
    "public_id": "s1-recording",
    "asset_folder": "live-sessions/c1",
    "overwrite": True,
}


@pytest.fixture
def sandbox():
    sandbox = CloudinarySandbox().start()
    yield sandbox
    sandbox.stop()


def options(sandbox, **overrides):
    """Everything per call, so that no test touches the global `cloudinary.config`."""
    return {
        "resource_type": "video",
        "cloud_name": "sandbox",
        "api_key": "sandbox-key",
        "api_secret": "sandbox-secret",
        "upload_prefix": sandbox.url,
        "timeout": 10,
        **TARGET,
        **overrides,
    }


def source(tmp_path, data, name="recording.mp4"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_single_upload_is_stored_and_answered_like_cloudinary(sandbox, tmp_path):
    data = b"not really a video\n" * 100
    result = cloudinary.uploader.upload(str(source(tmp_path, data)), **options(sandbox))

    public_id = "live-sessions/c1/s1-recording"
    assert result["public_id"] == public_id
    assert (result["resource_type"], result["type"], result["format"]) == ("video", "upload", "mp4")
    assert (result["bytes"], result["etag"]) == (len(data), hashlib.md5(data).hexdigest())
    assert (result["asset_folder"], result["original_filename"]) == (TARGET["folder"], "recording")
    assert "duration" not in result
    assert result["created_at"].endswith("Z")
    assert result["request_id"]
    expected_url = f"{sandbox.url}/sandbox/video/upload/v{result['version']}/{public_id}.mp4"
    assert result["secure_url"] == result["url"] == expected_url
    signed = {"public_id": public_id, "version": result["version"]}
    assert result["signature"] == api_sign_request(signed, "sandbox-secret", signature_version=1)

    (request,) = sandbox.uploads
    assert request["path"] == "/v1_1/sandbox/video/upload"
    assert (request["content_range"], request["upload_id"]) == (None, None)
    assert request["params"]["overwrite"] == "1"
    assert request["params"]["timestamp"].isdigit()
    asset = sandbox.assets[public_id]
    assert asset["sha256"] == hashlib.sha256(data).hexdigest()
    with open(asset["path"], "rb") as stored:
        assert stored.read() == data
    assert {k: v for k, v in result.items() if k != "request_id"} == asset["result"]


def test_an_overwrite_is_stored_in_a_file_of_its_own_and_the_old_one_removed(sandbox, tmp_path):
    first = cloudinary.uploader.upload(str(source(tmp_path, b"first")), **options(sandbox))
    old_path = Path(sandbox.assets[first["public_id"]]["path"])
    second = cloudinary.uploader.upload(str(source(tmp_path, b"second")), **options(sandbox))

    new_path = Path(sandbox.assets[second["public_id"]]["path"])
    assert new_path != old_path
    assert not old_path.exists()
    assert list((sandbox.storage_dir / "assets").iterdir()) == [new_path]
    assert requests.get(second["secure_url"], timeout=5).content == b"second"


def test_a_chunked_upload_is_reassembled_and_served_back(sandbox, tmp_path):
    data = os.urandom(12 * MB)
    path = source(tmp_path, data)
    result = cloudinary.uploader.upload_large(str(path), chunk_size=CHUNK, **options(sandbox))

    ranges = [(0, CHUNK - 1), (CHUNK, 2 * CHUNK - 1), (2 * CHUNK, len(data) - 1)]
    assert [u["content_range"] for u in sandbox.uploads] == [
        f"bytes {start}-{end}/{len(data)}" for start, end in ranges
    ]
    assert [u["chunk_bytes"] for u in sandbox.uploads] == [CHUNK, CHUNK, len(data) - 2 * CHUNK]
    assert len({u["upload_id"] for u in sandbox.uploads}) == 1
    first, second, _ = (u["params"] for u in sandbox.uploads)
    assert (first["folder"], first["public_id"]) == ("live-sessions/c1", "s1-recording")
    # The SDK re-sends the public id the sandbox answered for the first chunk.
    assert second["public_id"] == "live-sessions/c1/s1-recording"

    assert result["public_id"] == "live-sessions/c1/s1-recording"
    assert (result["resource_type"], result["bytes"]) == ("video", len(data))
    assert sandbox.assets[result["public_id"]]["sha256"] == hashlib.sha256(data).hexdigest()
    download = requests.get(result["secure_url"], timeout=10)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "video/mp4"
    assert download.headers["X-Sandbox"] == "cloudinary"
    assert download.content == data


def test_non_final_chunks_are_answered_with_the_public_id(sandbox):
    sandbox.min_chunk_bytes = 4
    url = f"{sandbox.url}/v1_1/sandbox/video/upload"
    fields = {"api_key": "sandbox-key", "timestamp": "9999999999", "folder": "f", "public_id": "p"}
    fields["signature"] = api_sign_request(
        {k: v for k, v in fields.items() if k != "api_key"}, "sandbox-secret"
    )
    headers = {"Content-Range": "bytes 0-3/6", "X-Unique-Upload-Id": "abc"}
    first = requests.post(url, data=fields, files={"file": b"1234"}, headers=headers, timeout=5)
    expected = {"public_id": "f/p", "done": False, "upload_id": "abc", "bytes_received": 4}
    assert first.json() == expected
    assert sandbox.assets == {}


def test_duration_comes_from_the_recording_marker_line(sandbox, tmp_path):
    data = b"LIVESESSIONS-SANDBOX-RECORDING duration=3600.5\n" + b"\0" * 1000
    result = cloudinary.uploader.upload_large(
        str(source(tmp_path, data)), chunk_size=CHUNK, **options(sandbox)
    )
    assert result["duration"] == 3600.5


def test_overwriting_replaces_the_asset(sandbox, tmp_path):
    cloudinary.uploader.upload(str(source(tmp_path, b"first")), **options(sandbox))
    result = cloudinary.uploader.upload(str(source(tmp_path, b"second")), **options(sandbox))
    asset = sandbox.assets[result["public_id"]]
    assert len(sandbox.assets) == 1
    assert asset["bytes"] == 6
    assert requests.get(result["url"], timeout=5).content == b"second"


def test_a_public_id_without_folder_and_a_random_one(sandbox, tmp_path):
    path = str(source(tmp_path, b"data"))
    named = cloudinary.uploader.upload(path, **options(sandbox, folder=None, public_id="x/y"))
    assert (named["public_id"], named["asset_folder"]) == ("x/y", "live-sessions/c1")
    generated = cloudinary.uploader.upload(path, **options(sandbox, public_id=None))
    assert generated["public_id"].startswith("live-sessions/c1/")
    assert len(generated["public_id"]) > len("live-sessions/c1/")


def test_a_wrong_secret_is_rejected_and_nothing_is_stored(sandbox, tmp_path):
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid Signature"):
        cloudinary.uploader.upload(
            str(source(tmp_path, b"data")), **options(sandbox, api_secret="wrong")
        )
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Unknown API key"):
        cloudinary.uploader.upload(str(source(tmp_path, b"data")), **options(sandbox, api_key="k"))
    assert sandbox.assets == {}
    assert [u["status"] for u in sandbox.uploads] == [401, 401]


def test_a_wrong_cloud_name_is_not_found(sandbox, tmp_path):
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.uploader.upload(
            str(source(tmp_path, b"data")), **options(sandbox, cloud_name="other")
        )
    assert sandbox.assets == {}


def test_fail_next_fails_that_many_uploads(sandbox, tmp_path):
    sandbox.fail_next(2, message="Try again later")
    path = str(source(tmp_path, b"data"))
    for _ in range(2):
        with pytest.raises(cloudinary.exceptions.GeneralError, match="Try again later"):
            cloudinary.uploader.upload(path, **options(sandbox))
    assert sandbox.assets == {}
    assert cloudinary.uploader.upload(path, **options(sandbox))["bytes"] == 4
    assert [u["status"] for u in sandbox.uploads] == [500, 500, 200]


def test_a_too_small_non_final_chunk_is_a_bad_request(sandbox, tmp_path):
    path = str(source(tmp_path, b"x" * (3 * MB)))
    with pytest.raises(cloudinary.exceptions.BadRequest, match="smaller than the minimum"):
        cloudinary.uploader.upload_large(path, chunk_size=MB, **options(sandbox))
    assert sandbox.assets == {}


def test_unknown_routes_and_assets_are_404(sandbox):
    for url in (f"{sandbox.url}/nowhere", f"{sandbox.url}/sandbox/video/upload/v1/missing.mp4"):
        response = requests.get(url, timeout=5)
        assert response.status_code == 404
        assert "message" in response.json()["error"]
        assert response.headers["X-Sandbox"] == "cloudinary"


def test_stop_removes_only_its_own_storage(tmp_path):
    own = CloudinarySandbox().start()
    own.stop()
    assert not own.storage_dir.exists()
    given = CloudinarySandbox(storage_dir=tmp_path / "store").start()
    given.stop()
    assert given.storage_dir.is_dir()
