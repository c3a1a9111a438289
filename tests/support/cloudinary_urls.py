"""Delivery URLs of the Cloudinary sandbox's assets, built by the real SDK as the service will."""

import cloudinary.utils

# CloudinarySandbox's defaults.
SANDBOX_CREDENTIALS = {
    "cloud_name": "sandbox",
    "api_key": "sandbox-key",
    "api_secret": "sandbox-secret",
}


def sdk_url(sandbox, public_id, **options):
    """`cloudinary_url` for a video of the sandbox: an authenticated MP4, signed with the
    sandbox's secret, at the sandbox's address (`delivery_options`); `options` override any
    of it. Everything is passed per call: no test touches the global `cloudinary.config`."""
    arguments = {
        "resource_type": "video",
        "type": "authenticated",
        "sign_url": True,
        "format": "mp4",
        **SANDBOX_CREDENTIALS,
        **sandbox.delivery_options(),
        **options,
    }
    url, _ = cloudinary.utils.cloudinary_url(public_id, **arguments)
    return url
