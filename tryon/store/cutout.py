"""Turning a merchant's glasses photo into an RGBA overlay.

A PNG that already has transparency is kept. A photo on a plain light background (a packshot) gets
its background removed: pixels close in colour to the border's background colour and connected to
the border become transparent, and so do large enclosed background-coloured areas (the lens
openings), with a soft edge. Anything else is refused with a reason.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.errors import ProductError

BACKGROUND_MIN_LIGHTNESS = 70.0
CLOSE = 12.0  # Lab distance counted as background
FAR = 24.0  # Lab distance counted as frame; in between, partially transparent


def to_overlay(image: np.ndarray) -> np.ndarray:
    """BGRA overlay of a glasses front image (BGRA or BGR)."""
    if image.ndim == 3 and image.shape[2] == 4 and image[..., 3].min() < 250:
        return image
    bgr = image[..., :3]
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]])
    background = np.median(border, axis=0)
    if background[0] < BACKGROUND_MIN_LIGHTNESS or np.hypot(*background[1:]) > 12:
        raise ProductError("the glasses image needs a transparent background (RGBA PNG) or a plain white/light one")
    if np.median(np.linalg.norm(border - background, axis=1)) > CLOSE:
        raise ProductError("the glasses image's background is not plain enough to remove; upload an RGBA PNG")
    distance = np.linalg.norm(lab - background, axis=2)
    background_like = (distance < FAR).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(background_like, connectivity=4)
    height, width = distance.shape
    clear = np.zeros((height, width), bool)
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches_border = x == 0 or y == 0 or x + w == width or y + h == height
        if touches_border or area >= 0.01 * width * height:  # the background, or a lens opening
            clear |= labels == label
    alpha = np.clip((distance - CLOSE) / (FAR - CLOSE), 0.0, 1.0)
    alpha = np.where(clear, alpha, 1.0)
    if alpha.mean() > 0.97:
        raise ProductError("no background could be found around the glasses")
    # Undo the background's tint on partially transparent edge pixels (un-premultiply against it).
    background_bgr = np.median(np.concatenate([bgr[0], bgr[-1], bgr[:, 0], bgr[:, -1]]), axis=0)
    safe = np.maximum(alpha, 1e-3)[..., None]
    colour = np.clip((bgr.astype(np.float32) - (1 - alpha[..., None]) * background_bgr) / safe, 0, 255)
    return np.dstack([colour, alpha * 255.0]).round().astype(np.uint8)
