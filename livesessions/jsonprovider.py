"""Flask's JSON through orjson: several times faster on the large session lists."""

import orjson
from flask.json.provider import DefaultJSONProvider


class OrjsonProvider(DefaultJSONProvider):
    """Keeps key order (never sorts), compact output; the stdlib takes what orjson can't
    (integers beyond 64 bits, which only a client's own data can contain)."""

    sort_keys = False

    def _encode(self, obj):
        try:
            return orjson.dumps(obj, default=self.default)
        except TypeError:
            return super().dumps(obj).encode()

    def dumps(self, obj, **kwargs):
        return self._encode(obj).decode()

    def loads(self, s, **kwargs):
        return orjson.loads(s)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self._encode(obj), mimetype=self.mimetype)
