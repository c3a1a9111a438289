"""Daily's documented rate limits, so that a client that does not pace itself gets the 429s
it would get from api.daily.co (one domain and key: one set of windows for the sandbox)."""

import re
from collections import Counter, deque

from .common import error

# family -> (requests, seconds): a sliding window over the arrival times of each family
RATE_LIMITS = {
    "standard": (100, 5),  # ~20 req/s: every endpoint not below
    "slow": (50, 30),  # ~2 req/s: DELETE /rooms/:name and the list GET /recordings
    "recording-start": (5, 5),  # ~1 req/s: POST /rooms/:name/recordings/start
}

_FAMILIES = [  # (method, tidied path under /v1) -> family; the rest are standard
    ("DELETE", re.compile(r"/rooms/[^/]*"), "slow"),
    ("GET", re.compile(r"/recordings"), "slow"),  # the list, not one recording or its link
    ("POST", re.compile(r"/rooms/[^/]*/recordings/start"), "recording-start"),
]


def tidy(path):
    """A path under `/v1` as the sandbox reads it: `//rooms/x/` is `/rooms/x`."""
    return "/" + "/".join(part for part in path.split("/") if part)


def family(method, path):
    """The rate-limit family (a key of RATE_LIMITS) of a call to `path` under `/v1`."""
    path = tidy(path)
    for family_method, pattern, name in _FAMILIES:
        if method == family_method and pattern.fullmatch(path):
            return name
    return "standard"


class RateLimits:
    """The rate-limits part of `DailySandbox`: `rate_limits` switches them (on, as Daily),
    `api_calls` and `rate_limited` count the calls checked and refused, by family.

    Only accepted calls enter a window: a refused one costs nothing, which is how Daily's
    sliding window counts, so a client that keeps retrying gets through as soon as its
    oldest accepted calls age out. While the limits are off, calls are counted in
    `api_calls` but enter no window, so that seeding data leaves the windows empty.
    The windows run on `self.rate_clock` (monotonic), not `self.clock`, which tests move
    for exp and nbf checks.
    """

    def _init_rate_limits(self, enabled, rate_clock):
        self.rate_limits = enabled
        self.rate_clock = rate_clock
        self.api_calls = Counter()
        self.rate_limited = Counter()
        self._windows = {name: deque() for name in RATE_LIMITS}

    def reset_rate_limits(self):
        """Empty every window (the counters stay)."""
        with self.lock:
            for window in self._windows.values():
                window.clear()

    def _over_limit(self, method, path):
        """Count a call to `path` under `/v1`; the 429 answer if it goes over its family's
        limit, else None (and the call enters the window)."""
        name = family(method, path)
        limit, seconds = RATE_LIMITS[name]
        with self.lock:
            self.api_calls[name] += 1
            if not self.rate_limits:
                return None
            now = self.rate_clock()
            window = self._windows[name]
            while window and window[0] <= now - seconds:
                window.popleft()
            if len(window) >= limit:
                self.rate_limited[name] += 1
                info = f"too many requests: at most {limit} {name} calls per {seconds} s"
                return 429, error("rate-limit-error", info)
            window.append(now)
        return None
