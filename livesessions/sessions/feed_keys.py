"""The keys of the students' calendar feeds: HMAC-SHA256 of the student id with
CALENDAR_FEED_SECRET, in lowercase hex, so that a calendar app subscribes without a JWT."""

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def feed_key(secret: str, student_id: str) -> str:
    """The student's key: 64 lowercase hex digits."""
    return hmac.new(_utf8(secret), _utf8(student_id), hashlib.sha256).hexdigest()


def key_matches(secret: str | None, student_id: str, given: str | None) -> bool:
    """Whether `given` is the student's key (in constant time); never without a secret."""
    if not secret or not given:
        return False
    return hmac.compare_digest(_utf8(feed_key(secret, student_id)), _utf8(given))


def feed_path(secret: str, student_id: str) -> str:
    """The student's feed, its id percent-encoded as one path segment, with its key."""
    segment = quote(student_id, safe="")
    return f"/sessions/student/{segment}/calendar.ics?key={feed_key(secret, student_id)}"


@dataclass(frozen=True)
class CalendarFeeds:
    """The students' calendar feeds: their keys' secret (CALENDAR_FEED_SECRET; None: the
    feeds are off) and the join page their events link to (JOIN_PAGE_URL)."""

    secret: str | None = None
    join_page_url: str | None = None

    @classmethod
    def from_config(cls, config) -> "CalendarFeeds":
        return cls(config["CALENDAR_FEED_SECRET"], config["JOIN_PAGE_URL"])

    def key_matches(self, student_id: str, given: str | None) -> bool:
        return key_matches(self.secret, student_id, given)
