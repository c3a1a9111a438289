"""Poster frames on the Cloudinary sandbox: the URL the real SDK builds for a video's
thumbnail (`format="jpg"`, `transformation=[{"start_offset": 0}]`) answers a small image,
signed like the video's own URL for `authenticated` assets."""

import struct

import cloudinary
import cloudinary.uploader
import cloudinary.utils
import pytest
import requests

from devtools.sandbox.cloudinary import CloudinarySandbox, url_signature
from tests.support.cloudinary_urls import SANDBOX_CREDENTIALS, sdk_url

PUBLIC_ID = "live-sessions/c1/s1-recording"
POSTER = {"format": "jpg", "transformation": [{"start_offset": 0}]}  # what the service asks


@pytest.fixture
def sandbox():
    sandbox = CloudinarySandbox().start()
    yield sandbox
    sandbox.stop()


def upload(sandbox, tmp_path, delivery_type="authenticated", public_id=PUBLIC_ID):
    path = tmp_path / "recording.mp4"
    path.write_bytes(b"not really a video\n" * 100)
    return cloudinary.uploader.upload(
        str(path),
        resource_type="video",
        type=delivery_type,
        public_id=public_id,
        upload_prefix=sandbox.url,
        timeout=10,
        **SANDBOX_CREDENTIALS,
    )


def assert_jpeg(response):
    """A 200 answer of a whole baseline JPEG of 8x8 pixels."""
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/jpeg"
    data = response.content
    assert data.startswith(b"\xff\xd8")  # SOI
    assert data.endswith(b"\xff\xd9")  # EOI
    sof = data.index(b"\xff\xc0")  # baseline frame header: precision, height, width
    assert struct.unpack(">BHH", data[sof + 4 : sof + 9]) == (8, 8, 8)
    assert response.headers["Content-Length"] == str(len(data))


def assert_refused(response, status, message):
    assert (response.status_code, response.json()) == (status, {"error": {"message": message}})
    assert response.headers["X-Cld-Error"] == message


def test_the_sdk_built_poster_url_of_a_public_video_answers_a_jpeg(sandbox, tmp_path):
    version = upload(sandbox, tmp_path, delivery_type="upload")["version"]
    options = {"version": version, **SANDBOX_CREDENTIALS, **sandbox.delivery_options()}

    url, _ = cloudinary.utils.cloudinary_url(PUBLIC_ID, resource_type="video", **POSTER, **options)

    assert url == f"{sandbox.url}/sandbox/video/upload/so_0/v{version}/{PUBLIC_ID}.jpg"
    video = cloudinary.CloudinaryVideo(PUBLIC_ID)
    assert video.build_url(format="jpg", start_offset=0, **options) == url
    assert_jpeg(requests.get(url, timeout=5))
    head = requests.head(url, timeout=5)
    assert (head.status_code, head.headers["Content-Type"], head.content) == (
        200,
        "image/jpeg",
        b"",
    )


def test_the_sdk_signed_poster_url_of_an_authenticated_video_answers_a_jpeg(sandbox, tmp_path):
    version = upload(sandbox, tmp_path)["version"]

    url = sdk_url(sandbox, PUBLIC_ID, version=version, **POSTER)

    # The signature covers the transformation and the public id with the image extension.
    signature = url_signature(f"so_0/{PUBLIC_ID}.jpg", "sandbox-secret")
    assert url == (
        f"{sandbox.url}/sandbox/video/authenticated/s--{signature}--/so_0/v{version}/"
        f"{PUBLIC_ID}.jpg"
    )
    assert_jpeg(requests.get(url, timeout=5))


@pytest.mark.parametrize(
    ("options", "content_type"),
    [
        ({"format": "jpg", "start_offset": "2.5"}, "image/jpeg"),
        ({"format": "jpg", "start_offset": 10, "signature_algorithm": "sha256"}, "image/jpeg"),
        ({"format": "jpg", "start_offset": 0, "long_url_signature": True}, "image/jpeg"),
        ({"format": "jpg", "start_offset": 0, "force_version": False}, "image/jpeg"),
        ({"format": "jpg"}, "image/jpeg"),  # no offset: Cloudinary's middle frame
        ({"format": "png", "start_offset": 0}, "image/png"),
    ],
    ids=["so_2.5", "sha256", "long-signature", "no-version", "no-offset", "png"],
)
def test_each_offset_signature_and_image_format_answers_a_frame(
    sandbox, tmp_path, options, content_type
):
    upload(sandbox, tmp_path)
    response = requests.get(sdk_url(sandbox, PUBLIC_ID, **options), timeout=5)
    assert (response.status_code, response.headers["Content-Type"]) == (200, content_type)
    if content_type == "image/png":
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert response.content.endswith(b"IEND\xaeB`\x82")
    else:
        assert_jpeg(response)


def test_a_public_id_outside_any_folder_and_needing_escapes_has_its_poster(sandbox, tmp_path):
    upload(sandbox, tmp_path, public_id="récit 1")
    url = sdk_url(sandbox, "récit 1", **POSTER)
    assert url.endswith("--/so_0/r%C3%A9cit%201.jpg")  # no version: no folder
    assert_jpeg(requests.get(url, timeout=5))


def unsigned(sandbox):
    return sdk_url(sandbox, PUBLIC_ID, sign_url=False, **POSTER)


def the_videos_signature(sandbox):
    """The signature of the plain video, put on its poster's URL."""
    video = sdk_url(sandbox, PUBLIC_ID)
    poster = sdk_url(sandbox, PUBLIC_ID, **POSTER)
    return poster.replace(poster.split("/")[6], video.split("/")[6])


def another_offset(sandbox):
    """A URL signed for `so_0`, sent with `so_5`."""
    return sdk_url(sandbox, PUBLIC_ID, **POSTER).replace("/so_0/", "/so_5/")


def another_secret(sandbox):
    return sdk_url(sandbox, PUBLIC_ID, api_secret="another-secret", **POSTER)


@pytest.mark.parametrize(
    "build",
    [unsigned, the_videos_signature, another_offset, another_secret],
    ids=["unsigned", "the-videos-signature", "another-offset", "another-secret"],
)
def test_a_poster_url_unsigned_or_wrongly_signed_is_401(sandbox, tmp_path, build):
    upload(sandbox, tmp_path)
    url = build(sandbox)
    assert "/sandbox/video/authenticated/" in url

    response = requests.get(url, timeout=5)

    if build is unsigned:
        assert_refused(response, 401, f"Signature required - {PUBLIC_ID}")
    else:
        signature = url.split("/")[6]
        assert_refused(response, 401, f"Invalid signature {signature}")
    assert not response.content.startswith(b"\xff\xd8")


def test_the_poster_of_an_unknown_or_destroyed_video_is_404(sandbox, tmp_path):
    missing = "live-sessions/c1/nothing"
    for url in (
        sdk_url(sandbox, missing, **POSTER),
        sdk_url(sandbox, missing, type="upload", sign_url=False, **POSTER),
    ):
        assert_refused(requests.get(url, timeout=5), 404, f"Resource not found - {missing}")

    upload(sandbox, tmp_path)
    url = sdk_url(sandbox, PUBLIC_ID, **POSTER)
    assert_jpeg(requests.get(url, timeout=5))
    destroyed = cloudinary.uploader.destroy(
        PUBLIC_ID,
        resource_type="video",
        type="authenticated",
        invalidate=True,
        upload_prefix=sandbox.url,
        **SANDBOX_CREDENTIALS,
    )
    assert destroyed["result"] == "ok"
    assert_refused(requests.get(url, timeout=5), 404, f"Resource not found - {PUBLIC_ID}")
    # Nor is an authenticated video's poster served on the public path.
    upload(sandbox, tmp_path)
    public = sdk_url(sandbox, PUBLIC_ID, type="upload", sign_url=False, **POSTER)
    assert requests.get(public, timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {
                "format": "jpg",
                "transformation": [{"start_offset": 0, "width": 320, "crop": "scale"}],
            },
            "The sandbox supports only the so_<seconds> transformation (a poster frame), "
            "not c_scale,so_0,w_320",
        ),
        (
            {"format": "jpg", "start_offset": "auto"},
            "The sandbox supports only the so_<seconds> transformation (a poster frame), "
            "not so_auto",
        ),
        (
            {"format": "mp4", "start_offset": 0},
            "The sandbox makes poster frames only as jpg or png, not mp4",
        ),
        (
            {"format": "webp", "start_offset": 0},
            "The sandbox makes poster frames only as jpg or png, not webp",
        ),
    ],
    ids=["resize", "so_auto", "trimmed-video", "webp"],
)
def test_other_transformations_and_formats_are_a_clear_400(sandbox, tmp_path, options, message):
    upload(sandbox, tmp_path)
    assert_refused(requests.get(sdk_url(sandbox, PUBLIC_ID, **options), timeout=5), 400, message)
    upload(sandbox, tmp_path, delivery_type="upload")
    public = sdk_url(sandbox, PUBLIC_ID, type="upload", sign_url=False, **options)
    assert_refused(requests.get(public, timeout=5), 400, message)
