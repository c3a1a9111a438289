"""The session and participant events, emitted once the services published the stored
change to the hub: `session.created|updated|cancelled|started|ended`,
`participant.added|removed`. Each kind is emitted here only; a failure is logged and never
fails the change."""

import logging

from ..events import (
    EventHub,
    ParticipantAdded,
    ParticipantRemoved,
    SessionCreated,
    SessionDeleted,
    SessionsEnded,
    SessionStatusChanged,
    SessionUpdated,
)

log = logging.getLogger(__name__)

# A session's new status -> its event (a reopened session, `scheduled` again, is updated).
STATUS_EVENTS = {
    "live": "session.started",
    "ended": "session.ended",
    "cancelled": "session.cancelled",
    "scheduled": "session.updated",
}


class SessionEvents:
    """Turn stored changes into events: a session as GET /sessions/:id shows it (`present`),
    a participant as its session's id and the student's id."""

    def __init__(self, emitter, present, find):
        self.emitter = emitter  # a WebhookEmitter: it never raises (it logs a failure)
        self.present = present  # a session document -> the API's JSON
        self.find = find  # a session id -> its document (the sweep knows only ids)

    def subscribe(self, hub: EventHub) -> None:
        """Turn the sessions' domain events into their outbound events."""
        hub.subscribe(SessionCreated, lambda e: self.session("session.created", e.session))
        hub.subscribe(SessionUpdated, lambda e: self.session("session.updated", e.session))
        hub.subscribe(SessionStatusChanged, lambda e: self.status(e.session))
        hub.subscribe(SessionDeleted, lambda e: self.deleted(e.before, e.session))
        hub.subscribe(SessionsEnded, lambda e: self.ended(e.session_ids))
        hub.subscribe(
            ParticipantAdded,
            lambda e: self.participant("participant.added", e.session, e.student_id),
        )
        hub.subscribe(
            ParticipantRemoved,
            lambda e: self.participant("participant.removed", e.session, e.student_id),
        )

    def emit(self, kind: str, data) -> None:
        self.emitter.emit(kind, data)

    def session(self, kind: str, doc: dict) -> None:
        """Emit `kind` with the session (nothing for None: no change)."""
        if doc is not None:
            self.emit(kind, lambda: self.present(doc))  # shown only if someone wants it

    def status(self, doc: dict) -> None:
        """The session's status changed to the one it has now."""
        if doc is not None:
            self.session(STATUS_EVENTS[doc["status"]], doc)

    def deleted(self, before: dict, deleted: dict) -> None:
        """A session was deleted (it reads cancelled): cancelled, unless it was already."""
        if before.get("status") != "cancelled":
            self.session("session.cancelled", deleted)

    def ended(self, session_ids) -> None:
        """The sweep ended these sessions."""
        for session_id in session_ids:
            try:
                doc = self.find(session_id)
            except Exception:
                log.exception("webhook event session.ended of %s not emitted", session_id)
                continue
            self.session("session.ended", doc)

    def participant(self, kind: str, doc: dict, student_id: str) -> None:
        self.emit(kind, {"sessionId": doc["_id"], "studentId": student_id})
