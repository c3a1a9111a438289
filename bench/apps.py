"""The two apps the HTTP benchmark compares, and the data both serve. BENCHMARK ONLY.

- `service_app()`: the real service, its store swapped for `MemoryStore`, an in-process
  double that returns the seeded documents without query work (so the figures are the
  service's own overhead: routing, auth, validation, population, serialization). With
  BENCH_MONGODB_URI set, the real store on that MongoDB is used instead.
- `bare_app()`: a bare Flask app that returns the same JSON bodies from memory: the limit
  for this stack.

Both are built per gunicorn worker from the same deterministic seed.
"""

import copy
import os
import threading
from datetime import UTC, datetime, timedelta

from flask import Flask, request

from livesessions import create_app
from livesessions.clock import utcnow
from livesessions.errors import CANNOT_CHANGE_STATUS, CANNOT_JOIN, SESSION_FULL, ApiError, NotFound
from livesessions.http import OrjsonProvider
from livesessions.lifecycle import is_open
from livesessions.sessions.repository import SessionStore
from livesessions.sessions.serialize import session_json

SESSIONS, COURSES, INSTRUCTORS = 1000, 20, 10
JWT_SECRET = "bench-secret-" + "z" * 52
DAILY_KEY = "bench-daily-key-" + "0123456789abcdef" * 3  # the Daily sandbox's, in http_bench
SEARCH = "Session 12"  # matches "Session 12", "Session 120".."Session 129": 11 sessions


def uid(kind, n):
    return f"{kind:08x}-0000-4000-8000-{n:012x}"


def seed(count=SESSIONS):
    """1,000 sessions (`count`) across 20 courses and 10 instructors, with the courses and
    users."""
    courses = [{"_id": uid(1, n), "title": f"Course {n}"} for n in range(COURSES)]
    users = [{"_id": uid(2, n), "name": f"Instructor {n}"} for n in range(INSTRUCTORS)]
    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    created = datetime(2026, 11, 1, tzinfo=UTC)
    sessions = []
    for n in range(count):
        sessions.append(
            {
                "_id": uid(3, n),
                "title": f"Session {n}",
                "description": f"Live class number {n} of the benchmark",
                "course": courses[n % COURSES]["_id"],
                "instructor": users[n % INSTRUCTORS]["_id"],
                "roomName": f"session-{n}-1795000000000",
                "roomUrl": f"https://bench.daily.co/session-{n}-1795000000000",
                "scheduledAt": start + timedelta(hours=n),
                "duration": 60,
                "status": "scheduled",
                "maxParticipants": 1000,
                "participants": [f"student-{k}" for k in range(n % 5)],
                "isRecorded": False,
                "recordingUrl": None,
                "recordingDuration": None,
                "createdAt": created,
                "updatedAt": created,
            }
        )
    return sessions, courses, users


class MemoryStore(SessionStore):
    """BENCHMARK-ONLY double of SessionStore (and of PlatformStore's populate): the seeded
    documents in dicts, no query work. tests/api/test_bench_store_double.py sends every
    request the benchmark times to it and to the real store: a method the service comes to
    call and this lacks shows there, not as 500s in the benchmark."""

    def __init__(self, database, sessions, courses, users):
        # No collection: every method the benchmark reaches is answered from memory.
        self.database, self.sessions = database, None
        self.docs = {doc["_id"]: doc for doc in sessions}
        self.ordered = sorted(sessions, key=lambda d: (d["scheduledAt"], d["_id"]))
        self.refs = {
            "course": {c["_id"]: c for c in courses},
            "instructor": {u["_id"]: u for u in users},
        }
        self.lock = threading.Lock()

    def get(self, session_id):
        doc = self.docs.get(session_id)
        if doc is None:
            raise NotFound()
        return dict(doc)

    def insert(self, doc):
        with self.lock:
            self.docs[doc["_id"]] = doc
        return doc

    def page(self, page, page_count, search="", **_):  # the benchmark uses no other filter
        docs = self.ordered
        if search:
            needle = search.lower()
            docs = [d for d in docs if needle in d["title"].lower()]
        start = (page - 1) * page_count
        return [dict(d) for d in docs[start : start + page_count]], len(docs)

    def by_field(self, field, value):
        return [dict(d) for d in self.ordered if d[field] == value]

    def populate(self, docs, *fields):
        for field in fields:
            refs = self.refs[field]
            for doc in docs:
                ref = refs.get(doc[field])
                doc[field] = None if ref is None else dict(ref)
        return docs

    def admit(self, session_id, student_id):
        """SessionStore.admit: (the session, whether the student was added)."""
        with self.lock:
            doc = self.docs.get(session_id)
            if doc is None:
                raise NotFound()
            if student_id in doc["participants"]:
                return dict(doc), False
            if not is_open(doc):
                raise ApiError(CANNOT_JOIN.format(status=doc["status"]))
            if len(doc["participants"]) >= doc["maxParticipants"]:
                raise ApiError(SESSION_FULL)
            doc["participants"] = [*doc["participants"], student_id]
            doc["updatedAt"] = utcnow()
            return dict(doc), True

    def change_status(self, session_id, status):
        """SessionStore.change_status, for the one change the benchmark makes: none."""
        doc = self.get(session_id)
        if doc["status"] == status:
            return doc, False
        raise ApiError(CANNOT_CHANGE_STATUS.format(current=doc["status"], new=status))


def service_app(sessions=SESSIONS):
    """The real service; the store is the double (of `sessions` sessions: fewer in its
    test) unless BENCH_MONGODB_URI is set."""
    real_mongo = os.environ.get("BENCH_MONGODB_URI")
    app = create_app(
        {
            "JWT_SECRET_KEY": JWT_SECRET,
            # INFO (the default) writes a JSON log line per request, as in production.
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
            "MONGODB_URI": real_mongo or "mongomock://localhost/bench",
            "DAILY_API_KEY": DAILY_KEY,
            "DAILY_API_URL": os.environ.get("BENCH_DAILY_API_URL", "http://127.0.0.1:9/v1"),
            # one client at thousands of requests a second: the service's own work is
            # measured, not its refusals (bench/rate_limits.py measures the limits)
            "RATE_LIMITS_ENABLED": os.environ.get("BENCH_RATE_LIMITS", "false"),
        }
    )
    if not real_mongo:
        services = app.extensions["livesessions"]
        store = MemoryStore(services.database, *seed(sessions))
        services.session_store = services.platform_store = store
        services.session_service.session_store = store
        services.session_service.platform_store = store
    return app


def bare_bodies() -> dict:
    """The bodies the bare apps answer with (bare Flask here, bare Express in
    bench/express/), computed once from the seed as the service would show them."""
    sessions, courses, users = seed()
    store = MemoryStore(None, sessions, courses, users)
    first = sessions[0]["_id"]
    one = session_json(store.populate([store.get(first)], "course", "instructor")[0])
    page_docs, total = store.page(1, 10)
    page = {
        "sessions": [session_json(d) for d in store.populate(page_docs, "course", "instructor")],
        "page": 1,
        "pageCount": 10,
        "totalItems": total,
        "totalPages": total // 10,
        "hasPrevPage": False,
        "hasNextPage": True,
        "prevPage": None,
        "nextPage": 2,
    }
    found, count = store.page(1, 10, SEARCH)
    search = dict(
        page,
        sessions=[session_json(d) for d in store.populate(found, "course", "instructor")],
        totalItems=count,
        totalPages=2,
    )
    course = [
        session_json(d)
        for d in store.populate(store.by_field("course", courses[0]["_id"]), "instructor")
    ]
    plain = session_json(sessions[0])
    return {"one": one, "page": page, "search": search, "course": course, "plain": plain}


def bare_app():
    """Bare Flask: the same bodies, precomputed, serialized by Flask on every request."""
    body = bare_bodies()
    app = Flask(__name__)
    app.json = OrjsonProvider(app)  # the service's JSON encoder: part of this stack's limit
    app.add_url_rule("/sessions/<sid>", "get", lambda sid: copy.copy(body["one"]))
    app.add_url_rule(
        "/sessions",
        "index",
        lambda: copy.copy(body["search"] if "search" in request.args else body["page"]),
    )
    app.add_url_rule("/sessions/course/<cid>", "course", lambda cid: list(body["course"]))
    plain = body["plain"]
    app.add_url_rule(
        "/sessions/<sid>/participants", "join", lambda sid: copy.copy(plain), methods=["POST"]
    )
    app.add_url_rule(
        "/sessions/<sid>/status", "status", lambda sid: copy.copy(plain), methods=["PATCH"]
    )
    app.add_url_rule("/sessions", "create", lambda: (copy.copy(plain), 201), methods=["POST"])
    return app
