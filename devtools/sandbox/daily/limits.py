"""Daily's documented rate limits, read strictly (both numbers hold), so that a client that
does not pace itself gets the 429s it would get from api.daily.co (one domain and key:
one set of windows for the sandbox), and a neighbour on the same key can be played."""

import math
import re
from collections import Counter, deque

from .common import error

# family -> its limits, each (requests, seconds): sliding windows over the arrival times
RATE_LIMITS = {
    "standard": ((20, 1), (100, 5)),  # every endpoint not below
    "slow": ((2, 1), (50, 30)),  # DELETE /rooms/:name and the list GET /recordings
    "recording-start": ((1, 1), (5, 5)),  # POST /rooms/:name/recordings/start
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


def _full(window, now, name):
    """The first of the family's limits that one more call at `now` would break, or None."""
    for limit, seconds in RATE_LIMITS[name]:
        if sum(1 for arrival in window if arrival > now - seconds) >= limit:
            return limit, seconds
    return None


def neighbour_interval(name, share):
    """Seconds between the neighbour's calls of a family: `share` of the rate it can keep
    up, its slowest limit (the longest interval per call: 50 per 30 s for the slow family,
    not 2 a second), so that a neighbour at 25 % uses a quarter of the key's budget."""
    return max(seconds / limit for limit, seconds in RATE_LIMITS[name]) / share


class RateLimits:
    """The rate-limits part of `DailySandbox`: `rate_limits` switches them (on, as Daily),
    `api_calls` and `rate_limited` count the calls checked and refused, by family.

    Only accepted calls enter a window: a refused one costs nothing, which is how Daily's
    sliding window counts, so a client that keeps retrying gets through as soon as its
    oldest accepted calls age out. While the limits are off, calls are counted in
    `api_calls` but enter no window, so that seeding data leaves the windows empty.
    The windows run on `self.rate_clock` (monotonic), not `self.clock`, which tests move
    for exp and nbf checks.

    `neighbour_share` (0 to 1) plays another service on the same key: it calls each family
    steadily at that share of its rate, from when the limits are on, and its calls always
    take their place in the windows (`neighbour_calls` counts them). `retry_after`: send a
    `Retry-After` (whole seconds until the window frees) with each 429, which Daily
    documents nowhere (off by default). `accepted` and `refused`: (family, rate-clock time,
    path) of each call let through or answered 429 by the limits, in order.
    """

    def _init_rate_limits(self, enabled, rate_clock, neighbour_share=0.0):
        if not 0 <= neighbour_share < 1:
            raise ValueError("neighbour_share is a fraction, from 0 to under 1")
        self.rate_limits = enabled
        self.rate_clock = rate_clock
        self.neighbour_share = neighbour_share
        self.retry_after = False
        self.api_calls = Counter()
        self.rate_limited = Counter()
        self.neighbour_calls = Counter()
        self.accepted = []
        self.refused = []
        self._windows = {name: deque() for name in RATE_LIMITS}
        self._neighbour_next = {}

    def reset_rate_limits(self):
        """Empty every window (the counters stay); the neighbour starts again."""
        with self.lock:
            for window in self._windows.values():
                window.clear()
            self._neighbour_next.clear()

    def _over_limit(self, method, path):
        """Count a call to `path` under `/v1`; the 429 answer if it goes over one of its
        family's limits, else None (and the call enters the window)."""
        name = family(method, path)
        with self.lock:
            self.api_calls[name] += 1
            if not self.rate_limits:
                self._neighbour_next.clear()
                return None
            now = self.rate_clock()
            window = self._windows[name]
            self._neighbour_until(name, now)
            longest = max(seconds for _, seconds in RATE_LIMITS[name])
            while window and window[0] <= now - longest:
                window.popleft()
            full = _full(window, now, name)
            if full is not None:
                self.rate_limited[name] += 1
                self.refused.append((name, now, tidy(path)))
                return self._refusal(name, window, now, *full)
            window.append(now)
            self.accepted.append((name, now, tidy(path)))
        return None

    def _neighbour_until(self, name, now):
        """The neighbour's calls of the family due by `now`, in the windows whatever they
        hold: its share is taken first (it retries until Daily lets it in)."""
        if not self.neighbour_share:
            return
        window = self._windows[name]
        due = self._neighbour_next.setdefault(name, now)
        while due <= now:
            window.append(due)
            self.neighbour_calls[name] += 1
            due += neighbour_interval(name, self.neighbour_share)
        self._neighbour_next[name] = due

    def _refusal(self, name, window, now, limit, seconds):
        info = f"too many requests: at most {limit} {name} calls per {seconds} s"
        if not self.retry_after:
            return 429, error("rate-limit-error", info)
        frees = [arrival + seconds for arrival in window if arrival > now - seconds]
        wait = max(1, math.ceil(frees[-limit] - now)) if len(frees) >= limit else 1
        return 429, error("rate-limit-error", info), {"Retry-After": str(wait)}
