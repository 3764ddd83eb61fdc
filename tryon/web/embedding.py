"""Whether a product page may show a merchant's try-on, and where the try-on was seen embedded.

The loader (static/tryon.js) asks before it shows its button, so a shopper never opens a dialog
that cannot work; the answers and embed-page loads note the page's origin for the dashboard's
checklist (throttled: see tryon.store.sightings).
"""

from __future__ import annotations

from flask import current_app, request

from tryon.errors import UnknownMerchantError, UnknownProductError
from tryon.store import products as product_store
from tryon.store.context import Store
from tryon.store.sightings import SightingLog
from tryon.web.services import services


def own_origin() -> str:
    """The service's own origin (pages it serves itself, such as the demo store)."""
    return request.host_url.rstrip("/")


def note_origin(merchant_id: int, origin: str) -> None:
    """Remember `origin` as where the merchant's try-on was last seen (at most every few minutes)."""
    log = current_app.extensions.get("tryon.sightings")
    if log is None:
        log = current_app.extensions.setdefault("tryon.sightings", SightingLog(services().db))
    log.note(merchant_id, origin)


def embeddable(slug: str, sku: str, origin: str) -> str | None:
    """None when a page at `origin` may try on `sku`, else why not: unknown_merchant, origin_not_allowed
    (nothing is told about the products then), unknown_product or unpublished."""
    shared = services()
    try:
        catalog = shared.catalog(slug)
    except UnknownMerchantError:
        return "unknown_merchant"
    note_origin(catalog.merchant_id, origin)
    if origin != own_origin() and not catalog.allows_origin(origin):
        return "origin_not_allowed"
    try:
        product = product_store.get_product(Store(shared.db, shared.blobs).for_merchant(catalog.merchant_id), sku)
    except UnknownProductError:
        return "unknown_product"
    return None if product.published else "unpublished"
