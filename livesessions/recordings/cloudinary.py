"""Cloudinary uploads through the official SDK, configured per call (no global state)."""

from urllib.parse import urlsplit

import cloudinary.exceptions
import cloudinary.uploader
import cloudinary.utils

from ..clock import to_seconds, utcnow


class CloudinaryError(Exception):
    """An upload failed: the SDK raised, or Cloudinary's answer was unusable."""


class CloudinaryClient:
    """Uploads videos in fixed-size chunks, so memory stays bounded whatever the file size."""

    def __init__(
        self,
        cloud_name: str | None,
        api_key: str | None,
        api_secret: str | None,
        upload_prefix: str | None = None,
        chunk_size: int = 6_000_000,
        timeout: float = 60,
        delivery_type: str = "upload",
        url_ttl_seconds: int = 3600,
    ):
        self.credentials = {"cloud_name": cloud_name, "api_key": api_key, "api_secret": api_secret}
        if upload_prefix:
            self.credentials["upload_prefix"] = upload_prefix.rstrip("/")
        self.chunk_size = chunk_size
        self.timeout = timeout
        self.delivery_type = delivery_type  # "upload" (public) or "authenticated"
        self.url_ttl_seconds = url_ttl_seconds  # how long a signed recording URL is valid
        self.delivery_host = _delivery_host(upload_prefix)

    @classmethod
    def from_config(cls, config) -> "CloudinaryClient":
        """The client the CLOUD_* and CLOUDINARY_* settings describe, delivering recordings
        as RECORDING_DELIVERY says."""
        return cls(
            config["CLOUD_NAME"],
            config["CLOUD_API_KEY"],
            config["CLOUD_API_SECRET"],
            upload_prefix=config["CLOUDINARY_UPLOAD_PREFIX"],
            chunk_size=config["CLOUDINARY_CHUNK_SIZE"],
            timeout=config["CLOUDINARY_TIMEOUT_SECONDS"],
            delivery_type="authenticated"
            if config["RECORDING_DELIVERY"] == "authenticated"
            else "upload",
            url_ttl_seconds=config["RECORDING_URL_TTL_SECONDS"],
        )

    def upload_video(self, path: str, *, folder: str, public_id: str) -> dict:
        """Upload the video file at `path` as `<folder>/<public_id>`; return Cloudinary's result."""
        try:
            result = cloudinary.uploader.upload_large(
                path,
                resource_type="video",  # upload_large defaults to "raw"
                folder=folder,
                asset_folder=folder,  # accounts with dynamic folders place assets by this
                public_id=public_id,
                **self._delivery(),
                overwrite=True,  # a retried job replaces its own earlier upload
                chunk_size=self.chunk_size,
                timeout=self.timeout,
                **self.credentials,
            )
        except (cloudinary.exceptions.Error, ValueError) as error:
            # ValueError: the SDK's complaint about missing credentials.
            raise CloudinaryError(f"{type(error).__name__}: {error}") from None
        if not isinstance(result, dict) or not result.get("secure_url"):
            raise CloudinaryError(f"Cloudinary gave no secure_url (result: {result!r:.200})")
        return result

    def _delivery(self):
        # only an authenticated upload names its type: a public one is sent as it always was
        return {"type": self.delivery_type} if self.delivery_type != "upload" else {}

    def destroy_video(self, asset: dict) -> None:
        """Destroy a stored recording asset (`publicId`, `type`) and have the CDN forget it.
        An asset already gone is no failure: deleting twice must be harmless."""
        try:
            result = cloudinary.uploader.destroy(
                asset["publicId"],
                resource_type="video",
                type=asset.get("type") or "upload",
                invalidate=True,
                timeout=self.timeout,
                **self.credentials,
            )
        except (cloudinary.exceptions.Error, ValueError) as error:
            raise CloudinaryError(f"{type(error).__name__}: {error}") from None
        if not isinstance(result, dict) or result.get("result") not in ("ok", "not found"):
            raise CloudinaryError(f"Cloudinary did not destroy it (result: {result!r:.200})")

    def signed_asset_url(self, asset: dict) -> str:
        """A URL of a stored authenticated recording (`publicId`, `format`) that expires
        `url_ttl_seconds` from now: Cloudinary's private download URL (the upload API's
        `download` action, signed with the API secret, with `expires_at`). A delivery URL's
        `s--...--` signature never expires, so whoever once read one could keep it."""
        return cloudinary.utils.private_download_url(
            asset["publicId"],
            asset.get("format") or "mp4",
            resource_type="video",
            type="authenticated",
            expires_at=to_seconds(utcnow()) + self.url_ttl_seconds,
            **self.credentials,
        )

    def signed_url(self, public_id: str, version, format: str = "mp4") -> str:
        """A signed delivery URL of an authenticated video, made now with the SDK."""
        return self._url(public_id, version, format, "authenticated")

    def poster_url(self, asset: dict) -> str:
        """The recording's first frame as a JPEG: a URL transformation of the video itself
        (`so_0`, start offset 0), so nothing more is uploaded; signed when authenticated."""
        delivery_type = asset.get("type") or "upload"
        return self._url(
            asset["publicId"], asset.get("version"), "jpg", delivery_type, [{"start_offset": 0}]
        )

    def _url(self, public_id, version, format, delivery_type, transformation=None):
        url, _ = cloudinary.utils.cloudinary_url(
            public_id,
            resource_type="video",
            type=delivery_type,
            sign_url=delivery_type == "authenticated",
            version=version,
            format=format,
            transformation=transformation,
            **{**self.credentials, "secure": True, **self.delivery_host},
        )
        return url


def _delivery_host(upload_prefix):
    """Where delivery URLs point: Cloudinary's CDN, unless uploads go to another host (a
    local stand-in serves both); the SDK reaches an `http://` host only through `cname`."""
    if not upload_prefix:
        return {}
    parts = urlsplit(upload_prefix)
    if parts.scheme == "https":
        return {"secure_distribution": parts.netloc, "private_cdn": False}
    return {"secure": False, "cname": parts.netloc, "private_cdn": False, "cdn_subdomain": False}
