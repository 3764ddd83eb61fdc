"""Lens calibration of a glasses product: where its lenses are in the front image, as the merchant
gave them and as found by detection, so the dashboard can show both and let the merchant correct."""

from __future__ import annotations

from typing import Any

from tryon.errors import ProductError
from tryon.glasses import detect_lenses
from tryon.imaging import decode_image
from tryon.store.blobs import BlobStore
from tryon.store.records import ProductRecord


def lens_calibration(blobs: BlobStore, product: ProductRecord) -> dict[str, Any]:
    """The front image's size and its lens centres: given, detected, or not found (None)."""
    front = decode_image(blobs.get(product.assets["front"]), keep_alpha=True)
    height, width = front.shape[:2]
    try:
        detected = [list(region.centre) for region in detect_lenses(front[..., 3])]
    except ProductError:
        detected = None
    return {
        "width": width,
        "height": height,
        "detected": detected,
        "lens_centres_px": product.spec.get("lens_centres_px"),
    }
