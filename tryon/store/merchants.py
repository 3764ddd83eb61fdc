"""What merchants do to their catalogue: accounts and keys, products and their images, embed origins,
usage counts. Every change is one database transaction; images are stored before the row naming them."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlparse

import numpy as np
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from tryon.errors import ConflictError, ProductError, UnknownProductError
from tryon.glasses import GlassesSpec, detect_lenses
from tryon.imaging import decode_image, encode_image
from tryon.makeup import MAKEUP_TYPES
from tryon.products import BuiltinCatalog
from tryon.store.blobs import BlobStore
from tryon.store.catalog import build_product
from tryon.store.cutout import to_overlay
from tryon.store.database import Database
from tryon.store.keys import key_digest, new_key
from tryon.store.models import AllowedOrigin, ApiKey, Merchant, ProductRow, UsageCount

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PRODUCT_IMAGE_MAX_PIXELS = 16_000_000
EVENTS = ("session", "product_tried", "snapshot_taken", "add_to_cart")


def create_merchant(db: Database, slug: str, name: str) -> tuple[Merchant, str]:
    """A new merchant and its first API key (returned once, stored only as a digest)."""
    if not SKU_PATTERN.match(slug):
        raise ProductError("merchant slug: letters, digits, '.', '_' and '-' only, at most 64")
    key = new_key()
    try:
        with db.session() as session:
            merchant = Merchant(slug=slug, name=name)
            merchant.keys.append(ApiKey(prefix=key[:8], digest=key_digest(key)))
            session.add(merchant)
    except IntegrityError:
        raise ConflictError(f"merchant {slug!r} exists already") from None
    return merchant, key


def issue_key(db: Database, slug: str) -> str:
    """A further API key for an existing merchant."""
    key = new_key()
    with db.session() as session:
        merchant = session.scalar(select(Merchant).where(Merchant.slug == slug))
        if merchant is None:
            raise UnknownProductError(f"unknown merchant {slug!r}")
        session.add(ApiKey(merchant_id=merchant.id, prefix=key[:8], digest=key_digest(key)))
    return key


def authenticate(db: Database, key: str) -> Merchant | None:
    """The merchant an API key belongs to, or None."""
    with db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.digest == key_digest(key), ApiKey.revoked.is_(False)))
        return session.get(Merchant, row.merchant_id) if row else None


def _validated(kind: str, spec: dict[str, Any], images: dict[str, bytes]) -> tuple[dict, dict[str, bytes]]:
    """Check a product's data and images; returns the normalised spec and the images to store."""
    if kind == "glasses":
        if "front" not in images:
            raise ProductError("a glasses product needs a front image ('front')")
        try:
            validated = GlassesSpec.model_validate(spec)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ProductError(f"invalid glasses data: {first['loc']}: {first['msg']}") from exc
        spec = validated.model_dump(exclude_none=True, exclude={"front_image", "temple_image"})
        images = {name: encode_image(to_overlay(_decode_upload(data)), "png")
                  for name, data in images.items() if name in ("front", "temple")}
    elif kind == "look":
        if not isinstance(spec.get("products"), list) or not spec["products"]:
            raise ProductError("a look needs 'products': a list of SKUs")
        spec, images = {"products": [str(p) for p in spec["products"]]}, {}
    elif kind in MAKEUP_TYPES:
        spec, images = {**spec, "type": kind}, {}
    else:
        raise ProductError(f"unknown product kind {kind!r}")
    if kind != "look":
        build_product(kind, spec, images)  # proves the product can be drawn
    return spec, images


def _decode_upload(data: bytes) -> np.ndarray:
    return decode_image(data, max_pixels=PRODUCT_IMAGE_MAX_PIXELS, keep_alpha=True)


def create_product(db: Database, blobs: BlobStore, merchant_id: int, sku: str, name: str, kind: str,
                   spec: dict[str, Any], images: dict[str, bytes], published: bool = False) -> ProductRow:
    """Validate, store the images, then insert the row: all or nothing."""
    if not SKU_PATTERN.match(sku or ""):
        raise ProductError("sku: letters, digits, '.', '_' and '-' only, at most 64")
    if kind == "glasses":
        spec = {**spec, "name": spec.get("name") or name or sku}
    spec, images = _validated(kind, spec, images)
    assets = {slot: blobs.put(data) for slot, data in images.items()}
    try:
        with db.session() as session:
            row = ProductRow(merchant_id=merchant_id, sku=sku, name=name or sku, kind=kind, spec=spec,
                             assets=assets, published=published)
            session.add(row)
    except IntegrityError:
        raise ConflictError(f"a product with sku {sku!r} exists already") from None
    return row


def product_row(db: Database, merchant_id: int, sku: str) -> ProductRow:
    with db.session() as session:
        row = session.scalar(select(ProductRow).where(ProductRow.merchant_id == merchant_id, ProductRow.sku == sku))
    if row is None:
        raise UnknownProductError(f"unknown product {sku!r}")
    return row


def list_products(db: Database, merchant_id: int) -> list[ProductRow]:
    with db.session() as session:
        return list(session.scalars(select(ProductRow).where(ProductRow.merchant_id == merchant_id)
                                    .order_by(ProductRow.sku)))


def update_product(db: Database, blobs: BlobStore, merchant_id: int, sku: str, *, name: str | None = None,
                   spec: dict[str, Any] | None = None, images: dict[str, bytes] | None = None,
                   published: bool | None = None) -> ProductRow:
    """Change a product; new data is validated in full before anything is stored."""
    current = product_row(db, merchant_id, sku)
    new_spec, assets = current.spec, current.assets
    if spec is not None or images:  # a rename or a publish toggle needs no images read or written
        stored_images = {slot: blobs.get(key) for slot, key in current.assets.items()}
        new_spec, new_images = _validated(current.kind, {**current.spec, **(spec or {})},
                                          {**stored_images, **(images or {})})
        assets = {slot: blobs.put(data) for slot, data in new_images.items()}
    with db.session() as session:
        row = session.get(ProductRow, current.id)
        row.spec, row.assets = new_spec, assets
        if name is not None:
            row.name = name
        if published is not None:
            row.published = published
    return product_row(db, merchant_id, sku)


def delete_product(db: Database, merchant_id: int, sku: str) -> None:
    row = product_row(db, merchant_id, sku)
    with db.session() as session:
        session.execute(delete(ProductRow).where(ProductRow.id == row.id))


def lens_calibration(row: ProductRow, blobs: BlobStore) -> dict[str, Any]:
    """Where the lenses are in a glasses product's front image: given, detected, or not found."""
    front = decode_image(blobs.get(row.assets["front"]), keep_alpha=True)
    height, width = front.shape[:2]
    try:
        detected = [list(region.centre) for region in detect_lenses(front[..., 3])]
    except ProductError:
        detected = None
    return {"width": width, "height": height, "detected": detected, "lens_centres_px": row.spec.get("lens_centres_px")}


def set_origins(db: Database, merchant_id: int, origins: list[str]) -> list[str]:
    """Replace the web origins allowed to embed the merchant's try-on."""
    cleaned = sorted({_origin(o) for o in origins})
    with db.session() as session:
        session.execute(delete(AllowedOrigin).where(AllowedOrigin.merchant_id == merchant_id))
        session.add_all(AllowedOrigin(merchant_id=merchant_id, origin=o) for o in cleaned)
    return cleaned


def origins_of(db: Database, merchant_id: int) -> list[str]:
    with db.session() as session:
        return sorted(session.scalars(select(AllowedOrigin.origin).where(AllowedOrigin.merchant_id == merchant_id)))


def _origin(value: str) -> str:
    if value == "*":
        return value
    parsed = urlparse(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/"):
        raise ProductError(f"not an origin (scheme://host[:port]): {value!r}")
    return f"{parsed.scheme}://{parsed.netloc}".lower()


def record_event(db: Database, merchant_slug: str, sku: str, event: str) -> None:
    """Count a widget event for a published product of the merchant."""
    if event not in EVENTS:
        raise ProductError(f"event must be one of {', '.join(EVENTS)}")
    with db.session() as session:
        row = session.scalar(select(ProductRow).join(Merchant, Merchant.id == ProductRow.merchant_id)
                             .where(Merchant.slug == merchant_slug, ProductRow.sku == sku,
                                    ProductRow.published.is_(True)))
        if row is None:
            raise UnknownProductError(f"unknown product {sku!r}")
        product_id = row.id
    today = date.today()
    for _attempt in range(3):  # two first events of the day may race to insert the counter
        try:
            with db.session() as session:
                counter = session.scalar(select(UsageCount).where(
                    UsageCount.product_id == product_id, UsageCount.day == today, UsageCount.event == event))
                if counter is None:
                    session.add(UsageCount(product_id=product_id, day=today, event=event, count=1))
                else:
                    counter.count = UsageCount.count + 1
            return
        except IntegrityError:
            continue


def usage(db: Database, merchant_id: int) -> dict[str, dict[str, int]]:
    """Event totals per product SKU."""
    with db.session() as session:
        rows = session.execute(select(ProductRow.sku, UsageCount.event, UsageCount.count)
                               .join(UsageCount, UsageCount.product_id == ProductRow.id)
                               .where(ProductRow.merchant_id == merchant_id))
        totals: dict[str, dict[str, int]] = {}
        for sku, event, count in rows:
            totals.setdefault(sku, dict.fromkeys(EVENTS, 0))[event] += count
    return totals


def collect_garbage(db: Database, blobs: BlobStore, older_than_s: float = 3600.0) -> int:
    """Delete blobs no product refers to (left by a crash or by replaced images); returns how many.

    Blobs younger than `older_than_s` are spared: another server process may be about to commit the
    row that names them.
    """
    candidates = list(blobs.keys(older_than_s))
    with db.session() as session:
        referenced = {key for assets in session.scalars(select(ProductRow.assets)) for key in assets.values()}
    removed = 0
    for key in candidates:
        if key not in referenced:
            blobs.delete(key)
            removed += 1
    return removed


def seed_demo(db: Database, blobs: BlobStore, builtin: BuiltinCatalog, slug: str = "demo") -> bool:
    """Create the demo merchant with the built-in catalogue, published, embeddable anywhere (once)."""
    with db.session() as session:
        if session.scalar(select(Merchant).where(Merchant.slug == slug)) is not None:
            return False
    try:
        merchant, _ = create_merchant(db, slug, "Demo store")
    except ConflictError:  # another worker process seeded it first
        return False
    set_origins(db, merchant.id, ["*"])
    for entry in builtin.entries():
        if entry.kind == "glasses":
            folder = builtin.assets_dir / "glasses" / entry.id
            spec = GlassesSpec.model_validate_json((folder / "glasses.json").read_text())
            images = {"front": (folder / spec.front_image).read_bytes()}
            if spec.temple_image:
                images["temple"] = (folder / spec.temple_image).read_bytes()
            create_product(db, blobs, merchant.id, entry.id, entry.name, "glasses", spec.model_dump(), images, True)
        elif entry.kind == "look":
            members = builtin.look_members(entry.id)
            create_product(db, blobs, merchant.id, entry.id, entry.name, "look", {"products": members}, {}, True)
        else:
            spec = builtin.get(entry.id).spec.model_dump()
            create_product(db, blobs, merchant.id, entry.id, entry.name, entry.kind, spec, {}, True)
    return True
