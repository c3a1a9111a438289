"""Where the rate limits keep their counters: in the service's own MongoDB, through its own
client, when it has a MongoDB server (shared by every process); else in memory.

The `limits` library runs the queries itself, on the collections named here.
"""

from limits.storage import MongoDBStorage
from pymongo import ASCENDING

WINDOWS = "rateLimitWindows"  # one document per key: the times of its recent hits
COUNTERS = "rateLimitCounters"  # unused by the moving window; named so it is not `counters`
COLLECTION = WINDOWS
# limits creates this index on first use only, and never again if the database was down
# then: made with the others at start-up too, so that old windows always expire.
INDEXES = [([("expireAt", ASCENDING)], {"expireAfterSeconds": 0})]
SCHEME = "livesessions+mongodb"  # flask-limiter takes a storage by URI scheme only


class ServiceDatabaseStorage(MongoDBStorage):
    """limits' MongoDB storage on the service's client: no second connection pool, the
    same timeouts, and nothing opened at garbage collection (limits 5.8's own `__del__`
    connects a storage that was never used, to close it)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri, client, **options):
        super().__init__(uri, **options)
        self._client = client

    def _init_mongo_client(self, uri, **options):
        return self._client

    def __del__(self):
        pass  # the client is the service's: it closes it


def rate_limit_storage(config, database) -> tuple[str, dict]:
    """(storage URI, options) for flask-limiter, following RATE_LIMIT_STORAGE."""
    if config["RATE_LIMIT_STORAGE"] == "memory" or database.embedded:
        return "memory://", {}  # the embedded store lives in one process anyway
    return f"{SCHEME}://", {
        "client": database.client,
        "database_name": database.db.name,
        "window_collection_name": WINDOWS,
        "counter_collection_name": COUNTERS,
    }
