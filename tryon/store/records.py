"""What store functions return: plain frozen records, copied out of the ORM rows inside the session,
so callers (the web layer) never hold a row that could lazy-load or be changed by accident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tryon.store.models import Merchant, ProductRow


@dataclass(frozen=True)
class MerchantAccount:
    """A merchant: its database id, its slug (the id in URLs) and display name."""

    id: int
    slug: str
    name: str

    @classmethod
    def from_row(cls, row: Merchant) -> MerchantAccount:
        return cls(id=row.id, slug=row.slug, name=row.name)


@dataclass(frozen=True)
class ProductRecord:
    """A stored product: its data (spec), the blob keys of its images (assets) and its state."""

    id: int
    merchant_id: int
    sku: str
    name: str
    kind: str
    spec: dict[str, Any]
    assets: dict[str, str]
    published: bool
    created_at: datetime
    updated_at: datetime
    version: int  # +1 on every change: what an edit names to be applied only to what it was made on

    @classmethod
    def from_row(cls, row: ProductRow) -> ProductRecord:
        return cls(
            id=row.id,
            merchant_id=row.merchant_id,
            sku=row.sku,
            name=row.name,
            kind=row.kind,
            spec=dict(row.spec),
            assets=dict(row.assets),
            published=row.published,
            created_at=row.created_at,
            updated_at=row.updated_at,
            version=row.version,
        )
