"""Rooms: Daily's `/rooms` create, get, update and delete."""

import re
import threading
import uuid

from werkzeug.routing import Rule

from .common import error, iso

ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}\Z")

RULES = [
    Rule("/v1/rooms", methods=["POST"], endpoint="create_room"),
    Rule("/v1/rooms/<part:name>", methods=["GET"], endpoint="get_room"),
    Rule("/v1/rooms/<part:name>", methods=["POST"], endpoint="update_room"),
    Rule("/v1/rooms/<part:name>", methods=["DELETE"], endpoint="delete_room"),
]


class Rooms:
    """The `/rooms` part of `DailySandbox` (rooms are kept in `self.rooms`, by name)."""

    def create_room(self, body):
        name = body.get("name") or uuid.uuid4().hex[:20]
        properties = body.get("properties") or {}
        if not isinstance(name, str) or not ROOM_NAME.match(name):
            return 400, error("invalid-request-error", f"{name!r} is not a valid room name")
        exp = properties.get("exp")
        if exp is not None and (not isinstance(exp, int | float) or exp < self.clock()):
            return 400, error("invalid-request-error", "exp must be a time in the future")
        with self.lock:
            if name in self.rooms:
                return 400, error("invalid-request-error", f"a room named {name} already exists")
            room = {
                "id": str(uuid.uuid4()),
                "name": name,
                "api_created": True,
                "privacy": body.get("privacy", "public"),
                "url": f"{self.url}/{name}",
                "created_at": iso(self.clock()),
                "config": dict(properties),
            }
            self.rooms[name] = room
        return 200, room

    def update_room(self, name, body):
        with self.lock:
            room = self.rooms.get(name)
            if room is None:
                return 404, error("not-found", f"room {name} not found")
            room["config"].update(body.get("properties") or {})
            if "privacy" in body:
                room["privacy"] = body["privacy"]
            return 200, room

    def get_room(self, name):
        with self.lock:
            room = self.rooms.get(name)
        if room is None:
            return 404, error("not-found", f"room {name} not found")
        return 200, room

    def delete_room(self, name):
        with self.lock:
            if self.rooms.pop(name, None) is None:
                return 404, error("not-found", f"room {name} not found")
            meeting = self.meetings.pop(name, None)
        if meeting is not None:  # deleting a room ejects everyone inside, as on Daily
            threading.Thread(
                target=self._end_meeting,
                args=(name, meeting),
                name="daily-sandbox-eject",
                daemon=True,
            ).start()
        return 200, {"deleted": True, "name": name}
