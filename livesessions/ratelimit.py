"""Rate limits (flask-limiter): every request falls in one class, limited by its own key.

- reads (GET, HEAD): per user with a valid token, else per client address, RATE_LIMIT_READS;
- admissions (a participant added or removed), with a token or without: per student and
  class, RATE_LIMIT_STUDENT_ADMISSIONS, and per class, RATE_LIMIT_CLASS_ADMISSIONS; never
  per address or user, so that a class filling at its start from one address (a PaaS
  router, a campus NAT, a server-side frontend) is admitted whole;
- other writes with a valid token: per user, RATE_LIMIT_USER_WRITES; a write that creates
  several rooms (a series) counts once per room, and those rooms also count against
  SERIES_ROOMS_PER_HOUR, per user, so one token can't spend Daily's quota;
- writes without one: per client address, RATE_LIMIT_ANONYMOUS_WRITES, and per class they
  change (its id, room name or recording id), RATE_LIMIT_SESSION_WRITES, so that many
  addresses together can't flood one class either;
- webhook posts that fail their signature check: per client, RATE_LIMIT_UNSIGNED_WEBHOOKS;
- unlimited: the probes, signed webhooks, and CORS preflights.

Counters live in MongoDB when the service uses a MongoDB server (shared by every process),
in memory with the embedded store (per process). A limit's window is a moving window:
no burst of twice the limit across a window's edge.
"""

import functools
import logging
import math
from dataclasses import dataclass

from flask import current_app, g, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from limits import parse_many

from .auth.tokens import optional_caller
from .clock import unix_now
from .errors import TOO_MANY_REQUESTS, error_response
from .extensions import SERVICES_KEY
from .ratelimit_storage import rate_limit_storage
from .schemas.requests import MAX_OCCURRENCES, MAX_PARTICIPANTS

log = logging.getLogger(__name__)

READ_METHODS = ("GET", "HEAD")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# The request fields that name the class a write changes when its path doesn't.
TARGET_FIELDS = ("roomName", "recordingId")
EXEMPT = "exempt"
WEBHOOK = "webhook"
ADMISSION = "admission"


def unlimited(view):
    """Mark a view as never rate limited (the probes: a limited probe restarts the pod)."""
    view.rate_limit_class = EXEMPT
    return view


def admission(view):
    """Mark a view that admits a student to a class or frees its seat: counted per student
    and class, and per class (see the module's docstring)."""
    view.rate_limit_class = ADMISSION
    return view


def webhook(verified):
    """Mark a view as a webhook receiver: a delivery that `verified()` accepts is never
    limited (the sender is who it says); the others are, per client."""

    def decorate(view):
        view.rate_limit_class = WEBHOOK
        view.rate_limit_verified = verified
        return view

    return decorate


def per_room(rooms):
    """Mark a view that creates `rooms()` Daily rooms (worked out from the request before
    the view runs; 1 for a request it will refuse): a write that counts as that many
    against RATE_LIMIT_USER_WRITES, and as that many rooms against SERIES_ROOMS_PER_HOUR."""

    def decorate(view):
        view.rate_limit_rooms = rooms
        return view

    return decorate


def once_per_request(compute):
    """`compute()` worked out once per request and kept on `g`: each limit asks."""
    name = f"rate_limit_{compute.__name__}"

    @functools.wraps(compute)
    def kept():
        if name not in g:
            setattr(g, name, compute())
        return getattr(g, name)

    return kept


@once_per_request
def request_class() -> str:
    """`exempt`, `webhook`, `admission`, `read`, `user` or `anonymous`: which limits this
    request counts against."""
    view = current_app.view_functions.get(request.endpoint)
    marked = getattr(view, "rate_limit_class", None)
    if marked == EXEMPT or request.method not in READ_METHODS + WRITE_METHODS:
        return EXEMPT
    if marked == WEBHOOK:
        return EXEMPT if view.rate_limit_verified() else WEBHOOK
    if marked == ADMISSION and request.method in WRITE_METHODS:
        return ADMISSION
    if request.method in READ_METHODS:
        return "read"
    caller = optional_caller()
    if caller is not None:
        g.rate_limit_user = caller.user_id
        return "user"
    return "anonymous"


# The limits by setting name, as RateLimitSettings holds them.
LIMIT_SETTINGS = (
    "RATE_LIMIT_READS",
    "RATE_LIMIT_STUDENT_ADMISSIONS",
    "RATE_LIMIT_CLASS_ADMISSIONS",
    "RATE_LIMIT_ANONYMOUS_WRITES",
    "RATE_LIMIT_SESSION_WRITES",
    "RATE_LIMIT_USER_WRITES",
    "RATE_LIMIT_UNSIGNED_WEBHOOKS",
)


@dataclass(frozen=True)
class RateLimitSettings:
    """The limits (RATE_LIMIT_* by name, SERIES_ROOMS_PER_HOUR) and PROXY_HOPS, taken when
    the limiter is attached: flask-limiter asks for them on every request."""

    limits: dict
    series_rooms_per_hour: int
    proxy_hops: int = 0

    @classmethod
    def from_config(cls, config) -> "RateLimitSettings":
        return cls(
            {name: config[name] for name in LIMIT_SETTINGS},
            config["SERIES_ROOMS_PER_HOUR"],
            config["PROXY_HOPS"],
        )

    def client_address(self) -> str:
        """The client's address; behind proxies, the one PROXY_HOPS says to trust."""
        if "X-Forwarded-For" in request.headers and not self.proxy_hops:
            _warn_once_about_proxies()
        return request.remote_addr or "unknown"

    def reader(self) -> str:
        """A read's key: its user with a valid token (a server-side frontend reads for all
        its users from one address), else its client address."""
        caller = optional_caller()
        return f"user:{caller.user_id}" if caller is not None else self.client_address()


def _warn_once_about_proxies():
    if current_app.extensions.get("livesessions.proxy_warned"):
        return
    current_app.extensions["livesessions.proxy_warned"] = True
    log.warning(
        "requests carry X-Forwarded-For but PROXY_HOPS=0: every client behind the proxy "
        "shares one rate limit; set PROXY_HOPS to the number of proxies in front"
    )


def _rooms_view():
    """The rooms function of the view a request goes to, if it is marked `per_room`."""
    view = current_app.view_functions.get(request.endpoint)
    return getattr(view, "rate_limit_rooms", None)


@once_per_request
def write_cost() -> int:
    """How many writes (and rooms) this request counts as: 1, or a series' occurrences."""
    rooms = _rooms_view()
    return max(1, rooms()) if rooms else 1


@once_per_request
def write_target() -> str | None:
    """The class an anonymous write changes: the session in its path, else the room name
    or recording id in its body."""
    session_id = (request.view_args or {}).get("session_id")
    if session_id:
        return f"session:{session_id}"
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        for field in TARGET_FIELDS:
            value = body.get(field)
            if isinstance(value, str) and value:
                return f"{field}:{value[:200]}"
    return None


@once_per_request
def admitted_student() -> str:
    """The student an admission is about: the path's, else the body's `studentId`."""
    student = (request.view_args or {}).get("student_id")
    if student is None:
        body = request.get_json(silent=True)
        student = body.get("studentId") if isinstance(body, dict) else None
    return str(student)[:200]


def _admission_class() -> str:
    return f"session:{str((request.view_args or {}).get('session_id'))[:200]}"


def _limit(settings, setting, scope, key_function, counts, cost=1):
    return ApplicationLimit(
        lambda: settings.limits[setting],
        key_function=key_function,
        scope=scope,
        exempt_when=lambda: not counts(),
        cost=cost,
    )


def _limits(settings):
    client_address = settings.client_address
    return [
        _limit(
            settings,
            "RATE_LIMIT_READS",
            "reads",
            settings.reader,
            lambda: request_class() == "read",
        ),
        _limit(
            settings,
            "RATE_LIMIT_STUDENT_ADMISSIONS",
            "student-admissions",
            lambda: f"{_admission_class()}:student:{admitted_student()}",
            lambda: request_class() == ADMISSION,
        ),
        _limit(
            settings,
            "RATE_LIMIT_CLASS_ADMISSIONS",
            "class-admissions",
            _admission_class,
            lambda: request_class() == ADMISSION,
        ),
        _limit(
            settings,
            "RATE_LIMIT_ANONYMOUS_WRITES",
            "anonymous-writes",
            client_address,
            lambda: request_class() == "anonymous",
        ),
        _limit(
            settings,
            "RATE_LIMIT_SESSION_WRITES",
            "session-writes",
            lambda: write_target() or "",
            lambda: request_class() == "anonymous" and write_target() is not None,
        ),
        _limit(
            settings,
            "RATE_LIMIT_USER_WRITES",
            "user-writes",
            lambda: f"user:{g.rate_limit_user}",
            lambda: request_class() == "user",
            cost=write_cost,
        ),
        ApplicationLimit(
            lambda: f"{settings.series_rooms_per_hour}/hour",
            key_function=lambda: f"user:{g.rate_limit_user}",
            scope="series-rooms",
            exempt_when=lambda: not (request_class() == "user" and _rooms_view()),
            cost=write_cost,
        ),
        _limit(
            settings,
            "RATE_LIMIT_UNSIGNED_WEBHOOKS",
            "unsigned-webhooks",
            client_address,
            lambda: request_class() == WEBHOOK,
        ),
    ]


def init_rate_limits(app) -> Limiter:
    """Attach the limits to `app`, after its services (their database keeps the counters)
    and its request hooks (a refusal still gets its request id and log line)."""
    database = app.extensions[SERVICES_KEY].database
    storage_uri, storage_options = rate_limit_storage(app.config, database)
    settings = RateLimitSettings.from_config(app.config)
    limiter = Limiter(
        settings.client_address,
        app=app,
        application_limits=_limits(settings),
        strategy="moving-window",
        storage_uri=storage_uri,
        storage_options=storage_options,
        key_prefix="livesessions",
        # the storage (MongoDB) failing must not fail requests: count in memory meanwhile
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        headers_enabled=False,  # the Node service sent no X-RateLimit-* headers
        enabled=app.config["RATE_LIMITS_ENABLED"],
    )

    app.extensions["livesessions.limiter"] = limiter
    if limiter.enabled:
        _warn_about_series(settings)

    @app.errorhandler(RateLimitExceeded)
    def too_many_requests(error):
        response = error_response(TOO_MANY_REQUESTS, 429)
        response.headers["Retry-After"] = str(_retry_after(limiter, error))
        return response

    return limiter


def _warn_about_series(settings) -> None:
    """A series counts once per occurrence: a limit smaller than the longest series refuses
    such a series even from a user who did nothing else (an old `10/second`, say). A class
    limit smaller than the biggest class refuses part of it filling at its start."""
    limits = settings.limits
    least = {name: min(r.amount for r in parse_many(limits[name])) for name in RATES_TO_CHECK}
    rooms = ("SERIES_ROOMS_PER_HOUR", settings.series_rooms_per_hour)
    for name, most in (*least.items(), rooms):
        largest, message = RATES_TO_CHECK.get(name, RATES_TO_CHECK["RATE_LIMIT_USER_WRITES"])
        if most < largest:
            log.warning(message, name, most, largest)


RATES_TO_CHECK = {  # the largest request (or class) each must admit in its smallest window
    "RATE_LIMIT_USER_WRITES": (
        MAX_OCCURRENCES,
        "%s admits no series of more than %d occurrences (a series counts once per "
        "occurrence, and may have %d)",
    ),
    "RATE_LIMIT_CLASS_ADMISSIONS": (
        MAX_PARTICIPANTS,
        "%s admits no more than %d students of one class at once (a class may have %d "
        "seats, all taken at its start)",
    ),
}


def _retry_after(limiter, error) -> int:
    """Whole seconds until the breached limit lets one more request through."""
    try:
        wait = limiter.current_limit.window.reset_time - unix_now()
    except Exception:  # the storage failed between the check and now: a whole window
        wait = error.limit.limit.get_expiry()
    return max(1, math.ceil(wait))
