"""The Cloudinary sandbox itself: its state, its server, and the upload API's checks."""

import hmac
import re
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from cloudinary.utils import api_sign_request
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request

from livesessions.clock import utcnow

from ..serving import Served
from .common import UploadError, error, json_response
from .delivery import Delivery, parse_delivery_path
from .destroy import Destroys
from .downloads import Downloads
from .uploads import PIECE, Uploads, delivery_type_of, params_of, size_of

UPLOAD_PATH = re.compile(r"^/v1_1/([^/]+)/([^/]+)/upload\Z")
DESTROY_PATH = re.compile(r"^/v1_1/([^/]+)/([^/]+)/destroy\Z")
DOWNLOAD_PATH = re.compile(r"^/v1_1/([^/]+)/([^/]+)/download\Z")
# What Cloudinary leaves out of the string to sign; the SDK never sends the last two as fields.
UNSIGNED_FIELDS = {"file", "signature", "api_key", "resource_type", "cloud_name"}
STALE_AFTER = 3600  # seconds; Cloudinary rejects older timestamps as a "Stale request"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args):  # keep test and dev output quiet; errors are still logged
        pass


def wall_clock() -> float:
    """Unix seconds now: the sandbox's clock unless a test holds its own."""
    return utcnow().timestamp()


class CloudinarySandbox(Uploads, Destroys, Downloads, Delivery, Served):
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
        clock=wall_clock,
    ):
        self.cloud_name = cloud_name
        self.api_key = api_key
        self.api_secret = api_secret
        self.min_chunk_bytes = min_chunk_bytes
        self.clock = clock  # Unix seconds now, for the expiry of download URLs
        self._own_storage = storage_dir is None
        self.storage_dir = Path(
            tempfile.mkdtemp(prefix="cloudinary-sandbox-") if storage_dir is None else storage_dir
        )
        for sub in ("assets", "parts"):
            (self.storage_dir / sub).mkdir(parents=True, exist_ok=True)
        self.uploads = []
        self.destroys = []  # each destroy request: path, params, status and (if 200) result
        self.invalidated = []  # public ids destroyed with `invalidate`: the CDN purges asked for
        self.downloads = []  # each private download URL request: params and status
        self.assets = {}
        self.lock = threading.Lock()
        self._chunked = {}  # upload id -> state of an unfinished chunked upload
        self._failures = []  # (status, message) answered by the next upload API requests
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
        """Answer the next `count` upload API requests (uploads, chunks, destroys) with this
        error, changing nothing."""
        with self.lock:
            self._failures.extend([(status, message)] * count)

    # -- HTTP --------------------------------------------------------------------------------

    @Request.application
    def _wsgi(self, request):
        upload = UPLOAD_PATH.match(request.path)
        destroy = DESTROY_PATH.match(request.path)
        download = DOWNLOAD_PATH.match(request.path)
        delivered = parse_delivery_path(request.path)
        delivering = request.method in ("GET", "HEAD")
        if upload and request.method == "POST":
            response = self._upload(request, *upload.groups())
        elif destroy and request.method == "POST":
            response = self._destroy(request, *destroy.groups())
        elif download and delivering:
            response = self._download(request, *download.groups())
        elif delivered and delivering:
            response = self._deliver(request, delivered)
        else:
            response = error(404, f"No route for {request.method} {request.path}")
        response.headers["X-Sandbox"] = "cloudinary"
        return response

    def _upload(self, request, cloud, resource_type):
        file = request.files.get("file")  # parsing the form also drains the request body
        params = params_of(request.form)
        content_range = request.headers.get("Content-Range")
        upload_id = request.headers.get("X-Unique-Upload-Id")
        chunk_bytes = size_of(file.stream) if file else 0
        record = {
            "path": request.path,
            "params": params,
            "content_range": content_range,
            "upload_id": upload_id,
            "chunk_bytes": chunk_bytes,
        }
        failure = self._next_failure(record, self.uploads)
        try:
            if failure:
                raise UploadError(*failure)
            self._authenticate(cloud, params)
            delivery_type_of(params)  # before a first chunk is kept
            if file is None:
                raise UploadError(400, "Missing required parameter - file")
            if content_range is None:
                path = self.storage_dir / "parts" / f"{uuid.uuid4().hex}.part"
                file.save(path, PIECE)
                filename = file.filename
                body = self._finalize(path, params, resource_type, filename, chunk_bytes)
            else:
                args = (file, chunk_bytes, params, resource_type, content_range, upload_id)
                body = self._chunk(*args)
        except UploadError as failed:
            record["status"] = failed.status
            return error(failed.status, str(failed))
        record["status"] = 200
        return self._api_answer(body)

    def _next_failure(self, record, requests):
        """Keep `record` in `requests`; the failure `fail_next` left for it, or None."""
        with self.lock:
            requests.append(record)
            return self._failures.pop(0) if self._failures else None

    @staticmethod
    def _api_answer(body):
        """A 200 answer of the upload API."""
        response = json_response(200, body)
        response.headers["X-Request-Id"] = uuid.uuid4().hex  # the SDK copies it as request_id
        return response

    def _authenticate(self, cloud, params):
        if cloud != self.cloud_name:
            raise UploadError(404, f"Invalid cloud_name {cloud}")
        if params.get("api_key") != self.api_key:
            raise UploadError(401, f"Unknown API key {params.get('api_key', '')}")
        timestamp = params.get("timestamp", "")
        if not timestamp.isdigit():
            raise UploadError(400, "Missing required parameter - timestamp")
        if time.time() - int(timestamp) > STALE_AFTER:
            raise UploadError(400, f"Stale request - reported time is {timestamp}")
        signature = params.get("signature", "")
        to_sign = {k: v for k, v in params.items() if k not in UNSIGNED_FIELDS}
        algorithm = "sha256" if len(signature) == 64 else "sha1"
        expected = api_sign_request(to_sign, self.api_secret, algorithm)
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise UploadError(401, f"Invalid Signature {signature}")
