"""What the domain refuses, named for what happened and carrying what a message needs.

The store and the lifecycle rules raise these; they know nothing of HTTP or of the
messages a client reads. `errors.client_error` words each for a client, in one place (the
app's error handler and the command line both use it).
"""


class DomainError(Exception):
    """An expected refusal of the domain, not a defect."""


class SessionNotFound(DomainError):
    """No such session, or a deleted one."""


class StudentNotFound(DomainError):
    """The student is not among the session's participants."""


class SessionFull(DomainError):
    """Every seat of the session is taken."""


class SessionNotJoinable(DomainError):
    """The session takes no participants in its `status` (ended, cancelled)."""

    def __init__(self, status: str):
        super().__init__(f"a session that is {status} takes no participants")
        self.status = status


class SessionNotChangeable(DomainError):
    """The session takes no changes in its `status` (ended, cancelled)."""

    def __init__(self, status: str):
        super().__init__(f"a session that is {status} takes no changes")
        self.status = status


class CapacityBelowParticipants(DomainError):
    """A capacity below the `taken` seats."""

    def __init__(self, taken: int):
        super().__init__(f"{taken} seats are taken")
        self.taken = taken


class TransitionRefused(DomainError):
    """The session can't go from status `current` to `new`."""

    def __init__(self, current: str, new: str):
        super().__init__(f"no transition from {current} to {new}")
        self.current = current
        self.new = new
