"""Private download URLs: the upload API's `download` action, as
`cloudinary.utils.private_download_url` builds it. Development and tests only.

The SDK signs the query `public_id`, `format`, `timestamp` and, when given, `type`,
`attachment` and `expires_at` with the API secret, as it signs an upload's fields, and adds
`signature` and `api_key`: `GET /v1_1/<cloud>/<resource_type>/download?...`. The URL is
valid until `expires_at` (Unix seconds; one hour after `timestamp` when absent, Cloudinary's
default). An expired URL, a wrong signature or an unknown key is refused with 401 (which
status and words Cloudinary itself gives an expired link is not checked here: a refusal is
what matters), an unknown asset (public id, resource type and delivery type) 404. "Now" is
the sandbox's `clock`, so that a test can hold it past the expiry.
"""

import hmac

from cloudinary.utils import api_sign_request
from werkzeug.utils import send_file

from .delivery import delivery_error

DEFAULT_VALIDITY = 3600  # seconds after `timestamp`, without `expires_at`
NOT_SIGNED = {"signature", "api_key"}


class Downloads:
    """The download part of `CloudinarySandbox`: each request is kept in `self.downloads`."""

    def _download(self, request, cloud, resource_type):
        params = request.args.to_dict()
        refusal = self._download_refusal(cloud, params)
        self.downloads.append({"params": params, "status": refusal.status_code if refusal else 200})
        if refusal is not None:
            return refusal
        public_id, delivery_type = params["public_id"], params.get("type") or "upload"
        with self.lock:
            asset = self.assets.get(public_id)
        result = asset["result"] if asset else {}
        if (
            result.get("resource_type") != resource_type
            or result.get("type") != delivery_type
            or result.get("format") != params.get("format")
        ):
            return delivery_error(404, f"Resource not found - {public_id}")
        try:
            return send_file(asset["path"], request.environ, mimetype="video/mp4")
        except FileNotFoundError:  # destroyed since it was looked up
            return delivery_error(404, f"Resource not found - {public_id}")

    def _download_refusal(self, cloud, params):
        """The error answer for a download URL that is not (or no longer) valid, or None."""
        if cloud != self.cloud_name:
            return delivery_error(404, f"Invalid cloud_name {cloud}")
        if params.get("api_key") != self.api_key:
            return delivery_error(401, f"Unknown API key {params.get('api_key', '')}")
        signature = params.get("signature", "")
        to_sign = {k: v for k, v in params.items() if k not in NOT_SIGNED}
        algorithm = "sha256" if len(signature) == 64 else "sha1"
        expected = api_sign_request(to_sign, self.api_secret, algorithm)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            return delivery_error(401, f"Invalid Signature {signature}")
        if not params.get("public_id") or not params.get("timestamp", "").isdigit():
            return delivery_error(400, "Missing required parameter - public_id or timestamp")
        expires = params.get("expires_at") or ""
        if expires and not expires.isdigit():
            return delivery_error(400, f"Invalid expires_at {expires}")
        expires_at = int(expires) if expires else int(params["timestamp"]) + DEFAULT_VALIDITY
        if self.clock() >= expires_at:
            return delivery_error(401, f"Download URL expired at {expires_at}")
        return None
