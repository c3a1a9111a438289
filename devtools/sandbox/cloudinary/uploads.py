"""Storing uploads: single requests and `upload_large` chunks, and the answer for each."""

import hashlib
import os
import posixpath
import re
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from cloudinary.utils import api_sign_request, random_public_id

from .common import UploadError

CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)\Z")
UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
MARKER = re.compile(rb"^LIVESESSIONS-SANDBOX-RECORDING duration=(\d+(?:\.\d+)?)\n")
PIECE = 1024 * 1024
DELIVERY_TYPES = ("upload", "authenticated")  # not Cloudinary's `private`: the sandbox lacks it


class Uploads:
    """The storing part of `CloudinarySandbox`: assets kept in `self.assets` by public id, whatever
    their type (Cloudinary keeps one per delivery type; here a later upload replaces it)."""

    def _chunk(self, file, size, params, resource_type, content_range, upload_id):
        match = CONTENT_RANGE.match(content_range)
        if not match or not upload_id or not UPLOAD_ID.match(upload_id):
            raise UploadError(400, "Invalid Content-Range or X-Unique-Upload-Id")
        start, end, total = (int(group) for group in match.groups())
        if end < start or end >= total or end - start + 1 != size:
            raise UploadError(400, f"Content-Range {content_range} does not match {size} bytes")
        if end + 1 < total and size < self.min_chunk_bytes:
            raise UploadError(400, f"Chunk of {size} bytes is smaller than the minimum")
        with self.lock:
            state = self._chunked.get(upload_id)
            if state is None:
                # The first chunk decides the public id; later chunks re-send the resolved one.
                state = self._chunked[upload_id] = {
                    "params": params,
                    "public_id": public_id_of(params),
                    "filename": file.filename,
                    "total": total,
                    "received": {},
                    "path": self.storage_dir / "parts" / f"{upload_id}.part",
                }
                state["path"].touch()
            if state["total"] != total:
                raise UploadError(400, f"Total size {total} differs from {state['total']}")
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
        public_id = public_id_of(params)
        # A file of its own: a later upload or a destroy of the same public id never touches
        # the file another request is writing or serving.
        stored_name = f"{quote(public_id, safe='')}.{uuid.uuid4().hex[:12]}.mp4"
        path = self.storage_dir / "assets" / stored_name
        os.replace(part_path, path)
        sha256, md5, head = hashlib.sha256(), hashlib.md5(), b""
        with path.open("rb") as stored:
            while piece := stored.read(PIECE):
                head = head or piece[:256]
                sha256.update(piece)
                md5.update(piece)
        version = int(time.time())
        folder = params.get("folder", "")
        delivery_type = delivery_type_of(params)
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
            "type": delivery_type,
            "etag": md5.hexdigest(),
            "placeholder": False,
            "url": self._delivery_url(resource_type, delivery_type, version, public_id),
            "asset_folder": params.get("asset_folder") or folder,
            "original_filename": posixpath.splitext(posixpath.basename(filename or "file"))[0],
        }
        result["secure_url"] = result["url"]  # the sandbox has no TLS
        marker = MARKER.match(head)
        if marker:
            result["duration"] = float(marker.group(1))
        with self.lock:
            replaced = self.assets.get(public_id)
            self.assets[public_id] = {
                "path": str(path),
                "bytes": size,
                "sha256": sha256.hexdigest(),
                "result": result,
            }
        if replaced is not None:  # an overwrite: the old file is nobody's any more
            Path(replaced["path"]).unlink(missing_ok=True)
        return result


def params_of(form):
    """Form fields as the SDK built them: `key[]` repeated fields become one list."""
    params = {}
    for key in form:
        if key.endswith("[]"):
            params[key[:-2]] = form.getlist(key)
        else:
            params[key] = form[key]
    return params


def public_id_of(params):
    """Fixed-folder semantics: `folder/public_id`, unless public_id already has the folder."""
    folder = params.get("folder", "").strip("/")
    public_id = params.get("public_id") or random_public_id()
    if folder and not public_id.startswith(folder + "/"):
        return f"{folder}/{public_id}"
    return public_id


def delivery_type_of(params):
    """The upload's `type` (Cloudinary's delivery type): `upload` unless the SDK sent one."""
    delivery_type = params.get("type") or "upload"
    if delivery_type not in DELIVERY_TYPES:
        supported = " and ".join(DELIVERY_TYPES)
        raise UploadError(400, f"The sandbox stores {supported} assets only, not {delivery_type}")
    return delivery_type


def size_of(stream):
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size
