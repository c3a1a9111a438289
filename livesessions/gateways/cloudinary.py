"""Cloudinary uploads through the official SDK, configured per call (no global state)."""

import cloudinary.exceptions
import cloudinary.uploader


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
    ):
        self.credentials = {"cloud_name": cloud_name, "api_key": api_key, "api_secret": api_secret}
        if upload_prefix:
            self.credentials["upload_prefix"] = upload_prefix.rstrip("/")
        self.chunk_size = chunk_size
        self.timeout = timeout

    def upload_video(self, path: str, *, folder: str, public_id: str) -> dict:
        """Upload the video file at `path` as `<folder>/<public_id>`; return Cloudinary's result."""
        try:
            result = cloudinary.uploader.upload_large(
                path,
                resource_type="video",  # upload_large defaults to "raw"
                folder=folder,
                asset_folder=folder,  # accounts with dynamic folders place assets by this
                public_id=public_id,
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
