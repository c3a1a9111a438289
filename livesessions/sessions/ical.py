"""iCalendar (RFC 5545) feeds of sessions, for calendar apps to subscribe to."""

from collections.abc import Callable
from urllib.parse import quote

from icalendar import Calendar, Event

from ..clock import class_ends_at, utcnow
from ..config_checks import SESSION_ID_PLACEHOLDER

PRODUCT_ID = "-//livesessions//Live sessions feed//EN"
UID_DOMAIN = "livesessions"
CALENDAR_HEADERS = {"Content-Type": "text/calendar; charset=utf-8"}

Link = Callable[[dict], str | None]  # the URL an event links to, if any


def room_link(doc) -> str | None:
    """The session's Daily.co room (the course and instructor feeds)."""
    return doc.get("roomUrl")


def join_page_link(template: str | None) -> Link:
    """Each session's page on the platform, `template` with its id; no link without one
    (never the room: a private room refuses whoever has no meeting token)."""
    if not template:
        return lambda doc: None
    return lambda doc: template.replace(SESSION_ID_PLACEHOLDER, quote(str(doc["_id"]), safe=""))


def session_event(doc, link: Link = room_link):
    """One VEVENT: its UID is the session's id, so every refresh updates the same event;
    `link(doc)` its URL and LOCATION."""
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
    url = link(doc)
    if url:
        event.add("url", url)
        event.add("location", url)  # what most calendar apps show as a link
    event.add("status", "CANCELLED" if doc["status"] == "cancelled" else "CONFIRMED")
    return event


def sessions_calendar(name, docs, link: Link = room_link):
    """The iCalendar text (bytes, CRLF lines) of `docs`, titled `name`, each event linked
    to `link(doc)`."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    for doc in docs:
        calendar.add_component(session_event(doc, link))
    return calendar.to_ical()


def feed_name(label: str | None) -> str:
    """The calendar's title: after its course or instructor when known."""
    return f"Live sessions — {label}" if label else "Live sessions"
