"""Drawing a flat object into a photo as a camera would record it: shared by the card composites.

An object's artwork (BGRA, its own pixels) is averaged down to about the frame's scale with its
colour weighted by its coverage (an edge pixel is the mix of object and background, not darkened),
warped in perspective onto four corners in the frame, and the finished frame gets the camera's
blur, sensor noise and JPEG compression.
"""

from __future__ import annotations

import cv2
import numpy as np


def warped_layer(art: np.ndarray, scale: float, target: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The artwork (H, W, 4) uint8 BGRA, `scale` frame pixels per artwork pixel, warped so that its
    corners (clockwise from top left) land on `target` (4, 2) in a frame of `size` (width, height):
    float32 (h, w, 4), colour premultiplied by coverage, coverage in [0, 1] last."""
    alpha = art[..., 3:].astype(np.float32) / 255.0
    weighted = np.dstack([art[..., :3] * alpha, alpha]).astype(np.float32)
    small = cv2.resize(weighted, None, fx=min(scale, 1.0), fy=min(scale, 1.0), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    source = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], np.float32)
    warp = cv2.getPerspectiveTransform(source, target.astype(np.float32))
    return cv2.warpPerspective(small, warp, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))


def photographed(composite: np.ndarray, seed: int = 0, quality: int = 80) -> np.ndarray:
    """A float (H, W, 3) composite on the 0-255 scale as a camera delivers it: a little lens blur,
    sensor noise, JPEG at `quality`; uint8 BGR."""
    rng = np.random.default_rng(seed)
    composite = cv2.GaussianBlur(composite, (0, 0), 0.6) + rng.normal(0, 2.5, composite.shape)
    jpeg = cv2.imencode(".jpg", np.clip(composite, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded


def held_still(image: np.ndarray, frames: int, seed: int = 0, quality: int = 90) -> list[bytes]:
    """`frames` camera frames of a still scene (uint8 BGR), as a stream receives them: each with its
    own sensor noise (1.5 levels), JPEG-encoded at `quality`."""
    rng = np.random.default_rng(seed)
    noisy = (np.clip(image + rng.normal(0, 1.5, image.shape), 0, 255).astype(np.uint8) for _ in range(frames))
    return [cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes() for frame in noisy]
