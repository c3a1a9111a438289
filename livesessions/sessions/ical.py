"""iCalendar (RFC 5545) feeds of sessions, for calendar apps to subscribe to."""

from icalendar import Calendar, Event

from ..clock import class_ends_at, utcnow

PRODUCT_ID = "-//livesessions//Live sessions feed//EN"
UID_DOMAIN = "livesessions"


def session_event(doc):
    """One VEVENT: its UID is the session's id, so every refresh updates the same event."""
    event = Event()
    changed = doc.get("updatedAt") or doc.get("createdAt") or utcnow()
    event.add("uid", f"{doc['_id']}@{UID_DOMAIN}")
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    if doc.get("createdAt"):
        event.add("created", doc["createdAt"])
    event.add("dtstart", doc["scheduledAt"])
    event.add("dtend", class_ends_at(doc))
    event.add("summary", doc["title"])
    if doc.get("description"):
        event.add("description", doc["description"])
    if doc.get("roomUrl"):
        event.add("url", doc["roomUrl"])
        event.add("location", doc["roomUrl"])  # what most calendar apps show as a link
    event.add("status", "CANCELLED" if doc["status"] == "cancelled" else "CONFIRMED")
    return event


def sessions_calendar(name, docs):
    """The iCalendar text (bytes, CRLF lines) of `docs`, titled `name`."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for doc in docs:
        calendar.add_component(session_event(doc))
    return calendar.to_ical()


def feed_name(label: str | None) -> str:
    """The calendar's title: after its course or instructor when known."""
    return f"Live sessions — {label}" if label else "Live sessions"
