"""Finished recordings fetched to local disk, bounded in size, time and place.

Every download goes to one directory, so that the files a killed worker left behind are
found and removed when a worker starts. A download is refused before its body is read when
it declares more than RECORDING_MAX_BYTES or more than the disk has free, stopped when it
grows past that size, and given up at RECORDING_DOWNLOAD_DEADLINE_SECONDS whatever its
pace, so one stuck source holds a worker for a bounded time and the job is retried later.
"""

import contextlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..clock import unix_now
from .storage import DownloadRefused, download

log = logging.getLogger(__name__)

DIRECTORY_NAME = "livesessions-recordings"
FREE_SPACE_MARGIN_BYTES = 256 * 1024 * 1024  # left free for everything else on the disk


class NotEnoughDiskError(Exception):
    """The disk can't hold a download now (retried later, when there may be room)."""


class Downloads:
    def __init__(
        self,
        directory: str | None = None,
        *,
        max_bytes: int,
        deadline_seconds: float,
        read_timeout: float,
    ):
        self.directory = Path(directory or Path(tempfile.gettempdir()) / DIRECTORY_NAME)
        self.max_bytes = max_bytes
        self.deadline_seconds = deadline_seconds
        self.read_timeout = read_timeout
        self.disk_free = lambda directory: shutil.disk_usage(directory).free  # tests set theirs

    def remove_stale(self, older_than_seconds: float) -> list[str]:
        """Delete the downloads nobody has written for `older_than_seconds` (a live download
        writes all the time; a killed worker's file stops changing); return their names."""
        self.directory.mkdir(parents=True, exist_ok=True)
        limit = unix_now() - older_than_seconds
        removed = []
        for path in self.directory.glob("recording-*"):
            with contextlib.suppress(FileNotFoundError):  # another worker removed it first
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed.append(path.name)
        if removed:
            log.warning("removed %d download(s) left by stopped workers", len(removed))
        return removed

    @contextlib.contextmanager
    def fetched(self, url: str):
        """Download `url` to a temporary file; yield (path, size); remove the file after."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            prefix="recording-", suffix=".mp4", dir=self.directory, delete=False
        ) as destination:
            path = destination.name
            try:
                size = download(
                    url,
                    destination,
                    self.read_timeout,
                    max_bytes=self.max_bytes,
                    deadline=time.monotonic() + self.deadline_seconds,
                    check_length=self._check_length,
                )
            except BaseException:
                destination.close()
                os.remove(path)
                raise
        try:
            yield path, size
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def _check_length(self, declared: int | None) -> None:
        """Refuse what can't fit, before reading the body."""
        if declared is None:
            return
        if declared > self.max_bytes:
            raise DownloadRefused(
                f"the recording declares {declared} bytes, over RECORDING_MAX_BYTES "
                f"({self.max_bytes})"
            )
        free = self.disk_free(self.directory) - FREE_SPACE_MARGIN_BYTES
        if declared > free:
            raise NotEnoughDiskError(
                f"not enough free disk for {declared} bytes ({max(free, 0)} free)"
            )
