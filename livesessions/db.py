"""The MongoDB client: a real server through pymongo, or the embedded mongomock store."""

import threading
import uuid
from urllib.parse import urlsplit

import pymongo

from .config import ConfigError

EMBEDDED_SCHEME = "mongomock://"
EMBEDDED_NEEDS_DEV_INSTALL = (
    "MONGODB_URI is the embedded development store (mongomock://), which comes with the "
    "development install only (pip install -r requirements-dev.txt, or .[dev]): point "
    "MONGODB_URI at a MongoDB"
)


def new_id() -> str:
    """A new document id: a UUID v4, as a string."""
    return str(uuid.uuid4())


class LockedCursor:
    """A cursor of the embedded store, read under the store's lock (mongomock computes
    results lazily, as they are iterated)."""

    def __init__(self, cursor, lock):
        self._cursor = cursor
        self._lock = lock

    def sort(self, *args, **kwargs):
        return LockedCursor(self._cursor.sort(*args, **kwargs), self._lock)

    def skip(self, count):
        return LockedCursor(self._cursor.skip(count), self._lock)

    def limit(self, count):
        return LockedCursor(self._cursor.limit(count), self._lock)

    def __iter__(self):
        with self._lock:
            return iter(list(self._cursor))


class LockedCollection:
    """A collection of the embedded store whose every operation holds one process-wide lock.

    A real MongoDB applies each operation atomically. mongomock does not (its updates read
    and write in separate steps), so when it is in use each call, and the reading of each
    cursor, is serialized here, once for every store.
    """

    def __init__(self, collection, lock):
        self._collection = collection
        self._lock = lock

    @property
    def name(self):
        return self._collection.name

    def __getattr__(self, name):
        method = getattr(self._collection, name)

        def locked(*args, **kwargs):
            with self._lock:
                result = method(*args, **kwargs)
            if name in ("find", "aggregate"):
                return LockedCursor(result, self._lock)
            return result

        return locked


class Database:
    """The service's database handle; `database[name]` is a collection ready to use."""

    def __init__(self, client, name, embedded):
        self.client = client
        self.db = client[name]
        self.embedded = embedded
        self._lock = threading.Lock() if embedded else None

    def __getitem__(self, collection):
        if self._lock is None:
            return self.db[collection]
        return LockedCollection(self.db[collection], self._lock)

    def ping(self):
        self.client.admin.command("ping")

    def close(self):
        self.client.close()


def connect(uri: str, timeout_ms: int = 5000) -> Database:
    """Open a client for `uri`: a real MongoDB, or the embedded store for `mongomock://`."""
    if uri.startswith(EMBEDDED_SCHEME):
        try:
            import mongomock  # the development install's (requirements-dev.txt), not production's
        except ImportError:
            raise ConfigError(EMBEDDED_NEEDS_DEV_INSTALL) from None

        name = urlsplit(uri).path.lstrip("/") or "livesessions"
        return Database(mongomock.MongoClient(tz_aware=True), name, embedded=True)

    # connect=False: the client connects on first use, after gunicorn has forked.
    client = pymongo.MongoClient(
        uri,
        tz_aware=True,
        connect=False,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=timeout_ms,
    )
    name = pymongo.uri_parser.parse_uri(uri).get("database") or "livesessions"
    return Database(client, name, embedded=False)
