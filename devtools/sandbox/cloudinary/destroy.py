"""Destroying assets: the upload API's `destroy`, as `cloudinary.uploader.destroy` calls it.

The SDK POSTs `/v1_1/<cloud>/<resource_type>/destroy` with the form fields `public_id`,
`timestamp`, `signature`, `api_key` and, when given, `type` and `invalidate` (`"1"`/`"0"`),
all but `signature` and `api_key` signed like an upload's. Cloudinary answers 200 either way:
`{"result": "ok"}` when the asset of that public id, resource type and delivery type (`upload`
unless `type` says otherwise) existed, `{"result": "not found"}` otherwise.
"""

from pathlib import Path

from .common import UploadError, error
from .uploads import params_of

TRUE = ("1", "true")  # the SDK sends booleans as "1"/"0"; a hand-made request may say "true"


class Destroys:
    """The destroying part of `CloudinarySandbox`: each request is kept in `self.destroys`,
    and the public id of each asset destroyed with `invalidate` in `self.invalidated`."""

    def _destroy(self, request, cloud, resource_type):
        params = params_of(request.form)
        record = {"path": request.path, "params": params}
        failure = self._next_failure(record, self.destroys)
        try:
            if failure:
                raise UploadError(*failure)
            self._authenticate(cloud, params)
            public_id = params.get("public_id")
            if not public_id:
                raise UploadError(400, "Missing required parameter - public_id")
        except UploadError as failed:
            record["status"] = failed.status
            return error(failed.status, str(failed))
        delivery_type = params.get("type") or "upload"
        with self.lock:
            asset = self.assets.get(public_id)
            found = (
                asset is not None
                and asset["result"]["resource_type"] == resource_type
                and asset["result"]["type"] == delivery_type
            )
            if found:
                del self.assets[public_id]
                if params.get("invalidate", "").lower() in TRUE:
                    self.invalidated.append(public_id)
        if found:
            Path(asset["path"]).unlink(missing_ok=True)
        result = "ok" if found else "not found"
        record.update(status=200, result=result)
        return self._api_answer({"result": result})
