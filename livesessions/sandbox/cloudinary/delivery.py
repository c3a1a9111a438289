"""Delivering stored assets at the URLs the sandbox answered with."""

import re

from werkzeug.utils import send_file

from .common import error

ASSET_PATH = re.compile(r"^/([^/]+)/([^/]+)/upload/(?:v\d+/)?(.+)\.[A-Za-z0-9]+$")


class Delivery:
    """The delivery part of `CloudinarySandbox`: `GET`/`HEAD` of an asset's URL."""

    def _serve(self, request, cloud, resource_type, public_id):
        with self.lock:
            asset = self.assets.get(public_id)
        if (
            cloud != self.cloud_name
            or not asset
            or asset["result"]["resource_type"] != resource_type
        ):
            return error(404, f"Resource not found - {public_id}")
        return send_file(asset["path"], request.environ, mimetype="video/mp4")
