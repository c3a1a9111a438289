"""A Cloudinary upload API and delivery stand-in on loopback. Development and tests only.

It answers the requests the real Cloudinary Python SDK sends (`upload`, and `upload_large` in
chunks) when pointed at it with `upload_prefix`, checks the signature with the SDK's own
rules, stores files on disk and serves them back at the `url`/`secure_url` it answers with.
"""

from .server import CloudinarySandbox

__all__ = ["CloudinarySandbox"]
