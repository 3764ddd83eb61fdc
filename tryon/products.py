"""The product interface shared by glasses and makeup, and the built-in catalogue.

A product draws itself onto a frame given a tracked face and its anchor. Several products combine
into a look; they are drawn in layer order (skin first, eyewear last).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from tryon.anchor import FaceAnchor
from tryon.errors import ProductError
from tryon.glasses import GlassesAsset, GlassesRenderer
from tryon.tracking import Face


@runtime_checkable
class Product(Protocol):
    """Anything that can be tried on."""

    kind: str
    layer: int

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        """Draw onto the BGR frame in place."""


def in_layer_order(products: Sequence[Product]) -> list[Product]:
    """Products sorted so that each is drawn over the ones beneath it."""
    return sorted(products, key=lambda product: product.layer)


class BuiltinCatalog:
    """The products shipped in `assets/`: one folder per glasses style under assets/glasses/."""

    def __init__(self, assets_dir: Path) -> None:
        self.assets_dir = Path(assets_dir)
        self._cache: dict[str, Product] = {}

    def ids(self) -> list[str]:
        """Product ids available, sorted."""
        glasses = self.assets_dir / "glasses"
        return sorted(p.parent.name for p in glasses.glob("*/glasses.json"))

    def get(self, product_id: str) -> Product:
        """Load (once) and return a product; ProductError for an unknown id."""
        if product_id not in self._cache:
            if product_id not in self.ids():
                raise ProductError(f"unknown product {product_id!r}; available: {', '.join(self.ids())}")
            self._cache[product_id] = GlassesRenderer(GlassesAsset.load(self.assets_dir / "glasses" / product_id))
        return self._cache[product_id]
