"""One error shape for the whole service: `{"message": "..."}` with the right status."""

import logging

from flask import g, jsonify
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

SESSION_NOT_FOUND = "Live session not found"
DATABASE_FAILED = "Database query failed"
INTERNAL_ERROR = "Internal server error"

# Short, stable texts instead of Werkzeug's paragraph-long descriptions.
HTTP_MESSAGES = {
    400: "Bad request",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Request body is too large",
    415: "Content-Type must be application/json",
}


class ApiError(Exception):
    """An expected failure that the client is told about as it is."""

    status_code = 400

    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class ValidationFailed(ApiError):
    status_code = 400


class NotFound(ApiError):
    status_code = 404

    def __init__(self, message=SESSION_NOT_FOUND):
        super().__init__(message)


class Forbidden(ApiError):
    status_code = 403


class UpstreamFailed(ApiError):
    """An external service (Daily.co, Cloudinary) failed; the message is the spec's."""

    status_code = 500


def error_response(message, status_code):
    response = jsonify(message=message)
    response.status_code = status_code
    return response


def register_error_handlers(app):
    """Turn every exception into `{"message"}` JSON."""

    @app.errorhandler(ApiError)
    def handle_api_error(error):
        return error_response(error.message, error.status_code)

    @app.errorhandler(HTTPException)
    def handle_http_error(error):
        message = HTTP_MESSAGES.get(error.code, error.name)
        response = error_response(message, error.code)
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(PyMongoError)
    def handle_database_error(error):
        log.error("database error (request %s): %r", g.get("request_id"), error)
        return error_response(DATABASE_FAILED, 500)

    @app.errorhandler(Exception)
    def handle_unexpected_error(error):
        log.exception("unhandled error (request %s)", g.get("request_id"))
        return error_response(INTERNAL_ERROR, 500)
