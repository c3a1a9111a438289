"""Recordings: start and stop on Daily.co, the upload job kind that publishes each finished
recording on Cloudinary, the library (signed URLs, deletion, retention), adoption of
recordings started elsewhere. Below: what the features above it may use."""

from .serialize import recording_json

__all__ = ["recording_json"]
