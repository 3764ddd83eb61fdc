"""Shopper-facing JSON/image API under /api/v1: health, catalogue, rendering, widget events."""

from __future__ import annotations

import base64
import json

import numpy as np
from flask import Blueprint, Response, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from tryon.errors import UnknownProductError
from tryon.fit import fit_advice
from tryon.glasses import GlassesRenderer
from tryon.imaging import MIME_TYPES, decode_image, encode_image
from tryon.pipeline import PhotoEngine, Tracked, TryOnEngine
from tryon.sizing import glasses_tried, size_report
from tryon.store.analytics import record_event
from tryon.web.bodies import json_object
from tryon.web.embedding import embeddable, own_origin
from tryon.web.errors import ApiError
from tryon.web.public import merchant_slug, public_catalog
from tryon.web.services import services

api = Blueprint("api", __name__)


@api.get("/health")
def health() -> ResponseReturnValue:
    """Liveness: the process answers."""
    return jsonify(status="ok")


@api.get("/ready")
def ready() -> ResponseReturnValue:
    """Readiness: the face model is in place, so renders can succeed."""
    if not services().model_ready():
        raise ApiError(503, "not_ready", "face model missing; run `tryon fetch-model`")
    return jsonify(status="ready")


@api.get("/products")
def list_products() -> ResponseReturnValue:
    """A merchant's published catalogue: id, kind, name, and a picture (glasses) or swatch (makeup)."""
    catalog = public_catalog()
    listed = []
    for entry in catalog.entries():
        # "id" repeats the SKU for clients of the previous release; it goes in the next one.
        item: dict[str, str | None] = {"sku": entry.sku, "id": entry.sku, "kind": entry.kind, "name": entry.name}
        if entry.kind == "glasses":
            item["image"] = url_for("api.product_image", merchant=merchant_slug(), sku=entry.sku)
        elif entry.kind != "look":
            item["swatch"] = catalog.swatch(entry.sku)
        listed.append(item)
    return jsonify(products=listed)


@api.get("/embeddable")
def embeddable_check() -> ResponseReturnValue:
    """Whether the page asking (its Origin) may show the try-on of `sku` of `merchant`: {"ok": true}, or
    {"ok": false, "reason": unknown_merchant | origin_not_allowed | unknown_product | unpublished}.

    The loader asks before it shows its button. Readable from any origin (a refused page learns only
    that it is refused), so the loader can tell the merchant's developer why in the console.
    """
    origin = request.headers.get("Origin") or own_origin()
    if origin != own_origin():
        g.cors_origin = origin
    reason = embeddable(merchant_slug(), request.args.get("sku", ""), origin)
    response = jsonify(ok=True) if reason is None else jsonify(ok=False, reason=reason)
    response.headers["Cache-Control"] = "no-store"  # publishing or allowing a site shows at once
    return response


@api.get("/products/<sku>/front.png")
def product_image(sku: str) -> ResponseReturnValue:
    """A published glasses product's picture for catalogue pages: the frame with its lenses as the try-on
    renders them (a tinted lens shows tinted), not the bare frame image."""
    product = public_catalog().get(sku)
    if not isinstance(product, GlassesRenderer):
        raise UnknownProductError(f"{sku!r} is not a glasses product")
    response = Response(encode_image(product.asset.picture(), "png"), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


MAX_PRODUCTS_PER_RENDER = 12  # a look (up to 8 products) and glasses, with room to spare
MAX_PRODUCTS_PER_BATCH = 24  # a catalogue page's worth of frames
# Photos are drawn on at most this size (longest side, px; larger ones are scaled down as they are
# decoded): what one render may cost stays bounded (about 250 MB and 2 s at 3000 px, 700 MB and 5 s
# at 25 MP), and a try-all grid shows thumbnails, so its 24 renders need no more than 1280 px.
RENDER_MAX_SIDE = 3000
BATCH_MAX_SIDE = 1280


def _photo_request(limit: int, max_side: int) -> tuple[np.ndarray, list[str], str]:
    """The decoded photo (longest side at most `max_side`), SKUs (de-duplicated, at most `limit`) and
    output format of a render request."""
    upload = request.files.get("photo")
    if upload is None:
        raise ApiError(400, "missing_photo", "send the photo as multipart field 'photo'")
    skus = request.form.getlist("sku") + request.form.getlist("product")  # "product": the previous name
    if not skus:
        raise ApiError(400, "missing_product", "name at least one 'sku'")
    skus = list(dict.fromkeys(skus))
    if len(skus) > limit:
        raise ApiError(400, "too_many_products", f"at most {limit} products per request (got {len(skus)})")
    fmt = request.form.get("format", "jpeg")
    if fmt not in MIME_TYPES:
        raise ApiError(400, "bad_format", f"format must be one of {', '.join(MIME_TYPES)}")
    return decode_image(upload.read(), max_side=max_side), skus, fmt


def _track(frame: np.ndarray) -> Tracked:
    with services().still_tracker() as tracker:
        return PhotoEngine(tracker).track(frame)


@api.post("/render")
def render() -> ResponseReturnValue:
    """Render products (a look) on an uploaded photo.

    multipart/form-data: `photo` (JPEG/PNG/WebP), `product` (one or more ids), optional
    `format` (jpeg, png, webp) and `merchant`. Returns the image; X-Faces tells how many faces
    were drawn on, X-Fit (JSON) the measurements and size advice, or null.
    """
    catalog = public_catalog()
    frame, skus, fmt = _photo_request(MAX_PRODUCTS_PER_RENDER, RENDER_MAX_SIDE)
    products = catalog.resolve(skus)
    if len(products) > MAX_PRODUCTS_PER_RENDER:  # looks expand into their products
        raise ApiError(400, "too_many_products", f"at most {MAX_PRODUCTS_PER_RENDER} products, looks included")
    tracked = _track(frame)
    image = TryOnEngine.draw(frame, tracked, products)
    response = Response(encode_image(image, fmt), mimetype=MIME_TYPES[fmt])
    fit = size_report(tracked.fit, glasses_tried(catalog, skus), catalog.glasses_widths())
    response.headers["X-Fit"] = json.dumps(fit, ensure_ascii=True)
    response.headers["X-Faces"] = str(len(tracked.faces))
    response.headers["X-Detection-Status"] = tracked.detection.status.value
    response.headers["Cache-Control"] = "no-store"
    return response


@api.post("/render/batch")
def render_batch() -> ResponseReturnValue:
    """One photo, many products, one face-tracking pass: a "try all frames" grid.

    multipart/form-data as for /render; each `product` is rendered separately. Returns JSON
    {"faces", "status", "results": [{"sku", "image": data URL}]}.
    """
    catalog = public_catalog()
    frame, skus, fmt = _photo_request(MAX_PRODUCTS_PER_BATCH, BATCH_MAX_SIDE)
    renders = [(sku, catalog.resolve([sku])) for sku in skus]
    tracked = _track(frame)
    results = []
    for sku, products in renders:
        data = base64.b64encode(encode_image(TryOnEngine.draw(frame, tracked, products), fmt)).decode("ascii")
        results.append({"sku": sku, "image": f"data:{MIME_TYPES[fmt]};base64,{data}"})
    fit = size_report(tracked.fit, None, catalog.glasses_widths())
    for result, (_, products) in zip(results, renders):
        glasses = [p for p in products if isinstance(p, GlassesRenderer)]
        if fit and glasses:
            result["fit"] = fit_advice(fit["face_width_mm"], glasses[0].width_mm)
    response = jsonify(faces=len(tracked.faces), status=tracked.detection.status.value, fit=fit, results=results)
    response.headers["Cache-Control"] = "no-store"
    return response


@api.post("/events")
def widget_event() -> ResponseReturnValue:
    """Count a widget event: {"merchant", "sku", "event": snapshot_taken | add_to_cart | ..., "session": the
    token of the embed page} ("product" is still accepted for "sku"). Each event counts once per
    session and product: {"recorded": false} for a repeat."""
    data = json_object(force=True)
    if "sku" not in data and "product" in data:
        data = {**data, "sku": data["product"]}
    if not data.get("sku") or not data.get("event"):
        raise ApiError(400, "bad_event", 'send JSON {"merchant", "sku", "event", "session"}')
    slug = str(data.get("merchant") or merchant_slug())
    public_catalog(slug)
    session_id = services().tokens.session_id(data.get("session"), slug)
    counted = record_event(
        services().db, str(data["event"]), merchant_slug=slug, sku=str(data["sku"]), session_id=session_id
    )
    return jsonify(recorded=counted)
