"""Figures of the shade finder shared by its tests and bench: rank correlation, adjacency, and how
much a foundation shows on the cheeks it was matched to."""

from __future__ import annotations

import cv2
import numpy as np

from tryon.lighting import CHEEKS
from tryon.makeup.color import bgr_to_lab
from tryon.pipeline import scene_anchor
from tryon.products import Product
from tryon.shade import ShadeMatch
from tryon.tracking import Face


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 of (n,) values, ties given their mean rank."""
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="stable")
    result = np.empty(len(values))
    result[order] = np.arange(len(values))
    for value in np.unique(values):
        result[values == value] = result[values == value].mean()
    return result


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's rank correlation of two (n,) series (Pearson's on their ranks)."""
    return float(np.corrcoef(ranks(first), ranks(second))[0, 1])


def same_or_adjacent(reference: ShadeMatch, other: ShadeMatch) -> bool:
    """Whether `other` recommends the shade of `reference` or its lighter or darker neighbour."""
    return other.match.sku in {s.sku for s in (reference.match, reference.lighter, reference.darker) if s}


def cheek_delta_e(frame: np.ndarray, face: Face, product: Product, skin_reference: np.ndarray | None = None) -> float:
    """Mean CIE76 between `frame` and `product` drawn on it (in the frame's own light: estimated on the
    face, or against the shopper's measured cheeks where given), on the cheek patches."""
    drawn = frame.copy()
    product.render(drawn, face, scene_anchor(frame, face, skin_reference))
    mask = np.zeros(frame.shape[:2], np.uint8)
    for ids in CHEEKS:
        cv2.fillPoly(
            mask, [np.rint(cv2.convexHull(face.landmarks[list(ids), :2].astype(np.float32))).astype(np.int32)], 1
        )
    lab = [bgr_to_lab(image[mask > 0].astype(np.float32) / 255.0) for image in (frame, drawn)]
    return float(np.linalg.norm(lab[0] - lab[1], axis=-1).mean())
