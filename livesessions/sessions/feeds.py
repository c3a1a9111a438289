"""The per-student calendar feed: no token, a key in its URL instead (see feed_keys)."""

from flask import Blueprint, request

from ..errors import CALENDAR_NOT_FOUND, NotFound
from ..extensions import services
from ..openapi import Note, documented
from ..schemas import CalendarKeySchema
from .ical import CALENDAR_HEADERS

bp = Blueprint("feeds", __name__, url_prefix="/sessions")


@bp.get("/student/<student_id>/calendar.ics")
@documented(
    "A student's sessions as an iCalendar feed",
    response="text/calendar",
    tag="calendar",
    query=CalendarKeySchema,
    query_checked=False,
    errors={
        404: (
            CALENDAR_NOT_FOUND,
            Note("(a missing or wrong key, or CALENDAR_FEED_SECRET unset, whoever the student)"),
        )
    },
)
def student_calendar(student_id):
    """Every session the student is admitted to (not deleted; cancelled ones as CANCELLED)
    as an RFC 5545 calendar, each event's URL the platform's join page (JOIN_PAGE_URL),
    never the room's. Subscribe to the URL `flask --app wsgi calendar link` prints."""
    feeds = services().calendar_feeds
    if not feeds.key_matches(student_id, request.args.get("key")):
        raise NotFound(CALENDAR_NOT_FOUND)
    feed = services().session_service.student_calendar(student_id, feeds.join_page_url)
    return feed, 200, CALENDAR_HEADERS
