"""The Daily sandbox itself: its state, its server, and the URL map to every section."""

import base64
import inspect
import json
import secrets
import threading
import time
import uuid
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from ..serving import Served
from . import calls, domain, recordings, rooms, tokens, webhooks
from .calls import Calls
from .common import error
from .domain import Domain
from .limits import RateLimits, tidy
from .recordings import Recordings
from .rooms import Rooms
from .tokens import MeetingTokens
from .webhooks import Webhooks

API = "/v1/"
METHODS = ("GET", "HEAD", "POST", "DELETE")  # the others are answered 501, by http.server


class _Part(BaseConverter):
    """One path segment, as the sandbox has always split paths: anything but `/`, even
    nothing (a room or id that does not exist is the endpoint's 404, not the router's)."""

    regex = "[^/]*"
    part_isolating = True


URLS = Map(
    [
        *domain.RULES,
        *rooms.RULES,
        *recordings.RULES,
        *tokens.RULES,
        *calls.RULES,
        *webhooks.RULES,
    ],
    converters={"part": _Part},
    # Paths reach the map already tidied the old way (see `_answer`): never redirect them.
    merge_slashes=False,
    strict_slashes=False,
)


class _Handler(WSGIRequestHandler):
    """Werkzeug's request handler, answering as the sandbox's hand-written one did."""

    server_version = "daily-sandbox"  # the Server header: `daily-sandbox Python/3.x.y`
    protocol_version = "HTTP/1.0"  # the old status line; Werkzeug closes connections anyway

    def log(self, *args):
        # Quiet like the old handler: no request lines, nor http.server's own 501s. The app's
        # exceptions still reach stderr, through the server's log.
        pass

    def __getattr__(self, name):
        # Werkzeug hands every method to the app. Without a `do_PUT`, http.server answers PUT
        # (and any method but METHODS) with its own 501 page, as before.
        if name.startswith("do_") and name[3:] not in METHODS:
            raise AttributeError(name)
        return super().__getattr__(name)


class _BindError(Exception):
    """Carries a bind error past Werkzeug, which would print it and `sys.exit(1)`."""


class _Server(ThreadedWSGIServer):
    request_queue_size = 128  # load tests open many connections at once: queue them all
    daemon_threads = True  # a request in flight never holds up stop() or the process's exit

    def server_bind(self):
        try:
            super().server_bind()
        except OSError as bind_error:
            raise _BindError from bind_error


class DailySandbox(Served, Domain, RateLimits, Rooms, Recordings, MeetingTokens, Calls, Webhooks):
    """Rooms, recordings, meeting tokens and webhooks kept in memory, served under `/v1` like
    api.daily.co.

    Room pages are at `/<name>` (`?t=<token>` for private rooms), recording downloads at
    `/recordings/<id>/download`, simulated calls at `/sandbox/rooms/<name>/join|leave`, and a
    recording started or stopped from the call's own UI at
    `/sandbox/rooms/<name>/recordings/start|stop`.
    Daily's rate limits apply under `/v1` (see `limits.RateLimits`; off with
    `rate_limits=False` or the attribute), shared with a neighbour on the same key at
    `neighbour_share` of each family's budget (the rate its longest window keeps up).
    Meeting tokens signed with the API key are accepted as on Daily (`GET /v1/` gives the
    domain id they carry).
    Webhook events go to the webhook configured with `POST /v1/webhooks` or, until there is
    one, to `webhook_url`, the way Daily sends them.
    """

    thread_name = "daily-sandbox"

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        api_key=None,
        webhook_url=None,
        webhook_secret=None,
        recording_bytes=1_000_000,
        ready_delay=0.2,
        clock=time.time,
        rate_limits=True,
        rate_clock=time.monotonic,
        domain_id=None,
        neighbour_share=0.0,
    ):
        # Unix seconds now, read wherever the sandbox needs the time (exp checks, links,
        # timestamps), so that a test can move one sandbox's clock without patching `time`.
        self.clock = clock
        self.api_key = api_key  # when set, requests must carry it, as with the real API
        self.domain_name = "sandbox"
        self.domain_id = domain_id or str(uuid.uuid4())  # what self-signed tokens carry as `d`
        self._init_rate_limits(rate_limits, rate_clock, neighbour_share)
        if webhook_secret is not None:
            base64.b64decode(webhook_secret, validate=True)  # fail now, not at each delivery
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.recording_bytes = recording_bytes
        self.ready_delay = ready_delay
        self.latency = 0.0  # seconds added to every API answer (to test slow calls)
        self.rate_limit_list = None  # N: the next N `GET /recordings` answer 429 (None/0: off)
        self.rooms = {}
        self.recordings = {}
        self.recording_start_calls = 0  # `POST /rooms/<name>/recordings/start` calls received
        self.meetings = {}  # room name -> the call in progress: meeting_id, start_ts, participants
        self.meeting_tokens = []  # the properties of every token issued, in order
        self.webhook = None  # the one webhook configured through `/v1/webhooks`, if any
        self.webhook_deliveries = []
        self.lock = threading.Lock()
        # Joins and leaves run one at a time, events included, so that they arrive in order.
        self._call_lock = threading.Lock()
        self._link_secret = secrets.token_bytes(32)  # signs download links, like S3 presigning
        self._token_secret = secrets.token_bytes(32)  # signs meeting tokens
        try:
            self.server = _Server(host, port, self._wsgi, handler=_Handler)
        except _BindError as bind_error:  # a port in use is an OSError, as with http.server
            raise bind_error.__cause__ from None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self):
        return f"{self.url}/v1"

    # -- dispatch ----------------------------------------------------------------------------------

    def route(self, method, path, body, query=None):
        """Dispatch one API call (`path` under `/v1`); return (status, JSON body)."""
        endpoint, values = _match("/v1" + tidy(path), method, api=True)  # `/v1//rooms/` too
        if endpoint is None:
            return 404, error("not-found", f"no route for {method} /v1{path}")
        return self._call(endpoint, values, query or {}, lambda: (body, None))

    @Request.application
    def _wsgi(self, request):
        answer = self._answer(request)
        response = answer if isinstance(answer, Response) else _json(*answer)
        response.headers["X-Sandbox"] = "daily"
        # http.server's reason phrase ("Not Found") in the status line, not Werkzeug's "NOT FOUND"
        response.status = f"{response.status_code} {HTTPStatus(response.status_code).phrase}"
        return response

    def _answer(self, request):
        """The answer to one request: a Response, or (status, JSON body)."""
        # The target as sent, not percent-decoded (the WSGI environ holds it as latin-1), so
        # that `/v1%2Frooms` stays a room page and names are echoed back as written.
        target = urlsplit(request.environ["RAW_URI"].encode("latin-1").decode())
        path, query = target.path, dict(parse_qsl(target.query))
        method = "GET" if request.method == "HEAD" else request.method  # the server drops the body
        if path.startswith(API) or path == API.rstrip("/"):  # `/v1` is the domain endpoint
            return self._api(request, method, path, query)
        name = path.strip("/")  # outside the API only the ends' slashes go
        endpoint, values = _match(f"/{name}", method, api=False)
        if endpoint is not None:
            return self._call(endpoint, values, query, lambda: _json_body(request))
        # Every other GET is a room page, as Daily serves rooms at `/<name>`.
        return self._page(name, query) if method == "GET" else (404, {})

    def _api(self, request, method, path, query):
        """`/v1`: the latency, then the key, then the rate limit, then the body, then the
        route (a call refused for its key is not counted against the limits)."""
        time.sleep(self.latency)
        expected = f"Bearer {self.api_key}" if self.api_key else None
        if expected and request.headers.get("Authorization") != expected:
            return 401, error("authentication-error", "bad API key")
        over_limit = self._over_limit(method, path[len("/v1") :])
        if over_limit is not None:
            return over_limit
        body, refusal = _json_body(request)
        if refusal is not None:
            return refusal
        return self.route(method, path[len("/v1") :], body, query)

    def _call(self, endpoint, values, query, read_body):
        """Call the endpoint's method with the path's values, and with `query` and `body` when
        its signature asks for them (the body is read only then)."""
        handler = getattr(self, endpoint)
        wanted = inspect.signature(handler).parameters
        if "query" in wanted:
            values["query"] = query
        if "body" in wanted:
            values["body"], refusal = read_body()
            if refusal is not None:
                return refusal
        return handler(**values)


def _match(path, method, api):
    """(endpoint, path values) of the rule for `path` and `method`, or (None, None)."""
    try:
        rule, values = URLS.bind("sandbox").match(path, method, return_rule=True)
    except (NotFound, MethodNotAllowed):  # a wrong method is no route either, as before
        return None, None
    if rule.rule.startswith(API) != api:  # `http://host//v1/rooms` is no way around the key
        return None, None
    return rule.endpoint, values


def _json_body(request):
    """(the JSON object sent, None), or (None, the 400 answer). No body at all is {}."""
    raw = request.get_data()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return None, (400, error("json-parsing-error", "body is not JSON"))
    if not isinstance(body, dict):
        return None, (400, error("invalid-request-error", "body must be an object"))
    return body, None


def _json(status, body, headers=None):
    return Response(json.dumps(body), status, headers, content_type="application/json")
