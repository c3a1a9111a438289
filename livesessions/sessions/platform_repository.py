"""The platform's own collections, shared with the Node services: `courses` and `users`."""

# field of a session -> (collection, the one field Mongoose's populate selected)
POPULATE = {
    "course": ("courses", "title"),
    "instructor": ("users", "name"),
}
POPULATED_LABEL = {field: selected for field, (_, selected) in POPULATE.items()}


class PlatformStore:
    """Reads courses and users to populate sessions; writes them only for demo data."""

    def __init__(self, database):
        self.database = database

    def populate(self, docs: list[dict], *fields: str) -> list[dict]:
        """Replace ids in `fields` by `{_id, title|name}` (or None), one `$in` per collection."""
        for field in fields:
            collection, selected = POPULATE[field]
            ids = list({doc[field] for doc in docs if doc.get(field) is not None})
            found = {}
            if ids:
                cursor = self.database[collection].find({"_id": {"$in": ids}}, {selected: 1})
                # Mongoose's populate output, `_id` first whatever order the server used.
                found = {
                    ref["_id"]: {"_id": ref["_id"], selected: ref[selected]}
                    if selected in ref
                    else {"_id": ref["_id"]}
                    for ref in cursor
                }
            for doc in docs:
                doc[field] = found.get(doc.get(field))
        return docs

    def upsert(self, collection: str, docs: list[dict]) -> None:
        """Insert or replace `docs` by `_id` in `courses` or `users` (demo data)."""
        for doc in docs:
            self.database[collection].replace_one({"_id": doc["_id"]}, doc, upsert=True)
