"""Small named documents the worker leaves for the web processes (e.g. the Daily webhook's
last known state, shown by /readyz), in the `service_state` collection."""

COLLECTION = "service_state"


class StateStore:
    def __init__(self, database):
        self.state = database[COLLECTION]

    def put(self, key: str, value: dict) -> None:
        self.state.replace_one({"_id": key}, {"_id": key, **value}, upsert=True)

    def get(self, key: str) -> dict | None:
        return self.state.find_one({"_id": key})

    def increment(self, key: str, name: str) -> None:
        """Add one to the count `name` of the document `key` (created at the first)."""
        self.state.update_one({"_id": key}, {"$inc": {f"counts.{name}": 1}}, upsert=True)
