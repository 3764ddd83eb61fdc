"""Regions of interest and soft masks built from landmark contours.

All work happens in a `Roi`: the bounding box of the landmarks involved, padded by the feather, so
the cost of a product follows the size of the face, not of the frame. Feathering is proportional
to the face size (the distance between the eyes).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SUBPIXEL_BITS = 4


@dataclass(frozen=True)
class Roi:
    """A box of the frame: x0 <= x < x1, y0 <= y < y1."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y1), slice(self.x0, self.x1)

    @property
    def shape(self) -> tuple[int, int]:
        return self.y1 - self.y0, self.x1 - self.x0

    def shape_at(self, reduce: int) -> tuple[int, int]:
        """(height, width) of the box sampled every `reduce` pixels."""
        height, width = self.shape
        return max(height // reduce, 1), max(width // reduce, 1)

    def local(self, points: np.ndarray, reduce: int = 1) -> np.ndarray:
        """Frame pixel coordinates -> coordinates inside the box (at 1/reduce resolution)."""
        local = np.asarray(points, dtype=np.float64)[..., :2] - (self.x0, self.y0)
        if reduce == 1:
            return local
        (height, width), (small_h, small_w) = self.shape, self.shape_at(reduce)
        return local * (small_w / width, small_h / height)


def roi_around(points: np.ndarray, padding: float, frame_shape: tuple[int, ...]) -> Roi | None:
    """The padded bounding box of `points`, clipped to the frame; None when nothing is left."""
    points = np.asarray(points)[..., :2].reshape(-1, 2)
    height, width = frame_shape[:2]
    x0 = max(int(np.floor(points[:, 0].min() - padding)), 0)
    y0 = max(int(np.floor(points[:, 1].min() - padding)), 0)
    x1 = min(int(np.ceil(points[:, 0].max() + padding)) + 1, width)
    y1 = min(int(np.ceil(points[:, 1].max() + padding)) + 1, height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return Roi(x0, y0, x1, y1)


def polygon_mask(roi: Roi, polygons: list[np.ndarray], reduce: int = 1) -> np.ndarray:
    """Anti-aliased coverage (float32, 0-1) of filled polygons given in frame coordinates.

    reduce > 1 draws at that fraction of the resolution (shape `roi.shape_at(reduce)`).
    """
    mask = np.zeros(roi.shape_at(reduce), np.uint8)
    scale = 1 << SUBPIXEL_BITS
    for polygon in polygons:
        points = np.rint(roi.local(polygon, reduce) * scale).astype(np.int32)
        cv2.fillPoly(mask, [points], 255, cv2.LINE_AA, shift=SUBPIXEL_BITS)
    return mask.astype(np.float32) / 255.0


def feather(mask: np.ndarray, sigma: float, *, inside: bool = False) -> np.ndarray:
    """Soften a mask's edges with a Gaussian of `sigma` pixels.

    inside=True first pulls the edge in by 1.5 sigma and drops the faint tail, so the soft edge ends
    at the outline instead of spilling past it (lipstick must not bleed onto the skin).
    """
    if sigma < 0.3:
        return mask
    if not inside:
        return cv2.GaussianBlur(mask, (0, 0), sigma)
    radius = int(np.ceil(1.5 * sigma))
    shrunk = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return np.clip(cv2.GaussianBlur(shrunk, (0, 0), sigma) * 1.05 - 0.05, 0.0, 1.0)


def inner_ramp(mask: np.ndarray, width: float, inset: float = 0.0) -> np.ndarray:
    """A mask that is 0 up to `inset` pixels inside the region's edge and rises smoothly to 1 over `width`."""
    inside = (mask >= 0.5).astype(np.uint8)
    distance = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    t = np.clip((distance - inset) / max(width, 1.0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def cut_out(mask: np.ndarray, roi: Roi, polygons: list[np.ndarray], grow_px: float = 1.0) -> np.ndarray:
    """Remove polygons (the open mouth, the eyes) from a mask, hard: nothing is left inside them."""
    hole = polygon_mask(roi, polygons)
    radius = max(int(np.ceil(grow_px)), 0)
    if radius:
        hole = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return mask * (hole <= 0.0)


def ellipse_polygon(centre: np.ndarray, axis: np.ndarray, major: float, minor: float, points: int = 48) -> np.ndarray:
    """An ellipse as a polygon: `axis` gives the direction of the major radius."""
    direction = axis / max(np.linalg.norm(axis), 1e-9)
    normal = np.array([-direction[1], direction[0]])
    angles = np.linspace(0, 2 * np.pi, points, endpoint=False)
    return centre + np.outer(np.cos(angles) * major, direction) + np.outer(np.sin(angles) * minor, normal)


def resample(polyline: np.ndarray, count: int) -> np.ndarray:
    """`count` points evenly spaced along a polyline."""
    polyline = np.asarray(polyline, dtype=np.float64)
    lengths = np.r_[0, np.cumsum(np.linalg.norm(np.diff(polyline, axis=0), axis=1))]
    targets = np.linspace(0, lengths[-1], count)
    return np.column_stack([np.interp(targets, lengths, polyline[:, i]) for i in range(polyline.shape[1])])
