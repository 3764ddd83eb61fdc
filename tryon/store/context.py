"""What store functions act on: the database and the blob store together (a product lives in both:
its row names its image blobs), optionally narrowed to one merchant's data."""

from __future__ import annotations

from dataclasses import dataclass

from tryon.store.blobs import BlobStore
from tryon.store.database import Database


@dataclass(frozen=True)
class Store:
    """The catalogue's database and blob store."""

    db: Database
    blobs: BlobStore

    def for_merchant(self, merchant_id: int) -> MerchantContext:
        """The same store, seen by one merchant: calls given it read and change only that merchant's data."""
        return MerchantContext(self.db, self.blobs, merchant_id)


@dataclass(frozen=True)
class MerchantContext(Store):
    """A store scoped to one merchant (the one an API key authenticated)."""

    merchant_id: int
