"""JSON/image API under /api/v1: health, products, single-image rendering."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from tryon.imaging import MIME_TYPES, decode_image, encode_image
from tryon.pipeline import TryOnEngine
from tryon.web.errors import ApiError
from tryon.web.services import services

api = Blueprint("api", __name__)


@api.get("/health")
def health():
    """Liveness: the process answers."""
    return jsonify(status="ok")


@api.get("/ready")
def ready():
    """Readiness: the face model is in place, so renders can succeed."""
    if not services().model_ready():
        raise ApiError(503, "not_ready", "face model missing; run `tryon fetch-model`")
    return jsonify(status="ready")


@api.get("/products")
def list_products():
    entries = services().catalog.entries()
    return jsonify(products=[{"id": e.id, "kind": e.kind, "name": e.name} for e in entries])


@api.post("/render")
def render():
    """Render products on an uploaded photo.

    multipart/form-data: `photo` (JPEG/PNG/WebP), `product` (one or more ids), optional
    `format` (jpeg, png, webp). Returns the image; X-Faces tells how many faces were drawn on.
    """
    upload = request.files.get("photo")
    if upload is None:
        raise ApiError(400, "missing_photo", "send the photo as multipart field 'photo'")
    product_ids = request.form.getlist("product")
    if not product_ids:
        raise ApiError(400, "missing_product", "name at least one 'product'")
    fmt = request.form.get("format", "jpeg")
    if fmt not in MIME_TYPES:
        raise ApiError(400, "bad_format", f"format must be one of {', '.join(MIME_TYPES)}")
    products = services().catalog.resolve(product_ids)
    frame = decode_image(upload.read())
    with services().still_tracker() as tracker:
        image, tracked = TryOnEngine(tracker).render(frame, products)
    response = Response(encode_image(image, fmt), mimetype=MIME_TYPES[fmt])
    response.headers["X-Faces"] = str(len(tracked.faces))
    response.headers["X-Detection-Status"] = tracked.detection.status.value
    response.headers["Cache-Control"] = "no-store"
    return response
