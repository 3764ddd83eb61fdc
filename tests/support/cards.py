"""Composites for card calibration: an ID-1 card (85.60 x 53.98 mm, rounded corners) drawn on a
face's forehead at a known scale, as a shopper would hold it, with the look of a real photo of one.

The card is printed like a bank card (a colour gradient, a chip, stripes of "text"), lit by the
face's own brightness there, drawn through a perspective warp (roll in the image plane, optional
tilt away from the camera) with its edges' pixels mixing card and background by how much of each
they cover, as a sensor's do; then the whole frame gets the camera's blur, sensor noise and JPEG
compression.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from tryon.card import CARD_CORNER_MM, CARD_DEPTH_MM, CARD_HEIGHT_MM, CARD_WIDTH_MM

PX_PER_MM = 8  # the card's own artwork


def card_artwork(seed: int = 0) -> np.ndarray:
    """The card face, BGRA uint8, PX_PER_MM pixels per millimetre, transparent outside its rounded outline."""
    rng = np.random.default_rng(seed)
    width, height = round(CARD_WIDTH_MM * PX_PER_MM), round(CARD_HEIGHT_MM * PX_PER_MM)
    start, end = rng.uniform(40, 220, 3), rng.uniform(40, 220, 3)
    ramp = np.linspace(0, 1, width)[None, :, None]
    art = np.repeat(start + (end - start) * ramp, height, axis=0).astype(np.uint8)
    chip = (int(10 * PX_PER_MM), int(18 * PX_PER_MM))
    cv2.rectangle(art, chip, (chip[0] + 12 * PX_PER_MM, chip[1] + 9 * PX_PER_MM), (80, 180, 210), -1)
    for row in range(3):
        y = int((36 + 5 * row) * PX_PER_MM)
        cv2.rectangle(
            art,
            (10 * PX_PER_MM, y),
            (int((40 + 10 * rng.random()) * PX_PER_MM), y + 2 * PX_PER_MM),
            (235, 235, 235),
            -1,
        )
    alpha = np.zeros((height, width), np.uint8)
    radius = round(CARD_CORNER_MM * PX_PER_MM)
    cv2.rectangle(alpha, (radius, 0), (width - 1 - radius, height - 1), 255, -1)
    cv2.rectangle(alpha, (0, radius), (width - 1, height - 1 - radius), 255, -1)
    for cx, cy in (
        (radius, radius),
        (width - 1 - radius, radius),
        (radius, height - 1 - radius),
        (width - 1 - radius, height - 1 - radius),
    ):
        cv2.circle(alpha, (cx, cy), radius, 255, -1, cv2.LINE_AA)
    return np.dstack([art, alpha])


def with_card(
    photo: np.ndarray,
    eyes: np.ndarray,
    px_per_mm_at_irises: float,
    focal_px: float,
    *,
    roll_degrees: float = 0.0,
    tilt_degrees: float = 0.0,
    above_eye_distances: float = 1.25,
    seed: int = 0,
) -> np.ndarray:
    """`photo` with a card on the forehead, centred `above_eye_distances` eye distances above the
    eyes' midpoint (along the face), at the scale a card CARD_DEPTH_MM in front of the irises has
    when the irises are `px_per_mm_at_irises` (the camera's `focal_px` gives their distance);
    rolled in the image plane, and tilted about its long axis away from the camera."""
    distance_mm = focal_px / px_per_mm_at_irises
    scale = px_per_mm_at_irises * distance_mm / (distance_mm - CARD_DEPTH_MM) / PX_PER_MM
    art = card_artwork(seed)
    height, width = art.shape[:2]
    tilt = math.radians(tilt_degrees)
    # The card's corners around its centre (artwork pixels), as a pinhole camera sees it tilted about
    # its long axis: shorter, its top edge (farther away) narrower and its bottom edge wider.
    half_w, half_h = width / 2, height / 2
    depth_mm = CARD_HEIGHT_MM / 2 * math.sin(tilt)
    top, bottom = distance_mm / (distance_mm + depth_mm), distance_mm / (distance_mm - depth_mm)
    rise = half_h * math.cos(tilt)
    corners = np.array(
        [[-half_w * top, -rise], [half_w * top, -rise], [half_w * bottom, rise], [-half_w * bottom, rise]]
    )
    eye_distance = float(np.linalg.norm(eyes[1] - eyes[0]))
    along = (eyes[1] - eyes[0]) / eye_distance
    up = np.array([along[1], -along[0]]) if along[0] > 0 else np.array([-along[1], along[0]])
    centre = eyes.mean(axis=0) + up * above_eye_distances * eye_distance
    roll = math.radians(roll_degrees) + math.atan2(along[1], along[0])
    rotation = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]])
    target = centre + (corners * scale) @ rotation.T
    # As a sensor's pixels do, each pixel sums the light over its area: the artwork is first averaged
    # down to about the frame's scale, its colour weighted by its coverage (so that an edge pixel is
    # the mix of card and background, not darkened), then warped; the card's outline lands on `target`.
    alpha = art[..., 3:].astype(np.float32) / 255.0
    weighted = np.dstack([art[..., :3] * alpha, alpha]).astype(np.float32)
    small = cv2.resize(weighted, None, fx=min(scale, 1.0), fy=min(scale, 1.0), interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    source = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]], np.float32)
    warp = cv2.getPerspectiveTransform(source, target.astype(np.float32))
    size = (photo.shape[1], photo.shape[0])
    layer = cv2.warpPerspective(small, warp, size, flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0, 0))
    coverage = layer[..., 3:]
    light = cv2.GaussianBlur(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY).astype(np.float32), (0, 0), eye_distance / 2)
    shade = np.clip(light / max(float(np.percentile(light, 90)), 1.0), 0.55, 1.0)[..., None]
    composite = photo.astype(np.float32) * (1 - coverage) + layer[..., :3] * shade
    rng = np.random.default_rng(seed)
    composite = cv2.GaussianBlur(composite, (0, 0), 0.6) + rng.normal(0, 2.5, composite.shape)
    jpeg = cv2.imencode(".jpg", np.clip(composite, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded
