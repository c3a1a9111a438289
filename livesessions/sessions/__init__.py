"""Live sessions: their API, series, the meeting events Daily sends, attendance, calendar
feeds and reports, and the one repository of the `livesessions` collection. Below: what
the features above it may use."""

from .attendance import summarize
from .documents import SessionDoc
from .repository import SessionStore

__all__ = ["SessionDoc", "SessionStore", "summarize"]
