"""One error shape for the whole service, `{"message": "..."}`, and every message a client
can read, each defined once (the views, the services and the OpenAPI document use these).
"""

import logging

from flask import g, jsonify, request
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

from .domain_errors import (
    CapacityBelowParticipants,
    DomainError,
    SessionFull,
    SessionNotChangeable,
    SessionNotFound,
    SessionNotJoinable,
    StudentNotFound,
    TransitionRefused,
)

log = logging.getLogger(__name__)

# -- Messages ---------------------------------------------------------------------------------
# Templates take their values with str.format: CANNOT_JOIN.format(status="ended").

# Sessions
SESSION_NOT_FOUND = "Live session not found"
NOT_OWNER = "You are not allowed to modify this live session"
SESSION_DELETED = "Live session deleted successfully"
CANNOT_UPDATE = "Cannot update a session that is {status}"
CAPACITY_BELOW_PARTICIPANTS = (
    '"maxParticipants" must be greater than or equal to the current number of participants '
    "({taken})"
)
CANNOT_CHANGE_STATUS = "Cannot change status from {current} to {new}"
REOPEN_PAST = "Only a session that has not started yet can be scheduled again"
STATUS_REQUIRED = "Status is required"
INVALID_STATUS = "Invalid status value. Must be one of: {statuses}"
# Recurring series (POST/PUT/DELETE /sessions/series)
SERIES_NOT_FOUND = "Live session series not found"
SERIES_TOO_LONG = "A series has at most {limit} occurrences"
SERIES_EMPTY = "The recurrence has no occurrence"
SERIES_TOO_LATE = "Every occurrence must be at most 9999-01-01T00:00:00.000Z"
# Participants and joining
STUDENT_ID_REQUIRED = "Student ID is required"
STUDENT_NOT_FOUND = "Student not found in session participants"
SESSION_FULL = "Session has reached maximum participants"
CANNOT_JOIN = "Cannot join a session that is {status}"
NOT_A_PARTICIPANT = "You are not a participant of this live session"
JOIN_NOT_YET = "This live session can be joined from {opens}"
SESSION_OVER = "This live session is over"
ATTENDANCE_FORBIDDEN = "You are not allowed to view this live session's attendance"
# Calendar feeds (one answer for a wrong key and an unknown student alike)
CALENDAR_NOT_FOUND = "Calendar not found"
COURSE_ATTENDANCE_FORBIDDEN = "You are not allowed to view this course's attendance"
# Access (AUTH_POLICY=strict)
CREATE_FORBIDDEN = "You are not allowed to create live sessions"
OTHER_INSTRUCTOR_FORBIDDEN = "Only an admin may create a live session for another instructor"
PARTICIPANTS_FORBIDDEN = "You are not allowed to change this live session's participants"
RECORDING_FORBIDDEN = "You are not allowed to record this live session"
# Recordings
ROOM_NAME_REQUIRED = "Room name is required"
RECORDING_ID_REQUIRED = "Recording ID is required"
RECORDING_NOT_FOUND = "Recording not found"
CANNOT_RECORD = "Cannot record a session that is {status}"
RECORD_NOT_YET = "This live session can be recorded from {opens}"
RECORDING_IN_PROGRESS = "This live session is already being recorded"
RECORDINGS_FORBIDDEN = "You are not allowed to view this live session's recordings"
RECORDING_DELETE_FORBIDDEN = "You are not allowed to delete this live session's recordings"
CANNOT_DELETE_RECORDING = "Cannot delete a recording that is {status}"
# Daily.co and Cloudinary
CREATE_ROOM_FAILED = "Failed to create Daily.co room"
UPDATE_ROOM_FAILED = "Failed to update Daily.co room"
DELETE_ROOM_FAILED = "Failed to delete Daily.co room"
TOKEN_FAILED = "Failed to create Daily.co meeting token"
START_FAILED = "Failed to start recording on Daily.co"
STOP_FAILED = "Failed to stop recording on Daily.co"
DELETE_RECORDING_FAILED = "Failed to delete recording on Cloudinary"
# The Daily.co webhook
WEBHOOK_NOT_JSON = "Webhook body is not valid JSON"
INVALID_SIGNATURE = "Invalid webhook signature"
# Outbound webhooks (/webhooks)
WEBHOOKS_FORBIDDEN = "Only an admin may manage webhooks"
WEBHOOK_NOT_FOUND = "Webhook endpoint not found"
WEBHOOK_URL_REFUSED = "Webhook URL must resolve to a public address"
WEBHOOK_URL_UNRESOLVED = "Webhook URL's host could not be resolved"
WEBHOOK_URL_AMBIGUOUS = (
    "Webhook URL must be plain: ASCII, no backslash, whitespace, control character, "
    "escaped host or second @"
)
# Authentication
MISSING_TOKEN = "Authorization header with a Bearer token is required"
INVALID_TOKEN = "Invalid token"
EXPIRED_TOKEN = "Token has expired"
# Requests
BODY_NOT_JSON = "Request body is not valid JSON"
BODY_NOT_OBJECT = '"value" must be of type object'
INVALID_REQUEST = "Invalid request"
# Short, stable texts instead of Werkzeug's paragraph-long descriptions.
HTTP_MESSAGES = {
    400: "Bad request",
    404: "Resource not found",
    405: "Method not allowed",
    413: "Request body is too large",
    415: "Content-Type must be application/json",
}
# The service itself
TOO_MANY_REQUESTS = "Too many requests, please try again later."  # express-rate-limit's
DATABASE_FAILED = "Database query failed"
DATABASE_UNAVAILABLE = "Database unavailable"
INTERNAL_ERROR = "Internal server error"


# -- Exceptions -------------------------------------------------------------------------------


class ApiError(Exception):
    """An expected failure that the client is told about as it is."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class ValidationFailed(ApiError):
    status_code = 400


class NotFound(ApiError):
    status_code = 404

    def __init__(self, message: str = SESSION_NOT_FOUND):
        super().__init__(message)


class Forbidden(ApiError):
    status_code = 403


class Unauthenticated(ApiError):
    """No valid token where one is needed; the handler words it from the request."""

    status_code = 401

    def __init__(self):
        super().__init__(MISSING_TOKEN)


class UpstreamFailed(ApiError):
    """An external service (Daily.co, Cloudinary) failed; the message is the spec's."""

    status_code = 500


# What a client reads for each refusal of the domain (domain_errors.py): the one place the
# store's and the lifecycle's exceptions meet the messages.
CLIENT_ERRORS = {
    SessionNotFound: lambda error: NotFound(),
    StudentNotFound: lambda error: NotFound(STUDENT_NOT_FOUND),
    SessionFull: lambda error: ApiError(SESSION_FULL),
    SessionNotJoinable: lambda error: ApiError(CANNOT_JOIN.format(status=error.status)),
    SessionNotChangeable: lambda error: ApiError(CANNOT_UPDATE.format(status=error.status)),
    CapacityBelowParticipants: lambda error: ApiError(
        CAPACITY_BELOW_PARTICIPANTS.format(taken=error.taken)
    ),
    TransitionRefused: lambda error: ApiError(
        CANNOT_CHANGE_STATUS.format(current=error.current, new=error.new)
    ),
}


def client_error(error: DomainError) -> ApiError:
    """The ApiError a client is answered with for a refusal of the domain."""
    return CLIENT_ERRORS[type(error)](error)


def error_response(message, status_code):
    response = jsonify(message=message)
    response.status_code = status_code
    return response


def register_error_handlers(app):
    """Turn every exception into `{"message"}` JSON."""

    @app.errorhandler(Unauthenticated)
    def handle_unauthenticated(error):
        # a token was sent but could not be used (open endpoints ignore it in compat)
        sent = bool(request.headers.get("Authorization"))
        return error_response(INVALID_TOKEN if sent else MISSING_TOKEN, 401)

    @app.errorhandler(ApiError)
    def handle_api_error(error):
        return error_response(error.message, error.status_code)

    @app.errorhandler(DomainError)
    def handle_domain_error(error):
        return handle_api_error(client_error(error))

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
