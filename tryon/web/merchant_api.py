"""The merchant API under /api/v1/merchant: every call needs the merchant's API key
(`Authorization: Bearer <key>` or `X-API-Key: <key>`) and only ever sees that merchant's data."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

from flask import Blueprint, Response, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue

from tryon.imaging import encode_image
from tryon.makeup import MAKEUP_TYPES
from tryon.products import Product
from tryon.shade import parse_shade_range, shade_products
from tryon.store import products as product_store
from tryon.store.accounts import authenticate, issue_key, list_keys, revoke_key
from tryon.store.analytics import usage
from tryon.store.calibration import lens_calibration
from tryon.store.catalog import build_product
from tryon.store.context import MerchantContext, Store
from tryon.store.origins import ANY_ORIGIN, origins_of, set_origins
from tryon.store.records import ProductRecord
from tryon.store.sightings import last_sighting
from tryon.web.bodies import form_flag, json_object
from tryon.web.errors import ApiError
from tryon.web.services import services

merchant_api = Blueprint("merchant_api", __name__)


def requires_key(view: Callable) -> Callable:
    """Authenticate the request's API key; the merchant (a MerchantAccount) is then `g.merchant`."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        header = request.headers.get("Authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else request.headers.get("X-API-Key", "")
        if not key:
            raise ApiError(401, "missing_key", "send your API key as 'Authorization: Bearer <key>'")
        merchant = authenticate(services().db, key)
        if merchant is None:
            raise ApiError(401, "invalid_key", "this API key is not valid")
        g.merchant = merchant
        return view(*args, **kwargs)

    return guarded


def _scope() -> MerchantContext:
    """The store as the authenticated merchant sees it: only its own products, origins and counts."""
    shared = services()
    return Store(shared.db, shared.blobs).for_merchant(g.merchant.id)


def _describe(product: ProductRecord) -> dict[str, Any]:
    images = {slot: url_for("merchant_api.product_image", sku=product.sku, slot=slot) for slot in product.assets}
    return {
        "sku": product.sku,
        "name": product.name,
        "kind": product.kind,
        "spec": product.spec,
        "published": product.published,
        "images": images,
        "created_at": product.created_at.isoformat(),
        "updated_at": product.updated_at.isoformat(),
        "version": product.version,
    }


def _product_response(product: ProductRecord, status: int = 200) -> Response:
    """A product's JSON with its version as the ETag (what If-Match names to edit that version)."""
    response = jsonify(_describe(product))
    response.status_code = status
    response.set_etag(str(product.version))
    return response


def _if_match() -> int | None:
    """The version named by If-Match ("3", or W/"3"), None without one; 400 for anything else."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise ApiError(400, "bad_if_match", 'If-Match must name one product version, e.g. If-Match: "3"')
    return int(tag)


def _json_body() -> dict[str, Any]:
    """The request's JSON object, with its fields' types checked (a wrong type is a 400, not a 500)."""
    data = json_object()
    for field, kind, name in (
        ("name", str, "a string"),
        ("published", bool, "true or false"),
        ("spec", dict, "an object"),
    ):
        if field in data and data[field] is not None and not isinstance(data[field], kind):
            raise ApiError(400, "bad_json", f"'{field}' must be {name}")
    return data


def _uploaded_images() -> dict[str, bytes]:
    images = {}
    for slot in ("front", "temple"):
        upload = request.files.get(slot)
        if upload is not None:
            data = upload.read()
            if not data:
                raise ApiError(400, "empty_upload", f"the '{slot}' file is empty")
            images[slot] = data
    return images


def _form_spec() -> dict[str, Any]:
    try:
        spec = json.loads(request.form.get("spec") or "{}")
    except json.JSONDecodeError as exc:
        raise ApiError(400, "bad_json", f"'spec' is not valid JSON: {exc}") from exc
    if not isinstance(spec, dict):
        raise ApiError(400, "bad_json", "'spec' must be a JSON object")
    return spec


@merchant_api.get("/me")
@requires_key
def me() -> ResponseReturnValue:
    merchant = g.merchant
    return jsonify(slug=merchant.slug, name=merchant.name, origins=origins_of(_scope()))


@merchant_api.get("/keys")
@requires_key
def keys() -> ResponseReturnValue:
    """The merchant's API keys by prefix (the keys themselves are never kept): rotate with POST, then
    revoke the old one with DELETE /keys/<prefix>."""
    listed = [
        {"prefix": info.prefix, "created_at": info.created_at.isoformat(), "revoked": info.revoked}
        for info in list_keys(services().db, g.merchant.slug)
    ]
    return jsonify(keys=listed)


@merchant_api.post("/keys")
@requires_key
def new_key() -> ResponseReturnValue:
    """Issue a further key (shown once, in this answer)."""
    key = issue_key(services().db, g.merchant.slug)
    return jsonify(key=key, prefix=key[:8]), 201


@merchant_api.delete("/keys/<prefix>")
@requires_key
def revoke(prefix: str) -> ResponseReturnValue:
    """Revoke a key (it stops working at once, this one included)."""
    revoke_key(services().db, g.merchant.slug, prefix)
    return jsonify(revoked=prefix[:8])


@merchant_api.get("/products")
@requires_key
def list_products() -> ResponseReturnValue:
    return jsonify(products=[_describe(product) for product in product_store.list_products(_scope())])


@merchant_api.post("/products")
@requires_key
def create_product() -> ResponseReturnValue:
    """JSON {sku, name, kind, spec, published} for makeup and looks; multipart (the same fields, spec
    as a JSON string, files `front` and optional `temple`) for glasses."""
    fields: dict[str, Any]
    spec: Any
    if request.mimetype == "multipart/form-data":
        fields = {
            "sku": request.form.get("sku"),
            "name": request.form.get("name"),
            "kind": request.form.get("kind"),
            "published": form_flag("published"),
        }
        spec, images = _form_spec(), _uploaded_images()
    else:
        fields = _json_body()
        spec, images = fields.get("spec") or {}, {}
        if not isinstance(spec, dict):
            raise ApiError(400, "invalid_product", "'spec' must be a JSON object")
    product = product_store.create_product(
        _scope(),
        str(fields.get("sku") or ""),
        name=str(fields.get("name") or ""),
        kind=str(fields.get("kind") or ""),
        spec=spec,
        images=images,
        published=bool(fields.get("published", False)),
    )
    return _product_response(product, 201)


MAX_SHADES_PER_RANGE = 200
MAX_RANGE_BYTES = 256 * 1024


@merchant_api.post("/shade-ranges")
@requires_key
def upload_shade_range() -> ResponseReturnValue:
    """A whole foundation range at once: the body CSV (Content-Type text/csv) or a JSON list of
    {sku, name, colour[, coverage]} (tryon.shade documents the format); ?published=true to publish.
    All or nothing: every bad row is reported (400), an SKU that exists already is a 409."""
    body = request.get_data(cache=False)
    if len(body) > MAX_RANGE_BYTES:
        raise ApiError(413, "range_too_large", f"a range is at most {MAX_RANGE_BYTES // 1024} KB")
    fmt: Literal["csv", "json"] = "csv" if request.mimetype == "text/csv" else "json"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "bad_range", "the range must be UTF-8 text") from exc
    shades = parse_shade_range(text, fmt)
    if len(shades) > MAX_SHADES_PER_RANGE:
        raise ApiError(400, "too_many_shades", f"at most {MAX_SHADES_PER_RANGE} shades per range")
    scope = _scope()
    existing = {product.sku for product in product_store.list_products(scope)} & {shade.sku for shade in shades}
    if existing:
        raise ApiError(409, "conflict", f"products exist already: {', '.join(sorted(existing))}")
    published = request.args.get("published", "").lower() in ("1", "true", "yes", "on")
    created = []
    for fields in shade_products(shades, published=published):
        product = product_store.create_product(
            scope,
            fields["sku"],
            name=fields["name"],
            kind=fields["kind"],
            spec=fields["spec"],
            images={},
            published=fields["published"],
        )
        created.append(product.sku)
    return jsonify(created=created), 201


@merchant_api.get("/products/<sku>")
@requires_key
def get_product(sku: str) -> ResponseReturnValue:
    return _product_response(product_store.get_product(_scope(), sku))


@merchant_api.patch("/products/<sku>")
@requires_key
def update_product(sku: str) -> ResponseReturnValue:
    """JSON with any of: name, spec (merged into the stored one), published. With If-Match: "<version>"
    the change applies only to that version of the product (409 version_conflict otherwise)."""
    data = _json_body()
    product = product_store.update_product(
        _scope(),
        sku,
        name=data.get("name"),
        spec=data.get("spec"),
        published=data.get("published"),
        expected_version=_if_match(),
    )
    return _product_response(product)


@merchant_api.put("/products/<sku>/images")
@requires_key
def replace_images(sku: str) -> ResponseReturnValue:
    """Multipart `front` and/or `temple`: replace a glasses product's images."""
    images = _uploaded_images()
    if not images:
        raise ApiError(400, "missing_image", "send 'front' and/or 'temple'")
    return _product_response(product_store.update_product(_scope(), sku, images=images, expected_version=_if_match()))


@merchant_api.delete("/products/<sku>")
@requires_key
def delete_product(sku: str) -> ResponseReturnValue:
    product_store.delete_product(_scope(), sku)
    return "", 204


@merchant_api.get("/products/<sku>/images/<slot>.png")
@requires_key
def product_image(sku: str, slot: str) -> ResponseReturnValue:
    product = product_store.get_product(_scope(), sku)
    if slot not in product.assets:
        raise ApiError(404, "no_image", f"{sku!r} has no {slot} image")
    return Response(services().blobs.get(product.assets[slot]), mimetype="image/png")


@merchant_api.get("/products/<sku>/calibration")
@requires_key
def calibration(sku: str) -> ResponseReturnValue:
    """Lens centres of a glasses product: as stored, and as detected from the image."""
    product = product_store.get_product(_scope(), sku)
    if product.kind != "glasses":
        raise ApiError(400, "not_glasses", "only glasses have lenses to calibrate")
    return jsonify(lens_calibration(services().blobs, product))


@merchant_api.get("/products/<sku>/preview")
@requires_key
def stored_preview(sku: str) -> ResponseReturnValue:
    """The product (published or not) on the sample faces, as a JPEG."""
    shared = services()
    product = product_store.get_product(_scope(), sku)
    if product.kind == "look":
        products = shared.catalog(g.merchant.slug, published_only=False).resolve([sku])
    else:
        products = [shared.renderers.get(product, shared.blobs)]
    return _preview(products)


@merchant_api.post("/preview")
@requires_key
def draft_preview() -> ResponseReturnValue:
    """A makeup product that is not stored yet, on the sample faces: JSON {kind, spec}."""
    data = _json_body()
    kind, spec = str(data.get("kind") or ""), data.get("spec") or {}
    if kind not in MAKEUP_TYPES or not isinstance(spec, dict):
        raise ApiError(400, "bad_preview", f"send {{kind, spec}} for one of: {', '.join(MAKEUP_TYPES)}")
    return _preview([build_product(kind, {**spec, "type": kind}, {})])


def _preview(products: list[Product]) -> Response:
    response = Response(encode_image(services().sample_faces().preview(products), "jpeg", 88), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store"
    return response


@merchant_api.get("/origins")
@requires_key
def get_origins() -> ResponseReturnValue:
    return jsonify(origins=origins_of(_scope()))


@merchant_api.put("/origins")
@requires_key
def put_origins() -> ResponseReturnValue:
    """JSON {"origins": ["https://shop.example", ...]}: the sites allowed to embed the try-on."""
    origins = _json_body().get("origins")
    if not isinstance(origins, list):
        raise ApiError(400, "bad_json", 'send {"origins": [...]}')
    return jsonify(origins=set_origins(_scope(), [str(o) for o in origins]))


@merchant_api.get("/embedding")
@requires_key
def embedding() -> ResponseReturnValue:
    """Where the try-on was last seen embedded (a page's loader check or embed load), for the
    dashboard's checklist: {"last_seen": {"origin", "seen_at", "allowed"} | null}."""
    ctx = _scope()
    seen = last_sighting(ctx)
    if seen is None:
        return jsonify(last_seen=None)
    origins = origins_of(ctx)
    allowed = ANY_ORIGIN in origins or seen.origin in origins or seen.origin == request.host_url.rstrip("/")
    return jsonify(last_seen={"origin": seen.origin, "seen_at": seen.seen_at.isoformat(), "allowed": allowed})


@merchant_api.get("/analytics")
@requires_key
def analytics() -> ResponseReturnValue:
    """Per product: try-on sessions, products tried, snapshots, add-to-cart clicks."""
    return jsonify(products=usage(_scope()))
