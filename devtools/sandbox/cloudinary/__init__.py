"""A Cloudinary upload API and delivery stand-in on loopback. Development and tests only.

It answers the requests the real Cloudinary Python SDK sends (`upload`, `upload_large` in
chunks, and `destroy`) when pointed at it with `upload_prefix`, checks the signature with the
SDK's own rules, stores files on disk and serves them back at the `url`/`secure_url` it
answers with.
Uploads of `type="authenticated"` are delivered only at URLs signed with the API secret, as
`cloudinary.utils.cloudinary_url(..., sign_url=True)` signs them; `delivery_options` gives the
keyword arguments that make the SDK build those URLs on the sandbox. A video's URL with an
image format (`format="jpg"`, optionally `start_offset`) answers a poster frame: a small
JPEG (or PNG), the same whatever the video and offset. Private download URLs
(`cloudinary.utils.private_download_url`) deliver an asset until their `expires_at`, by the
sandbox's `clock`.
"""

from .delivery import delivery_options, url_signature
from .server import CloudinarySandbox

__all__ = ["CloudinarySandbox", "delivery_options", "url_signature"]
