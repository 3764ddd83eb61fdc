"""Structured JSON errors: every failure is {"error": {"code", "message"}} with a fitting status."""

from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from tryon.errors import ConflictError, FaceModelError, InvalidImageError, ProductError, UnknownProductError


class ApiError(Exception):
    """An error to return to the client as-is."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str):
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, lambda e: error_response(e.status, e.code, e.message))
    app.register_error_handler(InvalidImageError, lambda e: error_response(400, "invalid_image", str(e)))
    app.register_error_handler(UnknownProductError, lambda e: error_response(404, "unknown_product", str(e)))
    app.register_error_handler(ProductError, lambda e: error_response(400, "invalid_product", str(e)))
    app.register_error_handler(ConflictError, lambda e: error_response(409, "conflict", str(e)))
    app.register_error_handler(FaceModelError, lambda e: error_response(503, "not_ready", str(e)))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")  # the request body (a shopper's photo) is never logged
        return error_response(500, "internal_error", "internal server error")
