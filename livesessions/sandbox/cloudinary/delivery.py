"""Delivering stored assets the way Cloudinary's delivery URLs do. Development and tests only.

An `upload` asset is served at its plain URL, `/<cloud>/<resource_type>/upload/[v<version>/]
<public_id>.<ext>`. An `authenticated` asset only at a signed one,
`/<cloud>/<resource_type>/authenticated/s--<signature>--/[v<version>/]<public_id>.<ext>`, where
the signature is the one `cloudinary.utils.cloudinary_url(..., sign_url=True)` puts there: the
first 8 characters of the URL-safe base64 SHA-1 (or SHA-256) digest of `<public_id>.<ext>`
(escaped as in the URL) with the API secret appended, or 32 characters of SHA-256 with
`long_url_signature`. The version is not signed, and, as on Cloudinary, it is not checked
either: `v1` and no version at all deliver the asset as well as its own version does. An
unsigned or wrongly signed URL is answered 401, an unknown asset 404; both with Cloudinary's
`X-Cld-Error` header. The sandbox applies no transformations: it reads one as part of the
public id, so a signed URL with one is refused (401, or 404 on the `upload` path).
"""

import base64
import hashlib
import hmac
import re
from urllib.parse import quote, urlsplit

from cloudinary.utils import smart_escape
from werkzeug.utils import send_file

from .common import error

ASSET_PATH = re.compile(r"^/([^/]+)/([^/]+)/upload/(?:v\d+/)?(.+)\.[A-Za-z0-9]+\Z")
AUTHENTICATED_PATH = re.compile(
    r"^/([^/]+)/([^/]+)/authenticated/(?:s--([A-Za-z0-9_-]*)--/)?((?:v\d+/)?(.+)\.[A-Za-z0-9]+)\Z"
)
VERSION = re.compile(r"^v\d+/")
SHORT_SIGNATURE, LONG_SIGNATURE = 8, 32  # the SDK's SHORT_/LONG_URL_SIGNATURE_LENGTH


def url_signature(to_sign, api_secret, algorithm="sha1", length=SHORT_SIGNATURE):
    """What the SDK puts between `s--` and `--`: base64url(digest(to_sign + secret))[:length]."""
    digest = hashlib.new(algorithm, (to_sign + api_secret).encode()).digest()
    return base64.urlsafe_b64encode(digest)[:length].decode()


def signature_matches(signature, to_sign, api_secret):
    """Whether `signature` is SHA-1's or SHA-256's short one, or SHA-256's long one."""
    if len(signature) == LONG_SIGNATURE:
        candidates = [url_signature(to_sign, api_secret, "sha256", LONG_SIGNATURE)]
    else:
        candidates = [url_signature(to_sign, api_secret, name) for name in ("sha1", "sha256")]
    return any(hmac.compare_digest(signature, expected) for expected in candidates)


def delivery_options(base_url):
    """Keyword arguments for `cloudinary.utils.cloudinary_url` that make it build its URLs on
    the sandbox at `base_url` (`http://host:port`) instead of res.cloudinary.com:
    `http://host:port/<cloud>/<resource_type>/<type>/...`, which the sandbox serves.

    `secure=False` with `cname` is the SDK's one way to an `http://` prefix on another host
    (`secure_distribution` always gives `https://`, and the sandbox has no TLS); `private_cdn`
    and `cdn_subdomain` off keep the `/<cloud>` path part and the host unsharded, whatever the
    global configuration says.
    """
    return {
        "secure": False,
        "cname": urlsplit(base_url).netloc,
        "private_cdn": False,
        "cdn_subdomain": False,
    }


def delivery_error(status, message):
    """Cloudinary's delivery error: the reason in `X-Cld-Error` (and, here, a short body)."""
    response = error(status, message)
    response.headers["X-Cld-Error"] = message
    return response


class Delivery:
    """The delivery part of `CloudinarySandbox`: `GET`/`HEAD` of an asset's URL."""

    def delivery_options(self):
        """The `cloudinary_url` keyword arguments for URLs on this sandbox (see the module's
        `delivery_options`); credentials, type, version and format are the caller's."""
        return delivery_options(self.url)

    def _delivery_url(self, resource_type, delivery_type, version, public_id):
        """The `url` an upload is answered with: for an `authenticated` asset, signed like the
        SDK signs it (so, as on Cloudinary, it delivers the asset)."""
        base = f"{self.url}/{self.cloud_name}/{resource_type}/{delivery_type}"
        if delivery_type != "authenticated":
            return f"{base}/v{version}/{quote(public_id)}.mp4"
        source = f"{smart_escape(public_id)}.mp4"
        return f"{base}/s--{url_signature(source, self.api_secret)}--/v{version}/{source}"

    def _serve(self, request, cloud, resource_type, public_id, delivery_type="upload"):
        with self.lock:
            asset = self.assets.get(public_id)
        if (
            cloud != self.cloud_name
            or not asset
            or asset["result"]["resource_type"] != resource_type
            or asset["result"]["type"] != delivery_type
        ):
            return delivery_error(404, f"Resource not found - {public_id}")
        try:
            return send_file(asset["path"], request.environ, mimetype="video/mp4")
        except FileNotFoundError:  # replaced or destroyed since it was looked up
            return delivery_error(404, f"Resource not found - {public_id}")

    def _serve_authenticated(self, request, cloud, resource_type, signature, source, public_id):
        """An `authenticated` asset, if `signature` is right for `source` (the path after it)."""
        if signature is None:
            return delivery_error(401, f"Signature required - {public_id}")
        to_sign = smart_escape(VERSION.sub("", source))  # the SDK signs the escaped form
        if not signature_matches(signature, to_sign, self.api_secret):
            return delivery_error(401, f"Invalid signature s--{signature}--")
        return self._serve(request, cloud, resource_type, public_id, "authenticated")
