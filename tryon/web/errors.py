"""Structured errors: every failure is {"error": {"code", "message"}} with a fitting status, the same
over HTTP and over the WebSocket stream, so one table here says what each exception means."""

from __future__ import annotations

from typing import NamedTuple

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from tryon.errors import (
    ConflictError,
    EngineError,
    FaceModelError,
    InvalidEventError,
    InvalidImageError,
    InvalidKeyError,
    InvalidOriginError,
    InvalidSessionError,
    InvalidSlugError,
    ProductError,
    UnknownMerchantError,
    UnknownProductError,
    VersionConflictError,
)


class ApiError(Exception):
    """An error to return to the client as-is."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class ErrorDescription(NamedTuple):
    """What a client is told about a failure: an HTTP status, a stable code, a readable message."""

    status: int
    code: str
    message: str


# The first entry whose class the exception is an instance of applies: subclasses before their bases.
_KNOWN_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (InvalidImageError, 400, "invalid_image"),
    (InvalidSlugError, 400, "invalid_slug"),
    (InvalidOriginError, 400, "invalid_origin"),
    (InvalidKeyError, 404, "unknown_key"),
    (InvalidEventError, 400, "invalid_event"),
    (InvalidSessionError, 400, "invalid_session"),
    (UnknownMerchantError, 404, "unknown_merchant"),
    (UnknownProductError, 404, "unknown_product"),
    (ProductError, 400, "invalid_product"),
    (VersionConflictError, 409, "version_conflict"),
    (ConflictError, 409, "conflict"),
    (FaceModelError, 503, "not_ready"),
    (EngineError, 503, "engine_unavailable"),
)
INTERNAL_ERROR = ErrorDescription(500, "internal_error", "internal server error")


def describe(error: Exception) -> ErrorDescription:
    """The status, code and message for an exception; INTERNAL_ERROR (no details) for an unexpected one."""
    if isinstance(error, ApiError):
        return ErrorDescription(error.status, error.code, error.message)
    if isinstance(error, RateLimitExceeded):
        return ErrorDescription(
            429, "rate_limited", f"too many requests from this address ({error.description}); wait a moment"
        )
    if isinstance(error, HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return ErrorDescription(error.code or 500, code, error.description or error.name)
    for kind, status, code in _KNOWN_ERRORS:
        if isinstance(error, kind):
            return ErrorDescription(status, code, str(error))
    return INTERNAL_ERROR


def error_response(description: ErrorDescription) -> ResponseReturnValue:
    """The JSON response for an error."""
    status, code, message = description
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer every exception a view raises with its JSON error (Flask routes HTTPExceptions here too)."""

    @app.errorhandler(Exception)
    def handle(error: Exception) -> ResponseReturnValue:
        description = describe(error)
        if description is INTERNAL_ERROR:
            app.logger.exception("unhandled error")  # the request body (a shopper's photo) is never logged
        return error_response(description)
