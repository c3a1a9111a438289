"""Counting the database round trips a request makes (behind the `queries` fixture)."""


class CountingCollection:
    """Wraps a collection and records each method called on it: one entry per round trip."""

    def __init__(self, collection, log):
        self._collection = collection
        self._log = log

    def __getattr__(self, name):
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self._log.append((self._collection.name, name))
            return attr(*args, **kwargs)

        return call
