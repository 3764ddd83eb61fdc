"""Applying colour to skin and lips in CIELAB so their own texture, shading and highlights survive.

`paint` blends a region of the frame towards an edited version of itself, pixel weights 0-1, and
leaves every pixel of weight 0 exactly as it was. The edits model pigment: `shade` moves a region's
mean colour to the product colour while keeping each pixel's deviation from that mean (scaled so
very dark and very light shades keep their texture without clipping).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from tryon.makeup.color import bgr8_to_lab, lab_to_bgr8
from tryon.makeup.regions import Roi

MIN_WEIGHT = 1.0 / 256.0  # below this no pixel can change by a visible step


@dataclass(frozen=True)
class Selection:
    """The pixels an edit works on: their Lab, weights, where they are, and the Lab of the whole region.

    mask and region_lab are at the working resolution (the ROI, or the ROI reduced for soft products).
    """

    lab: np.ndarray
    weights: np.ndarray
    mask: np.ndarray
    region_lab: np.ndarray
    roi: Roi

    def pick(self, field: np.ndarray) -> np.ndarray:
        """The values of a per-pixel map (working resolution) at the selected pixels."""
        return field[self.mask]

    def frame_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Frame pixel coordinates (x, y) of the selected pixels (working resolution = ROI resolution)."""
        ys, xs = np.nonzero(self.mask)
        return (xs + self.roi.x0).astype(np.float32), (ys + self.roi.y0).astype(np.float32)


Edit = Callable[[Selection], np.ndarray]
"""Returns the edited Lab (N, 3) of the selected pixels, at full strength."""


def paint(frame: np.ndarray, roi: Roi, weight: np.ndarray, edit: Edit, *, reduce: int = 1) -> None:
    """Blend frame[roi] towards `edit`'s result by `weight` (0-1) and leave weight-0 pixels exactly as they were.

    reduce=2 or 4 is for soft, low-frequency products (foundation, blush) whose change carries no fine
    detail: `weight` is then given at that fraction of the resolution (`roi.shape_at(reduce)`), the
    edit runs on a reduced copy of the region, and the colour change is upsampled onto every pixel,
    so the skin's own detail stays while the cost drops by reduce squared.
    """
    patch = frame[roi.slices]
    work = patch if reduce == 1 else cv2.resize(patch, weight.shape[::-1], interpolation=cv2.INTER_AREA)
    selected = weight > MIN_WEIGHT
    if not selected.any():
        return
    region_lab = bgr8_to_lab(work)
    edited = lab_to_bgr8(edit(Selection(region_lab[selected], weight[selected], selected, region_lab, roi)))
    original = work[selected].astype(np.float32)
    if reduce == 1:
        weights = weight[selected][:, None]
        patch[selected] = np.clip(original + weights * (edited - original) + 0.5, 0, 255).astype(np.uint8)
        return
    change = np.zeros(work.shape, np.float32)
    change[selected] = (edited - original) * weight[selected][:, None]
    change = cv2.resize(change, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_LINEAR)
    change += patch
    change += 0.5  # where nothing changed this rounds back to exactly the original value
    np.clip(change, 0, 255, out=change)
    patch[...] = change.astype(np.uint8)


def weighted_mean(lab: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return (lab * weights[:, None]).sum(axis=0) / max(float(weights.sum()), 1e-6)


def shade(selection: Selection, target: np.ndarray, chroma_texture: float = 0.35) -> np.ndarray:
    """Move the region's mean colour to `target` (Lab, one or per pixel), keeping pixel deviations.

    Lightness deviations are scaled so that a dark shade keeps its shadows above 0 and a light
    shade keeps its highlights below 100; a fraction of the chroma variation is kept as texture.
    """
    lab = selection.lab
    mean = weighted_mean(lab, selection.weights)
    target = np.broadcast_to(np.asarray(target, np.float32), lab.shape)
    deviation = lab[:, 0] - mean[0]
    brighter = np.clip((100.0 - target[:, 0]) / max(100.0 - mean[0], 1.0), 0.35, 1.5)
    darker = np.clip(target[:, 0] / max(mean[0], 1.0), 0.35, 1.5)
    result = np.empty_like(lab)
    result[:, 0] = np.clip(target[:, 0] + deviation * np.where(deviation > 0, brighter, darker), 0, 100)
    result[:, 1:] = target[:, 1:] + (lab[:, 1:] - mean[1:]) * chroma_texture
    return result


def sparkle(u: np.ndarray, v: np.ndarray, cells: float, density: float) -> np.ndarray:
    """Glitter, 0-1, in face-attached coordinates (u, v): the same flecks every frame, moving with the face.

    Each cell of a `cells` x `cells` grid per unit holds a fleck with probability `density`, at a
    position and brightness drawn from a hash of the cell, so nothing changes from frame to frame.
    """
    gu, gv = u * cells, v * cells
    iu, iv = np.floor(gu).astype(np.int64), np.floor(gv).astype(np.int64)
    hashed = _hash(iu, iv)
    present = (hashed & 0xFFFF) / 65535.0 < density
    centre_u = ((hashed >> 16) & 0xFF) / 255.0 * 0.6 + 0.2
    centre_v = ((hashed >> 24) & 0xFF) / 255.0 * 0.6 + 0.2
    distance2 = (gu - iu - centre_u) ** 2 + (gv - iv - centre_v) ** 2
    brightness = 0.5 + 0.5 * (((hashed >> 8) & 0xFF) / 255.0)
    return np.where(present, brightness * np.exp(-distance2 / (2 * 0.18**2)), 0.0).astype(np.float32)


def _hash(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A stable integer hash of two integer grids (xorshift-multiply)."""
    mask = np.uint64(0xFFFFFFFF)
    h = (a.astype(np.uint64) * np.uint64(0x9E3779B1) + b.astype(np.uint64) * np.uint64(0x85EBCA77)) & mask
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x2C1B3C6D)) & mask
    h ^= h >> np.uint64(12)
    h = (h * np.uint64(0x297A2D39)) & mask
    h ^= h >> np.uint64(15)
    return h.astype(np.int64)


def highlight_map(patch: np.ndarray, weight: np.ndarray, low_percentile: float, blur: float) -> np.ndarray:
    """0-1 map of a region's own bright spots (where light already catches it), softened by `blur` px."""
    gray = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32)
    inside = gray[weight > 0.5]
    if inside.size < 10:
        return np.zeros_like(gray)
    low, high = np.percentile(inside, [low_percentile, 99.5])
    spots = np.clip((gray - low) / max(high - low, 1.0), 0, 1) ** 1.5
    return cv2.GaussianBlur(spots, (0, 0), max(blur, 0.5)) * (weight > 0)


def face_coordinates(xy: tuple[np.ndarray, np.ndarray], origin: np.ndarray,
                     unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of frame points in a frame attached to the face: `origin`, x along `unit` (its length = 1)."""
    xs, ys = xy
    scale = float(np.dot(unit, unit))
    dx, dy = xs - origin[0], ys - origin[1]
    u = (dx * unit[0] + dy * unit[1]) / scale
    v = (-dx * unit[1] + dy * unit[0]) / scale
    return u, v
