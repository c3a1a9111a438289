"""A Cloudinary upload API stand-in on loopback. Development and tests only.

It answers the requests the real Cloudinary Python SDK sends (`upload`, and `upload_large` in
chunks) when pointed at it with `upload_prefix`, checks the signature with the SDK's own
rules, stores files on disk and serves them back at the `url`/`secure_url` it answers with.
"""

import hashlib
import hmac
import json
import os
import posixpath
import re
import shutil
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from cloudinary.utils import api_sign_request, random_public_id
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.utils import send_file
from werkzeug.wrappers import Request, Response

from .serving import Served

UPLOAD_PATH = re.compile(r"^/v1_1/([^/]+)/([^/]+)/upload$")
ASSET_PATH = re.compile(r"^/([^/]+)/([^/]+)/upload/(?:v\d+/)?(.+)\.[A-Za-z0-9]+$")
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MARKER = re.compile(rb"^LIVESESSIONS-SANDBOX-RECORDING duration=(\d+(?:\.\d+)?)\n")
# What Cloudinary leaves out of the string to sign; the SDK never sends the last two as fields.
UNSIGNED_FIELDS = {"file", "signature", "api_key", "resource_type", "cloud_name"}
STALE_AFTER = 3600  # seconds; Cloudinary rejects older timestamps as a "Stale request"
PIECE = 1024 * 1024


class _UploadError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args):  # keep test and dev output quiet; errors are still logged
        pass


class CloudinarySandbox(Served):
    """Uploads stored under `storage_dir`, served like Cloudinary's API and delivery URLs."""

    thread_name = "cloudinary-sandbox"

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        cloud_name="sandbox",
        api_key="sandbox-key",
        api_secret="sandbox-secret",
        storage_dir=None,
        min_chunk_bytes=5 * 1024 * 1024,
    ):
        self.cloud_name = cloud_name
        self.api_key = api_key
        self.api_secret = api_secret
        self.min_chunk_bytes = min_chunk_bytes
        self._own_storage = storage_dir is None
        self.storage_dir = Path(
            tempfile.mkdtemp(prefix="cloudinary-sandbox-") if storage_dir is None else storage_dir
        )
        for sub in ("assets", "parts"):
            (self.storage_dir / sub).mkdir(parents=True, exist_ok=True)
        self.uploads = []
        self.assets = {}
        self.lock = threading.Lock()
        self._chunked = {}  # upload id -> state of an unfinished chunked upload
        self._failures = []  # (status, message) answered by the next upload requests
        self.server = make_server(
            host, port, self._wsgi, threaded=True, request_handler=_QuietHandler
        )

    @property
    def url(self):
        """Base URL, usable as the SDK's `upload_prefix`."""
        return f"http://{self.server.host}:{self.server.port}"

    def stop(self):
        """Stop serving; remove the storage directory if the sandbox created it."""
        super().stop()
        if self._own_storage:
            shutil.rmtree(self.storage_dir, ignore_errors=True)

    def fail_next(self, count, status=500, message="Sandbox failure"):
        """Answer the next `count` upload requests with this error, storing nothing."""
        with self.lock:
            self._failures.extend([(status, message)] * count)

    # -- HTTP --------------------------------------------------------------------------------

    @Request.application
    def _wsgi(self, request):
        upload = UPLOAD_PATH.match(request.path)
        asset = ASSET_PATH.match(request.path)
        if upload and request.method == "POST":
            response = self._upload(request, *upload.groups())
        elif asset and request.method in ("GET", "HEAD"):
            response = self._serve(request, *asset.groups())
        else:
            response = _error(404, f"No route for {request.method} {request.path}")
        response.headers["X-Sandbox"] = "cloudinary"
        return response

    def _serve(self, request, cloud, resource_type, public_id):
        with self.lock:
            asset = self.assets.get(public_id)
        if (
            cloud != self.cloud_name
            or not asset
            or asset["result"]["resource_type"] != resource_type
        ):
            return _error(404, f"Resource not found - {public_id}")
        return send_file(asset["path"], request.environ, mimetype="video/mp4")

    def _upload(self, request, cloud, resource_type):
        file = request.files.get("file")  # parsing the form also drains the request body
        params = _params(request.form)
        content_range = request.headers.get("Content-Range")
        upload_id = request.headers.get("X-Unique-Upload-Id")
        chunk_bytes = _size(file.stream) if file else 0
        record = {
            "path": request.path,
            "params": params,
            "content_range": content_range,
            "upload_id": upload_id,
            "chunk_bytes": chunk_bytes,
        }
        with self.lock:
            self.uploads.append(record)
            failure = self._failures.pop(0) if self._failures else None
        try:
            if failure:
                raise _UploadError(*failure)
            self._authenticate(cloud, params)
            if file is None:
                raise _UploadError(400, "Missing required parameter - file")
            if content_range is None:
                path = self.storage_dir / "parts" / f"{uuid.uuid4().hex}.part"
                file.save(path, PIECE)
                filename = file.filename
                body = self._finalize(path, params, resource_type, filename, chunk_bytes)
            else:
                args = (file, chunk_bytes, params, resource_type, content_range, upload_id)
                body = self._chunk(*args)
        except _UploadError as error:
            record["status"] = error.status
            return _error(error.status, str(error))
        record["status"] = 200
        response = _json(200, body)
        response.headers["X-Request-Id"] = uuid.uuid4().hex  # the SDK copies it as request_id
        return response

    def _authenticate(self, cloud, params):
        if cloud != self.cloud_name:
            raise _UploadError(404, f"Invalid cloud_name {cloud}")
        if params.get("api_key") != self.api_key:
            raise _UploadError(401, f"Unknown API key {params.get('api_key', '')}")
        timestamp = params.get("timestamp", "")
        if not timestamp.isdigit():
            raise _UploadError(400, "Missing required parameter - timestamp")
        if time.time() - int(timestamp) > STALE_AFTER:
            raise _UploadError(400, f"Stale request - reported time is {timestamp}")
        signature = params.get("signature", "")
        to_sign = {k: v for k, v in params.items() if k not in UNSIGNED_FIELDS}
        algorithm = "sha256" if len(signature) == 64 else "sha1"
        expected = api_sign_request(to_sign, self.api_secret, algorithm)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise _UploadError(401, f"Invalid Signature {signature}")

    def _chunk(self, file, size, params, resource_type, content_range, upload_id):
        match = CONTENT_RANGE.match(content_range)
        if not match or not upload_id or not UPLOAD_ID.match(upload_id):
            raise _UploadError(400, "Invalid Content-Range or X-Unique-Upload-Id")
        start, end, total = (int(group) for group in match.groups())
        if end < start or end >= total or end - start + 1 != size:
            raise _UploadError(400, f"Content-Range {content_range} does not match {size} bytes")
        if end + 1 < total and size < self.min_chunk_bytes:
            raise _UploadError(400, f"Chunk of {size} bytes is smaller than the minimum")
        with self.lock:
            state = self._chunked.get(upload_id)
            if state is None:
                # The first chunk decides the public id; later chunks re-send the resolved one.
                state = self._chunked[upload_id] = {
                    "params": params,
                    "public_id": _public_id(params),
                    "filename": file.filename,
                    "total": total,
                    "received": {},
                    "path": self.storage_dir / "parts" / f"{upload_id}.part",
                }
                state["path"].touch()
            if state["total"] != total:
                raise _UploadError(400, f"Total size {total} differs from {state['total']}")
        with state["path"].open("r+b") as part:
            part.seek(start)
            shutil.copyfileobj(file.stream, part, PIECE)
        with self.lock:
            state["received"][start] = size  # keyed by offset, so a re-sent chunk counts once
            received = sum(state["received"].values())
            done = received >= total and self._chunked.pop(upload_id, None) is not None
        if not done:
            return {
                "public_id": state["public_id"],
                "done": False,
                "upload_id": upload_id,
                "bytes_received": received,
            }
        first = dict(state["params"], public_id=state["public_id"])
        return self._finalize(state["path"], first, resource_type, state["filename"], total)

    def _finalize(self, part_path, params, resource_type, filename, size):
        public_id = _public_id(params)
        path = self.storage_dir / "assets" / f"{quote(public_id, safe='')}.mp4"
        os.replace(part_path, path)
        sha256, md5, head = hashlib.sha256(), hashlib.md5(), b""
        with path.open("rb") as stored:
            while piece := stored.read(PIECE):
                head = head or piece[:256]
                sha256.update(piece)
                md5.update(piece)
        version = int(time.time())
        folder = params.get("folder", "")
        result = {
            "asset_id": uuid.uuid4().hex,
            "public_id": public_id,
            "version": version,
            "version_id": uuid.uuid4().hex,
            "signature": api_sign_request(
                {"public_id": public_id, "version": version}, self.api_secret, signature_version=1
            ),
            "width": 1280,
            "height": 720,
            "format": "mp4",
            "resource_type": resource_type,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tags": [tag for tag in params.get("tags", "").split(",") if tag],
            "bytes": size,
            "type": "upload",
            "etag": md5.hexdigest(),
            "placeholder": False,
            "url": f"{self.url}/{self.cloud_name}/{resource_type}/upload/v{version}/"
            f"{quote(public_id)}.mp4",
            "asset_folder": params.get("asset_folder") or folder,
            "original_filename": posixpath.splitext(posixpath.basename(filename or "file"))[0],
        }
        result["secure_url"] = result["url"]  # the sandbox has no TLS
        marker = MARKER.match(head)
        if marker:
            result["duration"] = float(marker.group(1))
        with self.lock:
            self.assets[public_id] = {
                "path": str(path),
                "bytes": size,
                "sha256": sha256.hexdigest(),
                "result": result,
            }
        return result


def _params(form):
    """Form fields as the SDK built them: `key[]` repeated fields become one list."""
    params = {}
    for key in form:
        if key.endswith("[]"):
            params[key[:-2]] = form.getlist(key)
        else:
            params[key] = form[key]
    return params


def _public_id(params):
    """Fixed-folder semantics: `folder/public_id`, unless public_id already has the folder."""
    folder = params.get("folder", "").strip("/")
    public_id = params.get("public_id") or random_public_id()
    if folder and not public_id.startswith(folder + "/"):
        return f"{folder}/{public_id}"
    return public_id


def _size(stream):
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _json(status, body):
    return Response(json.dumps(body), status, mimetype="application/json")


def _error(status, message):
    return _json(status, {"error": {"message": message}})
