"""Start-up housekeeping of the store: collecting blobs no product refers to, and seeding the demo
merchant with the built-in catalogue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tryon.errors import ConflictError
from tryon.glasses import GlassesSpec
from tryon.makeup import MakeupRenderer
from tryon.products import BuiltinCatalog, CatalogEntry
from tryon.store.accounts import create_merchant, find_merchant
from tryon.store.context import Store
from tryon.store.models import ProductRow
from tryon.store.origins import ANY_ORIGIN, set_origins
from tryon.store.products import create_product


def collect_garbage(store: Store, *, older_than_s: float = 3600.0) -> int:
    """Delete blobs no product refers to (left by a crash or by replaced images); returns how many.

    Blobs younger than `older_than_s` are spared: another server process may be about to commit the
    row that names them.
    """
    candidates = list(store.blobs.keys(older_than_s))
    with store.db.session() as session:
        referenced = {key for assets in session.scalars(select(ProductRow.assets)) for key in assets.values()}
    removed = 0
    for key in candidates:
        if key not in referenced:
            store.blobs.delete(key)
            removed += 1
    return removed


def seed_demo(store: Store, builtin: BuiltinCatalog, *, slug: str) -> bool:
    """Create the demo merchant with the built-in catalogue, published, embeddable anywhere (once);
    returns whether this call created it."""
    if find_merchant(store.db, slug) is not None:
        return False
    try:
        merchant, _key = create_merchant(store.db, slug, name="Demo store")
    except ConflictError:  # another worker process seeded it first
        return False
    ctx = store.for_merchant(merchant.id)
    set_origins(ctx, [ANY_ORIGIN])
    for entry in builtin.entries():
        spec, images = _builtin_product(builtin, entry)
        create_product(ctx, entry.sku, name=entry.name, kind=entry.kind, spec=spec, images=images, published=True)
    return True


def _builtin_product(builtin: BuiltinCatalog, entry: CatalogEntry) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A built-in product as a merchant would upload it: its data and, for glasses, its image files."""
    if entry.kind == "glasses":
        folder = builtin.assets_dir / "glasses" / entry.sku
        spec = GlassesSpec.model_validate_json((folder / "glasses.json").read_text())
        images = {"front": (folder / spec.front_image).read_bytes()}
        if spec.temple_image:
            images["temple"] = (folder / spec.temple_image).read_bytes()
        return spec.model_dump(), images
    if entry.kind == "look":
        return {"products": builtin.look_members(entry.sku)}, {}
    product = builtin.get(entry.sku)
    assert isinstance(product, MakeupRenderer)  # glasses and looks are handled above
    return product.spec.model_dump(), {}
