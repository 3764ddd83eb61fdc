"""Composites for card calibration: an ID-1 card (85.60 x 53.98 mm, rounded corners) drawn on a
face's forehead at a known scale, as a shopper would hold it, with the look of a real photo of one.

The card is printed like a bank card (a colour gradient, a chip, stripes of "text"), lit by the
face's own brightness there, or plain white (for the light's calibration, tryon.white_card) and lit
by the reference light, drawn through a perspective warp (roll in the image plane, optional
tilt away from the camera) as a camera records it (tests/support/compose.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from tests.support.compose import photographed, warped_layer
from tryon.card import CARD_CORNER_MM, CARD_DEPTH_MM, CARD_HEIGHT_MM, CARD_WIDTH_MM
from tryon.fit import IRIS_DIAMETER_MM
from tryon.lighting import to_srgb
from tryon.tracking import FaceTracker

PX_PER_MM = 8  # the card's own artwork
LONDON = Path(__file__).resolve().parent.parent / "data" / "faces"


def hand_placed(name: str) -> tuple[float, float]:
    """(PD in mm, iris diameter in px of the photo as stored) of a London face, from its hand-placed
    pupils and irises and the IRIS_DIAMETER_MM assumption: the scale a composite's card is drawn at."""
    points = json.loads((LONDON / "landmarks.json").read_text())["faces"][name]
    image = cv2.imread(str(LONDON / name))
    assert image is not None, name
    scale = 675 / image.shape[1]  # landmarks.json is in pixels of 675 px wide images
    diameter = float(np.mean([np.ptp(np.array(iris)[:, 0]) for iris in points["irises"]])) / scale
    pupils = np.array(points["pupils"]) / scale
    return float(np.linalg.norm(pupils[0] - pupils[1])) * IRIS_DIAMETER_MM / diameter, diameter


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
    return np.dstack([art, _rounded_outline(width, height)])


def white_card_artwork(
    reflectance: float | tuple[float, float, float], size_mm: tuple[float, float] = (CARD_WIDTH_MM, CARD_HEIGHT_MM)
) -> np.ndarray:
    """A plain card (a hotel key card; `size_mm` for another, a business card) as the reference light
    records it: its linear value is its `reflectance` (tryon.lighting; one value for white or grey,
    or B, G, R for a tinted one), a small grey logo in a corner."""
    width, height = round(size_mm[0] * PX_PER_MM), round(size_mm[1] * PX_PER_MM)
    colour = np.broadcast_to(np.asarray(reflectance, np.float32), (3,))
    art = np.empty((height, width, 3), np.float32)
    art[:] = to_srgb(colour)
    grey = float(to_srgb(np.array([0.35 * float(colour.mean())]))[0])
    cv2.circle(art, (int(66 * PX_PER_MM), int(8 * PX_PER_MM)), 5 * PX_PER_MM, (grey, grey, grey), -1, cv2.LINE_AA)
    return np.dstack([np.rint(art).astype(np.uint8), _rounded_outline(width, height)])


def _rounded_outline(width: int, height: int) -> np.ndarray:
    """The card's coverage (height, width) uint8: 255 inside its rounded corners."""
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
    return alpha


def with_card(
    photo: np.ndarray,
    eyes: np.ndarray,
    px_per_mm_at_irises: float,
    focal_px: float,
    *,
    roll_degrees: float = 0.0,
    tilt_degrees: float = 0.0,
    above_eye_distances: float = 1.25,
    white: float | tuple[float, float, float] | None = None,
    white_size_mm: tuple[float, float] = (CARD_WIDTH_MM, CARD_HEIGHT_MM),
    seed: int = 0,
) -> np.ndarray:
    """`photo` with a card on the forehead, centred `above_eye_distances` eye distances above the
    eyes' midpoint (along the face), at the scale a card CARD_DEPTH_MM in front of the irises has
    when the irises are `px_per_mm_at_irises` (the camera's `focal_px` gives their distance);
    rolled in the image plane, and tilted about its long axis away from the camera. A printed card is
    as bright as the face around it; a plain `white` one (its reflectance) is lit by the reference light,
    the studio light of the London photos (tryon.lighting)."""
    distance_mm = focal_px / px_per_mm_at_irises
    scale = px_per_mm_at_irises * distance_mm / (distance_mm - CARD_DEPTH_MM) / PX_PER_MM
    art = card_artwork(seed) if white is None else white_card_artwork(white, white_size_mm)
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
    size = (photo.shape[1], photo.shape[0])
    layer = warped_layer(art, scale, target, size)
    coverage = layer[..., 3:]
    light = cv2.GaussianBlur(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY).astype(np.float32), (0, 0), eye_distance / 2)
    shade = np.clip(light / max(float(np.percentile(light, 90)), 1.0), 0.55, 1.0)[..., None] if white is None else 1.0
    return photographed(photo.astype(np.float32) * (1 - coverage) + layer[..., :3] * shade, seed)


def on_forehead(tracker: FaceTracker, name: str, size: float = 1.0, **card: Any) -> np.ndarray:
    """The London face `name`, resized by `size`, with a card (`with_card`'s options) on its forehead
    at the scale its hand-placed irises give."""
    photo = cv2.imread(str(LONDON / name))
    assert photo is not None, name
    photo = cv2.resize(photo, None, fx=size, fy=size, interpolation=cv2.INTER_AREA)
    face = tracker.detect(photo).primary
    assert face is not None, name
    px_per_mm = hand_placed(name)[1] * size / IRIS_DIAMETER_MM
    return with_card(photo, face.iris_centres, px_per_mm, face.camera.focal_px, **card)
