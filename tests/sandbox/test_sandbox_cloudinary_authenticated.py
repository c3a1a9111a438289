"""`type="authenticated"` on the Cloudinary sandbox, driven by the real SDK over loopback HTTP:
uploads keep the type, and the asset is delivered only at a URL the SDK signed."""

import hashlib
import os

import cloudinary.exceptions
import cloudinary.uploader
import cloudinary.utils
import pytest
import requests

from devtools.sandbox.cloudinary import CloudinarySandbox, url_signature
from tests.support.cloudinary_urls import SANDBOX_CREDENTIALS, sdk_url

PUBLIC_ID = "live-sessions/c1/s1-recording"
DATA = b"not really a video\n" * 100


@pytest.fixture
def sandbox():
    sandbox = CloudinarySandbox(min_chunk_bytes=1024).start()
    yield sandbox
    sandbox.stop()


def upload(sandbox, tmp_path, data=DATA, large=False, **overrides):
    """Upload `data` as the service will: a video in a folder, authenticated, per-call options."""
    path = tmp_path / "recording.mp4"
    path.write_bytes(data)
    options = {
        "resource_type": "video",
        "type": "authenticated",
        "folder": "live-sessions/c1",
        "public_id": "s1-recording",
        "asset_folder": "live-sessions/c1",
        "overwrite": True,
        "upload_prefix": sandbox.url,
        "timeout": 10,
        **SANDBOX_CREDENTIALS,
        **overrides,
    }
    if large:
        return cloudinary.uploader.upload_large(str(path), chunk_size=4096, **options)
    return cloudinary.uploader.upload(str(path), **options)


def assert_refused(response, status, message):
    assert (response.status_code, response.json()) == (status, {"error": {"message": message}})
    assert response.headers["X-Cld-Error"] == message
    assert response.headers["X-Sandbox"] == "cloudinary"


def test_an_authenticated_upload_keeps_its_type_and_answers_a_signed_url(sandbox, tmp_path):
    result = upload(sandbox, tmp_path)

    (request,) = sandbox.uploads
    assert request["params"]["type"] == "authenticated"  # a signed field, like the others
    assert request["status"] == 200
    assert (result["public_id"], result["type"]) == (PUBLIC_ID, "authenticated")
    assert (result["resource_type"], result["format"], result["bytes"]) == ("video", "mp4", 1900)
    version = result["version"]
    signature = url_signature(f"{PUBLIC_ID}.mp4", "sandbox-secret")  # the version is not signed
    assert (
        result["secure_url"]
        == result["url"]
        == (
            f"{sandbox.url}/sandbox/video/authenticated/s--{signature}--/v{version}/{PUBLIC_ID}.mp4"
        )
    )
    # The SDK, pointed at the sandbox by delivery_options, builds exactly that URL.
    assert result["secure_url"] == sdk_url(sandbox, PUBLIC_ID, version=version)
    assert sandbox.assets[PUBLIC_ID]["result"] == {
        k: v for k, v in result.items() if k != "request_id"
    }
    download = requests.get(result["secure_url"], timeout=5)
    assert download.status_code == 200
    assert (download.headers["Content-Type"], download.content) == ("video/mp4", DATA)


def test_a_chunked_authenticated_upload_is_delivered_at_the_sdk_signed_url(sandbox, tmp_path):
    data = os.urandom(10_000)
    result = upload(sandbox, tmp_path, data, large=True)

    assert [u["content_range"] for u in sandbox.uploads] == [
        "bytes 0-4095/10000",
        "bytes 4096-8191/10000",
        "bytes 8192-9999/10000",
    ]
    assert [u["params"]["type"] for u in sandbox.uploads] == ["authenticated"] * 3
    assert (result["type"], result["bytes"]) == ("authenticated", len(data))
    assert sandbox.assets[PUBLIC_ID]["sha256"] == hashlib.sha256(data).hexdigest()
    url = sdk_url(sandbox, PUBLIC_ID, version=result["version"])
    assert url.startswith(f"{sandbox.url}/sandbox/video/authenticated/s--")
    download = requests.get(url, timeout=5)
    assert (download.status_code, download.content) == (200, data)
    head = requests.head(url, timeout=5)
    assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "10000", b"")


def test_any_version_or_none_and_each_signature_algorithm_deliver_it(sandbox, tmp_path):
    """As on Cloudinary: the version is a cache-buster, neither signed nor checked (the SDK
    writes `v1` for a public id in a folder), and SHA-256 signatures, short or long, pass."""
    upload(sandbox, tmp_path)
    urls = [
        sdk_url(sandbox, PUBLIC_ID),  # v1
        sdk_url(sandbox, PUBLIC_ID, version=12345),
        sdk_url(sandbox, PUBLIC_ID, force_version=False),  # no version at all
        sdk_url(sandbox, PUBLIC_ID, signature_algorithm="sha256"),
        sdk_url(sandbox, PUBLIC_ID, long_url_signature=True),
    ]
    signature = url_signature(f"{PUBLIC_ID}.mp4", "sandbox-secret")
    base = f"{sandbox.url}/sandbox/video/authenticated/s--{signature}--"
    assert urls[:3] == [
        f"{base}/v1/{PUBLIC_ID}.mp4",
        f"{base}/v12345/{PUBLIC_ID}.mp4",
        f"{base}/{PUBLIC_ID}.mp4",
    ]
    assert len({url.split("/")[6] for url in urls}) == 3  # sha1, sha256, long sha256
    for url in urls:
        assert requests.get(url, timeout=5).content == DATA, url


def test_a_public_id_that_needs_escaping_is_signed_escaped_as_the_sdk_does(sandbox, tmp_path):
    result = upload(sandbox, tmp_path, public_id="récit 1", folder=None)

    assert "/v{}/r%C3%A9cit%201.mp4".format(result["version"]) in result["secure_url"]
    assert result["secure_url"] == sdk_url(sandbox, "récit 1", version=result["version"])
    assert requests.get(result["secure_url"], timeout=5).content == DATA


def unsigned(sandbox, version):
    return sdk_url(sandbox, PUBLIC_ID, version=version, sign_url=False)


def tampered(sandbox, version):
    url = sdk_url(sandbox, PUBLIC_ID, version=version)
    start = url.index("/s--") + 4
    return url[:start] + ("A" if url[start] != "A" else "B") + url[start + 1 :]


def other_secret(sandbox, version):
    return sdk_url(sandbox, PUBLIC_ID, version=version, api_secret="another-secret")


def other_public_id(sandbox, version):
    """A signature made for another public id, put on this one."""
    signed = sdk_url(sandbox, "live-sessions/c1/s2-recording", version=version)
    return signed.replace("s2-recording", "s1-recording")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (unsigned, f"Signature required - {PUBLIC_ID}"),
        (tampered, None),
        (other_secret, None),
        (other_public_id, None),
    ],
    ids=["unsigned", "tampered", "another-secret", "another-public-id"],
)
def test_an_unsigned_or_wrongly_signed_url_is_401(sandbox, tmp_path, build, message):
    result = upload(sandbox, tmp_path)
    url = build(sandbox, result["version"])
    assert "/sandbox/video/authenticated/" in url
    assert url != result["secure_url"]

    response = requests.get(url, timeout=5)
    signature = url.split("/")[6].removeprefix("s--").removesuffix("--")
    assert_refused(response, 401, message or f"Invalid signature s--{signature}--")
    assert DATA not in response.content
    assert requests.head(url, timeout=5).status_code == 401


def test_an_authenticated_asset_is_not_served_as_a_public_one(sandbox, tmp_path):
    result = upload(sandbox, tmp_path)
    public = sdk_url(sandbox, PUBLIC_ID, version=result["version"], type="upload", sign_url=False)
    assert public == f"{sandbox.url}/sandbox/video/upload/v{result['version']}/{PUBLIC_ID}.mp4"

    response = requests.get(public, timeout=5)
    assert_refused(response, 404, f"Resource not found - {PUBLIC_ID}")
    signed_public = sdk_url(sandbox, PUBLIC_ID, version=result["version"], type="upload")
    assert requests.get(signed_public, timeout=5).status_code == 404


def test_a_signed_url_of_an_unknown_or_public_asset_is_404(sandbox, tmp_path):
    missing = sdk_url(sandbox, "live-sessions/c1/nothing")
    assert_refused(
        requests.get(missing, timeout=5), 404, "Resource not found - live-sessions/c1/nothing"
    )

    result = upload(sandbox, tmp_path, type=None)  # a public upload, as before
    assert result["type"] == "upload"
    assert (
        result["secure_url"]
        == f"{sandbox.url}/sandbox/video/upload/v{result['version']}/{PUBLIC_ID}.mp4"
    )
    assert requests.get(result["secure_url"], timeout=5).content == DATA
    signed = sdk_url(sandbox, PUBLIC_ID, version=result["version"])
    assert_refused(requests.get(signed, timeout=5), 404, f"Resource not found - {PUBLIC_ID}")


def test_delivery_options_point_the_sdk_at_the_sandbox_over_plain_http(sandbox):
    host = f"127.0.0.1:{sandbox.server.port}"
    assert sandbox.delivery_options() == {
        "secure": False,
        "cname": host,
        "private_cdn": False,
        "cdn_subdomain": False,
    }
    # Merged last, they win over production's settings (https, a private CDN, shards).
    production = {"secure": True, "private_cdn": True, "cdn_subdomain": True, "version": 7}
    url, _ = cloudinary.utils.cloudinary_url(
        PUBLIC_ID,
        resource_type="video",
        type="authenticated",
        sign_url=True,
        format="mp4",
        **SANDBOX_CREDENTIALS,
        **{**production, **sandbox.delivery_options()},
    )
    assert url == sdk_url(sandbox, PUBLIC_ID, version=7)
    assert url.startswith(f"http://{host}/sandbox/video/authenticated/s--")


def test_an_unsupported_delivery_type_is_a_bad_request_and_nothing_is_stored(sandbox, tmp_path):
    message = "The sandbox stores upload and authenticated assets only, not private"
    with pytest.raises(cloudinary.exceptions.BadRequest, match=message):
        upload(sandbox, tmp_path, type="private")
    with pytest.raises(cloudinary.exceptions.BadRequest, match=message):
        upload(sandbox, tmp_path, os.urandom(10_000), large=True, type="private")
    assert sandbox.assets == {}
    assert [u["status"] for u in sandbox.uploads] == [400, 400]  # the first chunk is refused
