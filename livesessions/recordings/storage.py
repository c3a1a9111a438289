"""Recording downloads from the storage host behind Daily.co's presigned links (S3).

A plain request, not the Daily API session: the link is presigned, and the Daily API key
must never be sent to the storage host. Failures are RecordingDownloadErrors (not Daily's:
the storage host is another service); the worker retries them as it retries Daily's, and
gives up at once on the same statuses (404 gone, 413 too large).
"""

import time
from collections.abc import Callable
from typing import BinaryIO

import requests
import urllib3

from ..daily import CONNECT_TIMEOUT_SECONDS

DOWNLOAD_PIECE_BYTES = 1024 * 1024


class RecordingDownloadError(Exception):
    """A recording could not be downloaded (or came empty); `status`: the storage host's
    HTTP status when it answered with an error."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class DownloadRefused(RecordingDownloadError):
    """The recording can't be downloaded whatever the retries (too large)."""

    def __init__(self, message):
        super().__init__(message, status=413)


def download(
    url: str,
    destination: BinaryIO,
    timeout: float,
    *,
    max_bytes: int | None = None,
    deadline: float | None = None,
    check_length: Callable[[int | None], None] | None = None,
) -> int:
    """Stream `url` into the open binary file `destination`; return the bytes written.

    `check_length` sees the declared `Content-Length` (or None) before any of the body is
    read; more than `max_bytes`, or still going at `deadline` (time.monotonic()), stops
    the download. The body is read with `read1`, which returns whatever has arrived: a
    source that sends a byte just inside each read timeout is stopped at the deadline
    (plus at most one read timeout), where reading whole 1 MiB pieces would wait for each.
    """
    written = 0
    try:
        with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT_SECONDS, timeout)) as response:
            if not response.ok:
                raise RecordingDownloadError(
                    f"recording download answered {response.status_code}",
                    status=response.status_code,
                )
            if check_length is not None:
                check_length(_declared_length(response))
            while piece := response.raw.read1(DOWNLOAD_PIECE_BYTES, decode_content=True):
                destination.write(piece)
                written += len(piece)
                if max_bytes is not None and written > max_bytes:
                    raise DownloadRefused(f"the recording is over {max_bytes} bytes")
                if deadline is not None and time.monotonic() > deadline:
                    raise RecordingDownloadError(
                        f"the recording download passed its deadline ({written} bytes)"
                    )
    except (requests.RequestException, urllib3.exceptions.HTTPError) as error:
        raise RecordingDownloadError(f"recording download failed: {type(error).__name__}") from None
    return written


def _declared_length(response):
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None
