"""A merchant's catalogue as products to draw: rows from the database, images from the blob store."""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import select

from tryon.errors import UnknownMerchantError, UnknownProductError
from tryon.glasses import GlassesAsset, GlassesRenderer, GlassesSpec
from tryon.imaging import decode_image
from tryon.makeup import makeup_renderer, parse_makeup
from tryon.products import Catalog, CatalogEntry, Product
from tryon.store.blobs import BlobStore
from tryon.store.database import Database
from tryon.store.models import Merchant, ProductRow
from tryon.store.records import ProductRecord


class RendererCache:
    """Built renderers by (product id, version), shared by all requests; least recently used go first."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[tuple[int, int], Product] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, product: ProductRecord, blobs: BlobStore) -> Product:
        """The product's renderer, built from its stored data and images unless it is cached."""
        key = (product.id, product.version)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        renderer = build_product(product.kind, product.spec, {name: blobs.get(k) for name, k in product.assets.items()})
        with self._lock:
            self._items[key] = renderer
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return renderer


def build_product(kind: str, spec: dict, images: dict[str, bytes]) -> Product:
    """A renderer from stored data; raises ProductError / InvalidImageError when the data is unusable."""
    if kind == "glasses":
        front = decode_image(images["front"], keep_alpha=True)
        temple = decode_image(images["temple"], keep_alpha=True) if "temple" in images else None
        return GlassesRenderer(GlassesAsset(GlassesSpec.model_validate(spec), front, temple))
    return makeup_renderer(parse_makeup(spec))


class StoreCatalog(Catalog):
    """One merchant's products; by default only the published ones (what shoppers may see)."""

    def __init__(
        self, db: Database, blobs: BlobStore, cache: RendererCache, merchant_slug: str, published_only: bool = True
    ) -> None:
        self.db, self.blobs, self.cache = db, blobs, cache
        self.published_only = published_only
        with db.session() as session:
            merchant = session.scalar(select(Merchant).where(Merchant.slug == merchant_slug))
            if merchant is None:
                raise UnknownMerchantError(f"unknown merchant {merchant_slug!r}")
            self.merchant_id = merchant.id
            self.origins = [o.origin for o in merchant.origins]

    def _rows(self, sku: str | None = None) -> list[ProductRecord]:
        query = select(ProductRow).where(ProductRow.merchant_id == self.merchant_id)
        if sku is not None:
            query = query.where(ProductRow.sku == sku)
        if self.published_only:
            query = query.where(ProductRow.published.is_(True))
        with self.db.session() as session:
            return [ProductRecord.from_row(row) for row in session.scalars(query.order_by(ProductRow.sku))]

    def _row(self, sku: str) -> ProductRecord:
        rows = self._rows(sku)
        if not rows:
            raise UnknownProductError(f"unknown product {sku!r}")
        return rows[0]

    def entries(self) -> list[CatalogEntry]:
        return [CatalogEntry(row.sku, row.kind, row.name) for row in self._rows()]

    def get(self, sku: str) -> Product:
        row = self._row(sku)
        if row.kind == "look":
            raise UnknownProductError(f"{sku!r} is a look, not a single product")
        return self.cache.get(row, self.blobs)

    def look_members(self, sku: str) -> list[str] | None:
        row = self._row(sku)
        return list(row.spec["products"]) if row.kind == "look" else None

    def image(self, sku: str, slot: str = "front") -> bytes:
        """A stored image of a (visible) glasses product."""
        row = self._row(sku)
        if slot not in row.assets:
            raise UnknownProductError(f"{sku!r} has no {slot} image")
        return self.blobs.get(row.assets[slot])

    def glasses_widths(self) -> dict[str, float]:
        """From the stored specs alone: no renderer is built, so a 300-frame catalogue costs a query."""
        return {row.sku: GlassesSpec.model_validate(row.spec).width_mm for row in self._rows() if row.kind == "glasses"}

    def allows_origin(self, origin: str) -> bool:
        """Whether a page at `origin` may use this merchant's try-on ("*" allows every origin)."""
        return "*" in self.origins or origin in self.origins
