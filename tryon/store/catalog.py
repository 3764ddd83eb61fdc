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
    """Built renderers by (product id, version), shared by all requests and all merchants.

    When full it evicts the least recently used renderer of the merchant holding the most, so one
    merchant's huge catalogue (or a crawler walking it) only ever evicts that merchant's own while
    others hold fewer; a product's older versions go as soon as a newer one is built.
    """

    def __init__(self, size: int = 256) -> None:
        self._by_merchant: dict[int, OrderedDict[tuple[int, int], Product]] = {}
        self._count = 0
        self._size = size
        self._lock = threading.Lock()

    def get(self, product: ProductRecord, blobs: BlobStore) -> Product:
        """The product's renderer, built from its stored data and images unless it is cached."""
        key = (product.id, product.version)
        with self._lock:
            entries = self._by_merchant.get(product.merchant_id)
            if entries is not None and key in entries:
                entries.move_to_end(key)
                return entries[key]
        renderer = build_product(product.kind, product.spec, {name: blobs.get(k) for name, k in product.assets.items()})
        with self._lock:
            entries = self._by_merchant.setdefault(product.merchant_id, OrderedDict())
            for stale in [cached for cached in entries if cached[0] == product.id and cached != key]:
                del entries[stale]
                self._count -= 1
            if key not in entries:
                self._count += 1
            entries[key] = renderer
            while self._count > self._size:
                largest = max(self._by_merchant.values(), key=len)
                largest.popitem(last=False)
                self._count -= 1
            self._by_merchant = {merchant: held for merchant, held in self._by_merchant.items() if held}
        return renderer

    def held(self) -> dict[int, int]:
        """How many renderers each merchant (by id) has in the cache."""
        with self._lock:
            return {merchant: len(entries) for merchant, entries in self._by_merchant.items()}


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
