"""Delivering stored assets the way Cloudinary's delivery URLs do. Development and tests only.

An `upload` asset is served at its plain URL, `/<cloud>/<resource_type>/upload/
[<transformation>/][v<version>/]<public_id>.<ext>`. An `authenticated` asset only at a signed
one, `/<cloud>/<resource_type>/authenticated/s--<signature>--/[<transformation>/][v<version>/]
<public_id>.<ext>`, where the signature is the one `cloudinary.utils.cloudinary_url(...,
sign_url=True)` puts there: the first 8 characters of the URL-safe base64 SHA-1 (or SHA-256)
digest of `[<transformation>/]<public_id>.<ext>` (the public id escaped as in the URL) with
the API secret appended, or 32 characters of SHA-256 with `long_url_signature`. The version
is not signed, and, as on Cloudinary, it is not checked either: `v1` and no version at all
deliver the asset as well as its own version does. An unsigned or wrongly signed URL is
answered 401, an unknown asset 404; both with Cloudinary's `X-Cld-Error` header.

A video's URL with an image extension (`.jpg`, `.png`) answers a poster frame, optionally at
a start offset `so_<seconds>` (see `frames`); any other transformation is answered 400. The
path segments before the public id that look like transformations (`<key>_<value>[,...]`)
are read as one: the SDK always puts a version before a public id in a folder, so only a
public id whose first folder looks like a transformation, in a URL without a version, is
misread.
"""

import base64
import hashlib
import hmac
import re
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from cloudinary.utils import smart_escape
from werkzeug.utils import send_file
from werkzeug.wrappers import Response

from .common import error
from .frames import FRAMES, frame_problem

DELIVERY_PATH = re.compile(r"^/([^/]+)/([^/]+)/(upload|authenticated)/(.+)\Z")
SIGNED = re.compile(r"^s--([A-Za-z0-9_-]*)--/(.+)\Z")  # on the `authenticated` path only
TRANSFORMATION = re.compile(r"^[a-z]{1,3}_[^,/]+(?:,[a-z]{1,3}_[^,/]+)*\Z")
VERSION = re.compile(r"^v\d+\Z")
SOURCE = re.compile(r"^(.+)\.([A-Za-z0-9]+)\Z")
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


class DeliveryPath(NamedTuple):
    """The parts of a delivery URL's path (`signature` is None when it has none)."""

    cloud: str
    resource_type: str
    delivery_type: str
    signature: str | None
    transformation: str  # its segments joined by `/`, as the SDK signs it; "" for none
    public_id: str
    extension: str


def parse_delivery_path(path):
    """The `DeliveryPath` of a (percent-decoded) request path, or None if it is not one."""
    match = DELIVERY_PATH.match(path)
    if not match:
        return None
    cloud, resource_type, delivery_type, rest = match.groups()
    signature = None
    signed = SIGNED.match(rest) if delivery_type == "authenticated" else None
    if signed:
        signature, rest = signed.groups()
    segments = rest.split("/")
    transformations = []
    while len(segments) > 1 and TRANSFORMATION.match(segments[0]):
        transformations.append(segments.pop(0))
    if len(segments) > 1 and VERSION.match(segments[0]):
        segments.pop(0)
    source = SOURCE.match("/".join(segments))
    if not source:
        return None
    public_id, extension = source.groups()
    transformation = "/".join(transformations)
    return DeliveryPath(
        cloud, resource_type, delivery_type, signature, transformation, public_id, extension
    )


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

    def _deliver(self, request, target):
        """`GET`/`HEAD` of the `DeliveryPath` `target`: the file, a poster frame, or an error."""
        if target.delivery_type == "authenticated":
            refusal = self._signature_refusal(target)
            if refusal is not None:
                return refusal
        problem = frame_problem(target.resource_type, target.transformation, target.extension)
        if problem is not None:
            return delivery_error(400, problem)
        with self.lock:
            asset = self.assets.get(target.public_id)
        if (
            target.cloud != self.cloud_name
            or not asset
            or asset["result"]["resource_type"] != target.resource_type
            or asset["result"]["type"] != target.delivery_type
        ):
            return delivery_error(404, f"Resource not found - {target.public_id}")
        frame = FRAMES.get(target.extension.lower())
        if frame is not None:  # frame_problem let it through: a video's poster frame
            mimetype, data = frame
            return Response(data, 200, mimetype=mimetype)
        try:
            return send_file(asset["path"], request.environ, mimetype="video/mp4")
        except FileNotFoundError:  # replaced or destroyed since it was looked up
            return delivery_error(404, f"Resource not found - {target.public_id}")

    def _signature_refusal(self, target):
        """The 401 for an `authenticated` URL whose signature is missing or wrong, or None."""
        if target.signature is None:
            return delivery_error(401, f"Signature required - {target.public_id}")
        # The SDK signs the transformation as written and the escaped public id.
        source = smart_escape(f"{target.public_id}.{target.extension}")
        to_sign = f"{target.transformation}/{source}" if target.transformation else source
        if not signature_matches(target.signature, to_sign, self.api_secret):
            return delivery_error(401, f"Invalid signature s--{target.signature}--")
        return None
