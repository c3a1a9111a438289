"""What the Cloudinary sandbox's parts share: the upload API's error, Cloudinary's error bodies."""

import json

from werkzeug.wrappers import Response


class UploadError(Exception):
    """An upload API request (an upload, a chunk, a destroy) refused with `status` and
    Cloudinary's `message`."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def json_response(status, body):
    return Response(json.dumps(body), status, mimetype="application/json")


def error(status, message):
    """Cloudinary's JSON error body."""
    return json_response(status, {"error": {"message": message}})
