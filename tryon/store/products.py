"""A merchant's products: validated in full (data and images) before anything is stored; images are
stored before the row naming them, and every change is one database transaction, so a crash never
leaves a half product (unreferenced blobs are collected by tryon.store.maintenance)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tryon.errors import ConflictError, ProductError, UnknownProductError, VersionConflictError
from tryon.glasses import GlassesSpec
from tryon.imaging import decode_image, encode_image, image_size
from tryon.makeup import MAKEUP_TYPES
from tryon.store.blobs import BlobStore
from tryon.store.catalog import build_product
from tryon.store.context import MerchantContext
from tryon.store.cutout import to_overlay
from tryon.store.models import ProductRow, utc_now
from tryon.store.records import ProductRecord
from tryon.store.slugs import require_slug

PRODUCT_IMAGE_MAX_PIXELS = 16_000_000
# Overlays are kept at most this long (px): a front 2048 px wide is drawn sharp across a 4K photo's
# face, and what a 16 MP upload costs in memory is then paid once, on a scaled-down copy.
OVERLAY_MAX_SIDE = 2048
# Uploads turned into overlays at once per process: each costs up to ~100 MB for a moment.
IMAGE_WORK = threading.BoundedSemaphore(2)


def create_product(
    ctx: MerchantContext,
    sku: str,
    *,
    name: str,
    kind: str,
    spec: dict[str, Any],
    images: dict[str, bytes],
    published: bool = False,
) -> ProductRecord:
    """Validate, store the images, then insert the row: all or nothing."""
    require_slug(sku, field="sku")
    if kind == "glasses":
        spec = {**spec, "name": spec.get("name") or name or sku}
    spec, images = _validated(kind, spec, images)
    assets = _put_images(ctx.blobs, images)
    try:
        with ctx.db.session() as session:
            session.add(
                ProductRow(
                    merchant_id=ctx.merchant_id,
                    sku=sku,
                    name=name or sku,
                    kind=kind,
                    spec=spec,
                    assets=assets,
                    published=published,
                )
            )
    except IntegrityError:
        raise ConflictError(f"a product with sku {sku!r} exists already") from None
    return get_product(ctx, sku)


def get_product(ctx: MerchantContext, sku: str) -> ProductRecord:
    """The merchant's product (published or not); UnknownProductError when it has none by that SKU."""
    with ctx.db.session() as session:
        return ProductRecord.from_row(_row(session, ctx, sku))


def list_products(ctx: MerchantContext) -> list[ProductRecord]:
    """All the merchant's products, by SKU."""
    with ctx.db.session() as session:
        rows = session.scalars(
            select(ProductRow).where(ProductRow.merchant_id == ctx.merchant_id).order_by(ProductRow.sku)
        )
        return [ProductRecord.from_row(row) for row in rows]


UPDATE_ATTEMPTS = 5  # a change merged into a row that others changed meanwhile is merged again


def update_product(
    ctx: MerchantContext,
    sku: str,
    *,
    name: str | None = None,
    spec: dict[str, Any] | None = None,
    images: dict[str, bytes] | None = None,
    published: bool | None = None,
    expected_version: int | None = None,
) -> ProductRecord:
    """Change a product; new data is validated in full, with the stored data it is merged into,
    before anything is stored.

    Every change is written only if the row is still at the version it was merged into, and moves
    it to the next version; when another change came first, this one is merged again into the new
    row (a spec edit and an image upload at once both hold). With `expected_version` (the version
    the client's edit was made on, HTTP If-Match) a row that has moved on is a ConflictError (409)
    instead: the client decides. A product deleted meanwhile is UnknownProductError (404).
    """
    for _attempt in range(UPDATE_ATTEMPTS):
        current = get_product(ctx, sku)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflictError(f"{sku!r} is at version {current.version}, not {expected_version}")
        changes = _changes(ctx, current, name=name, spec=spec, images=images, published=published)
        if not changes:
            return current
        with ctx.db.session() as session:
            query = update(ProductRow).where(
                ProductRow.merchant_id == ctx.merchant_id, ProductRow.sku == sku, ProductRow.version == current.version
            )
            result = session.execute(query.values(**changes, updated_at=utc_now(), version=current.version + 1))
            written = getattr(result, "rowcount", 1) != 0
        if written:
            return get_product(ctx, sku)
    raise VersionConflictError(f"{sku!r} kept changing while this change was made; try again")


def _changes(
    ctx: MerchantContext,
    current: ProductRecord,
    *,
    name: str | None,
    spec: dict[str, Any] | None,
    images: dict[str, bytes] | None,
    published: bool | None,
) -> dict[str, Any]:
    """The columns to write for a change of `current`, validated; only those asked for."""
    changes: dict[str, Any] = {}
    if spec is not None or images:  # a rename or a publish toggle needs no images read or written
        stored_images = {slot: ctx.blobs.get(key) for slot, key in current.assets.items()}
        new_spec, new_images = _validated(
            current.kind, {**current.spec, **(spec or {})}, {**stored_images, **(images or {})}
        )
        if spec is not None:
            changes["spec"] = new_spec
        if images:
            changes["assets"] = _put_images(ctx.blobs, new_images)
    if name is not None and name != current.name:
        changes["name"] = name
    if published is not None and published != current.published:
        changes["published"] = published
    return changes


def delete_product(ctx: MerchantContext, sku: str) -> None:
    """Remove a product (its images go with the next garbage collection)."""
    with ctx.db.session() as session:
        session.execute(delete(ProductRow).where(ProductRow.id == _row(session, ctx, sku).id))


def _row(session: Session, ctx: MerchantContext, sku: str) -> ProductRow:
    """The merchant's row for `sku`: another merchant's product with the same SKU is never found."""
    row = session.scalar(select(ProductRow).where(ProductRow.merchant_id == ctx.merchant_id, ProductRow.sku == sku))
    if row is None:
        raise UnknownProductError(f"unknown product {sku!r}")
    return row


def _put_images(blobs: BlobStore, images: dict[str, bytes]) -> dict[str, str]:
    """Store the images; returns the blob key of each slot (what the row keeps)."""
    return {slot: blobs.put(data) for slot, data in images.items()}


def _validated(kind: str, spec: dict[str, Any], images: dict[str, bytes]) -> tuple[dict, dict[str, bytes]]:
    """Check a product's data and images; returns the normalised spec and the images to store."""
    if kind == "glasses":
        spec, images = _validated_glasses(spec, images)
    elif kind == "look":
        if not isinstance(spec.get("products"), list) or not spec["products"]:
            raise ProductError("a look needs 'products': a list of SKUs")
        spec, images = {"products": [str(p) for p in spec["products"]]}, {}
    elif kind in MAKEUP_TYPES:
        if images:
            raise ProductError(f"a {kind} is defined by its data alone: no images (got {', '.join(sorted(images))})")
        spec = {**spec, "type": kind}
    else:
        raise ProductError(f"unknown product kind {kind!r}")
    if kind != "look":
        build_product(kind, spec, images)  # proves the product can be drawn
    return spec, images


def _validated_glasses(spec: dict[str, Any], images: dict[str, bytes]) -> tuple[dict, dict[str, bytes]]:
    """Glasses data as GlassesSpec accepts it; uploads turned into RGBA overlays (background removed)
    of at most OVERLAY_MAX_SIDE, the spec's pixel positions scaled with the front image."""
    if "front" not in images:
        raise ProductError("a glasses product needs a front image ('front')")
    try:
        validated = GlassesSpec.model_validate(spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ProductError(f"invalid glasses data: {first['loc']}: {first['msg']}") from exc
    overlays: dict[str, bytes] = {}
    with IMAGE_WORK:
        for slot in ("front", "temple"):
            if slot in images:
                overlay, scale = _overlay(images[slot])
                overlays[slot] = encode_image(overlay, "png")
                if slot == "front":
                    validated = validated.scaled(scale)
    return validated.model_dump(exclude_none=True, exclude={"front_image", "temple_image"}), overlays


def _overlay(data: bytes) -> tuple[np.ndarray, float]:
    """An uploaded image as an RGBA overlay and the scale it was reduced by (1.0: kept as it was); refused
    (InvalidImageError) beyond PRODUCT_IMAGE_MAX_PIXELS before it is decoded."""
    image = decode_image(data, max_pixels=PRODUCT_IMAGE_MAX_PIXELS, keep_alpha=True, max_side=OVERLAY_MAX_SIDE)
    return to_overlay(image), max(image.shape[:2]) / max(image_size(data))
