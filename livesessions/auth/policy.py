"""AUTH_POLICY: who may call the endpoints the spec leaves open, and create sessions.

`compat` (the default) keeps the spec's rules: participants, status and recording
start/stop need no token, and a token sent to them changes nothing. `audit` answers the
same and reports every call made without a token, so that the platform can find its last
anonymous clients. `strict` requires a token there: a student may change only their own
seat (and only in a session whose room was made public: a private room admits whom its
instructor admits, whatever DAILY_ROOM_PRIVACY says today), the session's instructor or
an admin anything; creating a session needs an instructor or
admin role, and only an admin may create one for another instructor.
"""

from dataclasses import dataclass

from ..errors import (
    CREATE_FORBIDDEN,
    NOT_OWNER,
    OTHER_INSTRUCTOR_FORBIDDEN,
    PARTICIPANTS_FORBIDDEN,
    Forbidden,
    Unauthenticated,
)
from .tokens import Caller

POLICIES = ("compat", "audit", "strict")


@dataclass(frozen=True)
class AccessPolicy:
    mode: str = "compat"
    instructor_roles: frozenset[str] = frozenset({"instructor"})

    @classmethod
    def from_config(cls, config) -> "AccessPolicy":
        return cls(config["AUTH_POLICY"], frozenset(config["INSTRUCTOR_ROLES"]))

    @property
    def strict(self) -> bool:
        return self.mode == "strict"

    @property
    def audits(self) -> bool:
        return self.mode == "audit"

    def check_create(self, caller: Caller, instructor_id: str | None) -> None:
        """strict: an instructor (or admin) creates sessions, as their own instructor."""
        if not self.strict:
            return
        if not (caller.is_admin or caller.roles & self.instructor_roles):
            raise Forbidden(CREATE_FORBIDDEN)
        if instructor_id not in (None, caller.user_id) and not caller.is_admin:
            raise Forbidden(OTHER_INSTRUCTOR_FORBIDDEN)

    def check_participant(self, caller: Caller | None, doc, student_id: str) -> None:
        """strict: the student themselves, or the session's instructor or an admin."""
        if not self.strict:
            return
        caller = self._known(caller)
        itself = room_privacy(doc) == "public" and caller.user_id == student_id
        if not (itself or caller.owns(doc)):
            raise Forbidden(PARTICIPANTS_FORBIDDEN)

    def check_owner(self, caller: Caller | None, doc, message: str = NOT_OWNER) -> None:
        """strict: the session's instructor or an admin."""
        if self.strict:
            self._known(caller).require_owner(doc, message)

    def hides_class_details_from(self, caller: Caller | None) -> bool:
        """strict: anonymous readers get neither a recording URL (it would give the bytes
        away) nor the participants (who is enrolled where is what the students' calendar
        keys protect)."""
        return self.strict and caller is None

    @staticmethod
    def _known(caller):
        if caller is None:  # the view asks for a token in strict: this is a safety net
            raise Unauthenticated()
        return caller


# The platform's own receivers (outbound webhooks): they see sessions as an admin does.
PLATFORM = Caller(user_id=None, name="platform", is_admin=True)


def may_list_recordings(caller: Caller | None, session) -> bool:
    """Whether `caller` may list the session's recordings, and so read a signed URL of one
    wherever the session is shown: its instructor, an admin, or a student admitted to it
    (`session` as stored: ids, not populated); never an anonymous reader."""
    if caller is None:
        return False
    return caller.owns(session) or caller.user_id in (session.get("participants") or [])


def room_privacy(doc) -> str:
    """The privacy the session's room was created with (`roomPrivacy`). A session stored
    before it was kept (by this service, or the Node one) reads as `private`: whether its
    room was private is not known, and reading it as public would let any student admit
    themselves to a room that may admit only whom its instructor admits."""
    return "public" if doc.get("roomPrivacy") == "public" else "private"
