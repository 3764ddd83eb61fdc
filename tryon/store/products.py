"""A merchant's products: validated in full (data and images) before anything is stored; images are
stored before the row naming them, and every change is one database transaction, so a crash never
leaves a half product (unreferenced blobs are collected by tryon.store.maintenance)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tryon.errors import ConflictError, ProductError, UnknownProductError
from tryon.glasses import GlassesSpec
from tryon.imaging import decode_image, encode_image
from tryon.makeup import MAKEUP_TYPES
from tryon.store.blobs import BlobStore
from tryon.store.catalog import build_product
from tryon.store.context import MerchantContext
from tryon.store.cutout import to_overlay
from tryon.store.models import ProductRow, utc_now
from tryon.store.records import ProductRecord
from tryon.store.slugs import require_slug

PRODUCT_IMAGE_MAX_PIXELS = 16_000_000


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


def update_product(
    ctx: MerchantContext,
    sku: str,
    *,
    name: str | None = None,
    spec: dict[str, Any] | None = None,
    images: dict[str, bytes] | None = None,
    published: bool | None = None,
) -> ProductRecord:
    """Change a product; new data is validated in full, with the stored data it is merged into,
    before anything is stored. Only the columns asked for are written, so two changes to different
    parts (the images and the spec, a rename and a publish) made at once both hold; a product
    deleted meanwhile is UnknownProductError (404), not a failed write."""
    current = get_product(ctx, sku)
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
    if name is not None:
        changes["name"] = name
    if published is not None:
        changes["published"] = published
    if changes:
        with ctx.db.session() as session:
            query = update(ProductRow).where(ProductRow.merchant_id == ctx.merchant_id, ProductRow.sku == sku)
            result = session.execute(query.values(**changes, updated_at=utc_now()))
            if getattr(result, "rowcount", 1) == 0:
                raise UnknownProductError(f"unknown product {sku!r}")
    return get_product(ctx, sku)


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
    """Glasses data as GlassesSpec accepts it; uploads turned into RGBA overlays (background removed)."""
    if "front" not in images:
        raise ProductError("a glasses product needs a front image ('front')")
    try:
        validated = GlassesSpec.model_validate(spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ProductError(f"invalid glasses data: {first['loc']}: {first['msg']}") from exc
    spec = validated.model_dump(exclude_none=True, exclude={"front_image", "temple_image"})
    images = {
        name: encode_image(to_overlay(_decode_upload(data)), "png")
        for name, data in images.items()
        if name in ("front", "temple")
    }
    return spec, images


def _decode_upload(data: bytes) -> np.ndarray:
    """An uploaded image, refused (InvalidImageError) beyond PRODUCT_IMAGE_MAX_PIXELS before it is decoded."""
    return decode_image(data, max_pixels=PRODUCT_IMAGE_MAX_PIXELS, keep_alpha=True)
