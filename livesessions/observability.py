"""Request ids, JSON logs, and security headers on every answer."""

import contextlib
import contextvars
import logging
import re
import time
import uuid

from flask import g, has_request_context, request
from werkzeug.exceptions import MethodNotAllowed

from .logformat import JsonLineFormatter, MaskCredentials
from .metrics import METHODS, REQUEST_SECONDS, REQUESTS, method_label, status_label

log = logging.getLogger("livesessions.requests")

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI's page needs its own scripts and styles (one inline bootstrap script).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'"
)

SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
]
API_HEADERS = [
    *SECURITY_HEADERS,
    ("Content-Security-Policy", JSON_CSP),
    ("Cache-Control", "no-store"),
]
DOCS_HEADERS = [*SECURITY_HEADERS, ("Content-Security-Policy", DOCS_CSP)]


class SecurityHeaders:
    """WSGI middleware adding the security headers to every answer, errors included.

    At this level they are appended to the header list as they are (Werkzeug's Headers
    would re-validate each one on every request); no view sets them. `hsts_seconds` adds
    Strict-Transport-Security (only for a service reached over https: browsers then refuse
    plain http to the host for that long); `docs` is whether /docs is served, and so
    needs its page's looser policy.
    """

    def __init__(self, wsgi_app, hsts_seconds=None, docs=True):
        self.wsgi_app = wsgi_app
        hsts = []
        if hsts_seconds is not None:
            hsts.append(("Strict-Transport-Security", f"max-age={hsts_seconds}; includeSubDomains"))
        self.api_headers = [*API_HEADERS, *hsts]
        self.docs_headers = [*DOCS_HEADERS, *hsts] if docs else self.api_headers

    def __call__(self, environ, start_response):
        docs = environ.get("PATH_INFO", "").startswith("/docs")
        extra = self.docs_headers if docs else self.api_headers

        def start(status, headers, exc_info=None):
            return start_response(status, headers + extra, exc_info)

        return self.wsgi_app(environ, start)


# The worker job being carried out in this thread (its Daily call lines included).
_JOB_ID = contextvars.ContextVar("job_id", default=None)


@contextlib.contextmanager
def job_context(job_id):
    """Stamp every record logged in the block with `job_id` (a recording's id, or room:...)."""
    token = _JOB_ID.set(job_id)
    try:
        yield
    finally:
        _JOB_ID.reset(token)


class RequestIdFilter(logging.Filter):
    """Stamp every record logged while serving a request with that request's id, and every
    record of a worker's job with the job's id."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        job_id = _JOB_ID.get()
        if job_id is not None and not hasattr(record, "job_id"):
            record.job_id = job_id
        return True


def log_handler(log_format, stream=None):
    """A handler writing JSON lines (or text) that carry the current request's id, and no
    credential of a URL (a calendar feed's key)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(MaskCredentials())
    if log_format == "json":
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    return handler


def configure_logging(config):
    """Send the package's logs to stderr at LOG_LEVEL, formatted as LOG_FORMAT says (both
    read from the settings, `config`)."""
    package_log = logging.getLogger("livesessions")
    package_log.setLevel(config["LOG_LEVEL"].upper())
    if package_log.handlers or logging.getLogger().handlers:
        return  # the host (pytest, an embedding app) has configured logging already
    package_log.addHandler(log_handler(config["LOG_FORMAT"]))


def register_request_hooks(app):
    """Request id in and out, one log line per request, security headers on every answer."""

    @app.before_request
    def start_request():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        g.started = time.perf_counter()
        if request.method not in METHODS:
            # FOO, TRACE...: routing's own answer (405 with `Allow` on a known path, else
            # 404) before any view runs, counted under method `other`. Not 501: OpenAPI
            # clients and checkers (schemathesis) expect 405 for a method a path lacks.
            raise request.routing_exception or MethodNotAllowed()

    app.wsgi_app = SecurityHeaders(
        app.wsgi_app, app.config["HSTS_SECONDS"], docs=app.config["DOCS_ENABLED"]
    )

    @app.after_request
    def finish_request(response):
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        if "started" in g:
            # closed sets only (the route's rule, not the path; a known method or "other"):
            # nothing a client sends makes a series of its own
            route = request.url_rule.rule if request.url_rule else "unmatched"
            method = method_label(request.method)
            REQUESTS.labels(route, method, status_label(response.status_code)).inc()
            REQUEST_SECONDS.labels(route, method).observe(time.perf_counter() - g.started)
            # a 5xx is the service failing: ERROR, so that it is seen (its cause is logged apart)
            (log.error if response.status_code >= 500 else log.info)(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.started) * 1000, 2),
                },
            )
        return response
