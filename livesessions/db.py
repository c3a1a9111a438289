"""MongoDB client creation and index management."""

import contextlib
import threading
from urllib.parse import urlsplit

import pymongo

EMBEDDED_SCHEME = "mongomock://"

# Default index names (`roomName_1`, ...) are the ones Mongoose creates, so an index the
# Node service already made is recognised instead of clashing under another name.
SESSION_INDEXES = [
    ([("roomName", pymongo.ASCENDING)], {"unique": True}),
    ([("scheduledAt", pymongo.ASCENDING), ("_id", pymongo.ASCENDING)], {}),
    # The list (not deleted, by schedule) and its count, without a collection scan.
    (
        [
            ("deletedAt", pymongo.ASCENDING),
            ("scheduledAt", pymongo.ASCENDING),
            ("_id", pymongo.ASCENDING),
        ],
        {},
    ),
    ([("course", pymongo.ASCENDING), ("scheduledAt", pymongo.ASCENDING)], {}),
    ([("instructor", pymongo.ASCENDING), ("scheduledAt", pymongo.ASCENDING)], {}),
    ([("status", pymongo.ASCENDING)], {}),
    # The list filtered by status, in schedule order; the automatic-status sweep.
    (
        [
            ("deletedAt", pymongo.ASCENDING),
            ("status", pymongo.ASCENDING),
            ("scheduledAt", pymongo.ASCENDING),
            ("_id", pymongo.ASCENDING),
        ],
        {},
    ),
]
RECORDING_INDEXES = [
    ([("dailyId", pymongo.ASCENDING)], {}),
    ([("session", pymongo.ASCENDING)], {}),
    ([("createdAt", pymongo.ASCENDING)], {}),  # the reconciler's recent recordings
]
ATTENDANCE_INDEXES = [
    ([("session", pymongo.ASCENDING), ("joinedAt", pymongo.ASCENDING)], {}),
]
JOB_INDEXES = [
    ([("status", pymongo.ASCENDING), ("runAt", pymongo.ASCENDING)], {}),
    ([("createdAt", pymongo.DESCENDING)], {}),
]


class Database:
    """The service's database handle plus the lock that makes the embedded store safe.

    A real MongoDB applies each operation atomically. The embedded mongomock store does
    not (its updates read and write in separate steps), so when it is in use every store
    operation holds one process-wide lock; with a real server `serialized()` is a no-op.
    """

    def __init__(self, client, name, embedded):
        self.client = client
        self.db = client[name]
        self.embedded = embedded
        self._lock = threading.RLock() if embedded else None

    def __getitem__(self, collection):
        return self.db[collection]

    def serialized(self):
        return self._lock if self._lock is not None else contextlib.nullcontext()

    def ping(self):
        self.client.admin.command("ping")

    def ensure_indexes(self):
        """Create the indexes the queries need; safe to call on every start."""
        collections = {
            "livesessions": SESSION_INDEXES,
            "recordings": RECORDING_INDEXES,
            "recording_jobs": JOB_INDEXES,
            "attendance": ATTENDANCE_INDEXES,
        }
        with self.serialized():
            for collection, indexes in collections.items():
                for keys, options in indexes:
                    self.db[collection].create_index(keys, **options)

    def close(self):
        self.client.close()


def connect(uri, timeout_ms=5000):
    """Open a client for `uri`: a real MongoDB, or the embedded store for `mongomock://`."""
    if uri.startswith(EMBEDDED_SCHEME):
        import mongomock  # development and test dependency only

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
