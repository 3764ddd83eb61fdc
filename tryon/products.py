"""The product interface shared by glasses and makeup, and the built-in catalogue.

A product draws itself onto a frame given a tracked face and its anchor. Several products combine
into a look; they are drawn in layer order (skin first, eyewear last).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from tryon.anchor import FaceAnchor
from tryon.compositing import Layer
from tryon.errors import ProductError, UnknownProductError
from tryon.glasses import GlassesAsset, GlassesRenderer
from tryon.makeup import makeup_renderer, parse_makeup
from tryon.tracking import Face


@runtime_checkable
class Product(Protocol):
    """Anything that can be tried on.

    category: "glasses" or "makeup" (what draws it); a catalogue entry's `kind` is finer: the
    product type ("glasses", "lipstick", ..., "look").
    """

    category: str
    layer: int

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        """Draw onto the BGR frame in place."""


@runtime_checkable
class LayeredProduct(Protocol):
    """A product whose drawing is a list of layers fixed by the face's anchor (glasses): a stream
    blends the same layers again on the next frames of a face that did not move (`StreamEngine`)."""

    def layers(self, frame_shape: tuple[int, ...], face: Face, anchor: FaceAnchor) -> list[Layer]:
        """The layers `render` would blend, in order."""

    def motion(self, before: FaceAnchor, after: FaceAnchor) -> np.ndarray:
        """3x3 (frame px -> frame px): how what was drawn for `before` moves to where `after` puts it."""


def in_layer_order(products: Sequence[Product]) -> list[Product]:
    """Products sorted so that each is drawn over the ones beneath it (stable for equal layers)."""
    return sorted(products, key=lambda product: product.layer)


@dataclass(frozen=True)
class CatalogEntry:
    """What the catalogue lists about one product. `sku` is the product's identifier everywhere (the
    catalogue, the API, the embed snippet); built-in products use their folder or file name."""

    sku: str
    kind: str  # "glasses", a makeup type ("lipstick", ...) or "look"
    name: str


class Catalog:
    """A set of products by id; looks (lists of ids) expand into their products."""

    def entries(self) -> list[CatalogEntry]:
        """Everything on offer, sorted by id."""
        raise NotImplementedError

    def get(self, sku: str) -> Product:
        """A single product (not a look); UnknownProductError if there is none by that id."""
        raise NotImplementedError

    def look_members(self, sku: str) -> list[str] | None:
        """The SKUs a look is made of, or None when `sku` is not a look."""
        raise NotImplementedError

    def skus(self) -> list[str]:
        return [entry.sku for entry in self.entries()]

    def resolve(self, skus: Sequence[str]) -> list[Product]:
        """Products for a list of SKUs, looks expanded into their products."""
        products: list[Product] = []
        for sku in skus:
            members = self.look_members(sku)
            products += [self.get(member) for member in members] if members is not None else [self.get(sku)]
        return products

    def glasses_widths(self) -> dict[str, float]:
        """Front width (mm) of every glasses product, by SKU (what the size guide compares)."""
        widths = {}
        for entry in self.entries():
            product = self.get(entry.sku) if entry.kind == "glasses" else None
            width = getattr(product, "width_mm", None)
            if width is not None:
                widths[entry.sku] = float(width)
        return widths

    def swatch(self, sku: str) -> str | None:
        """The colour to show for a makeup product ("#rrggbb"), None for anything else."""
        product = self.get(sku)
        spec = getattr(product, "spec", None)
        colours = getattr(spec, "colours", None) or [getattr(spec, "colour", None)]
        return colours[-1] if colours[-1] and product.category == "makeup" else None


class BuiltinCatalog(Catalog):
    """The products shipped in `assets/` (the demo catalogue, and what the CLI offers).

    assets/glasses/<id>/glasses.json (+ images), assets/makeup/<id>.json (a makeup spec) and
    assets/looks/<id>.json ({"name", "products": [ids]}).
    """

    def __init__(self, assets_dir: Path) -> None:
        self.assets_dir = Path(assets_dir)
        self._cache: dict[str, Product] = {}

    def entries(self) -> list[CatalogEntry]:
        found = []
        for path in (self.assets_dir / "glasses").glob("*/glasses.json"):
            found.append(CatalogEntry(path.parent.name, "glasses", _read_json(path).get("name", path.parent.name)))
        for path in (self.assets_dir / "makeup").glob("*.json"):
            data = _read_json(path)
            found.append(CatalogEntry(path.stem, str(data.get("type", "makeup")), data.get("name") or path.stem))
        for path in (self.assets_dir / "looks").glob("*.json"):
            found.append(CatalogEntry(path.stem, "look", _read_json(path).get("name", path.stem)))
        return sorted(found, key=lambda entry: entry.sku)

    def get(self, sku: str) -> Product:
        if sku not in self._cache:
            glasses = self.assets_dir / "glasses" / sku
            makeup = self.assets_dir / "makeup" / f"{sku}.json"
            if _is_plain_id(sku) and (glasses / "glasses.json").is_file():
                self._cache[sku] = GlassesRenderer(GlassesAsset.load(glasses))
            elif _is_plain_id(sku) and makeup.is_file():
                self._cache[sku] = makeup_renderer(parse_makeup(_read_json(makeup)))
            else:
                raise UnknownProductError(f"unknown product {sku!r}; see the catalogue for the ids on offer")
        return self._cache[sku]

    def look_members(self, sku: str) -> list[str] | None:
        look = self.assets_dir / "looks" / f"{sku}.json"
        return list(_read_json(look)["products"]) if _is_plain_id(sku) and look.is_file() else None


def _is_plain_id(sku: str) -> bool:
    return bool(sku) and Path(sku).name == sku and not sku.startswith(".")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ProductError(f"{path}: {exc}") from exc
