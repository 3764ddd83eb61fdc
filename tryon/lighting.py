"""The light on a face, estimated from the face itself, so products can be lit like the scene.

A product changes what a surface reflects, not the colour the camera records. Its colour (a
merchant's hex swatch, a frame's photo) is defined under the reference light: the studio light of
the London face set (close to D65), on a normally exposed face. In a shopper's frame the same
product must look as the camera would record it there, so every renderer multiplies its colours,
in linear light, by the gains this module estimates: how much brighter or darker, warmer or cooler
each channel records a surface here than under the reference light.

The face carries two references, read from the frame's linear values:
- the skin of the cheeks (trimmed of shadows and highlights), against the median studio skin, and
- the whites of the eyes, against the median studio sclera, when the eyes are open enough to
  measure: a near-neutral reference whose reflectance varies far less between people than skin
  does, so a dark-skinned face in good light is not mistaken for a pale one in dim light.
Their log gains are averaged. Both are linear in the frame's values, so relighting a photo
(exposure, white balance) scales the estimate by exactly the same gains: a product drawn on a
relit photo matches the relit drawing of the original.

Neither is a reference of known reflectance: skins differ between people by about 8x, eye whites
by about 2x, so a pale face reads as more brightly lit than a darker one in the same light. Once a
white card on the forehead has measured the shopper's own skin (tryon.white_card), that skin is
the reference: the cheeks against it give the light exactly, frame after frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.smoothing import OneEuroFilter
from tryon.tracking import LEFT_IRIS, RIGHT_IRIS, Face

LUMINANCE_BGR = np.array([0.0721750, 0.7151522, 0.2126729], np.float32)  # Rec. 709 weights of linear B, G, R
# Medians over the 13 neutral London studio faces (linear BGR), measured as below: the reference light.
REFERENCE_SKIN = np.array([0.226, 0.287, 0.437], np.float32)
REFERENCE_SCLERA = np.array([0.336, 0.361, 0.462], np.float32)
# The eye whites' share of the estimate grows with how much brighter than the skin they are: well
# lit, open eyes are the better reference (studio sclera varies 2x between people, skin 8x); eye
# whites darker than the skin are in the shadow of the brows (common in webcam light) and not used.
SCLERA_MAX_WEIGHT = 0.75
SCLERA_TRUST_RATIO = (0.6, 1.2)  # sclera / skin luminance: no trust at the first, full at the second
MIN_SCLERA_PIXELS = 40
MAX_BLINK = 0.45
GAIN_RANGE = (0.02, 8.0)

# The skin the light is read on (and the shade finder reads the skin's own colour on): under each eye.
CHEEKS = ((50, 101, 118, 123, 116, 117), (280, 330, 347, 352, 345, 346))
_EYE_OPENINGS = (
    (33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
    (263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),
)
_IRIS_EDGES = ((RIGHT_IRIS, 469, 471), (LEFT_IRIS, 474, 476))


def srgb_to_linear(srgb: np.ndarray) -> np.ndarray:
    """Float sRGB in [0, 1] (any shape) -> linear light (float32), by the exact sRGB curve."""
    c = np.asarray(srgb, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _encode(linear: np.ndarray) -> np.ndarray:
    return np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.maximum(linear, 0) ** (1 / 2.4) - 0.055)


DECODE_LUT = srgb_to_linear(np.arange(256) / 255.0)
_ENCODE_LUT_SIZE = 16384
_ENCODE_LUT = np.clip(_encode(np.linspace(0.0, 1.0, _ENCODE_LUT_SIZE)) * 255.0, 0, 255).astype(np.float32)


def to_linear(bgr8: np.ndarray) -> np.ndarray:
    """uint8 sRGB (..., 3) -> float32 linear light in [0, 1], by table (OpenCV's for images: 3x numpy's)."""
    if bgr8.ndim in (2, 3) and bgr8.shape[-1] <= 4:
        return cv2.LUT(bgr8, DECODE_LUT)
    return DECODE_LUT[bgr8]


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """Linear light (any shape, clipped to [0, 1]) -> sRGB on the 0-255 scale (float32, not rounded)."""
    index = (np.clip(linear, 0.0, 1.0) * (_ENCODE_LUT_SIZE - 1) + 0.5).astype(np.int32)
    return _ENCODE_LUT[index]


def luminance(linear: np.ndarray) -> np.ndarray:
    """Relative luminance Y of linear BGR (..., 3) -> (...)."""
    return linear @ LUMINANCE_BGR


@dataclass(frozen=True)
class Light:
    """Per-channel linear gains (B, G, R) of the scene against the reference light; 1 = reference.

    skin: the linear luminance of the cheeks the estimate was read on. A product on other skin of the
    same face (a lid in the shadow of the brow) is lit by that skin's luminance relative to it.
    """

    gains: np.ndarray = field(default_factory=lambda: np.ones(3, np.float32))
    skin: float | None = None

    def apply(self, linear: np.ndarray) -> np.ndarray:
        """A reference-light colour (linear BGR, (..., 3)) as the camera records it in this scene."""
        return linear * self.gains

    def reflectance(self, recorded: np.ndarray) -> np.ndarray:
        """A colour the camera recorded in this scene (linear BGR, (..., 3)) under the reference light."""
        return recorded / self.gains

    @property
    def exposure(self) -> float:
        """Overall brightness against the reference (the gains' luminance)."""
        return float(luminance(self.gains))


REFERENCE_LIGHT = Light()


def estimate_light(frame: np.ndarray, face: Face, skin_reference: np.ndarray | None = None) -> Light:
    """The scene's light on `face` in `frame` (uint8 BGR), from its cheeks and eye whites.

    skin_reference: the shopper's own cheeks (`cheek_linear`) under the reference light, linear BGR
    (3,), once a white card has measured them (tryon.white_card): then the cheeks against it give
    the light, exactly, and the eye whites are not needed.
    """
    skin = cheek_linear(frame, face)
    if skin is None:
        return REFERENCE_LIGHT
    reference = REFERENCE_SKIN if skin_reference is None else skin_reference
    log_gains = np.log(np.maximum(skin, 1e-4) / np.maximum(reference, 1e-4))
    sclera = _sclera_linear(frame, face) if skin_reference is None else None
    if sclera is not None:
        low, high = SCLERA_TRUST_RATIO
        ratio = float(luminance(sclera) / max(float(luminance(skin)), 1e-6))
        weight = SCLERA_MAX_WEIGHT * float(np.clip((ratio - low) / (high - low), 0.0, 1.0))
        log_gains = (1 - weight) * log_gains + weight * np.log(np.maximum(sclera, 1e-4) / REFERENCE_SCLERA)
    return Light(np.clip(np.exp(log_gains), *GAIN_RANGE).astype(np.float32), float(luminance(skin)))


class LightSmoother:
    """Steadies a stream's light estimate (log gains, One Euro) so products do not flicker with noise."""

    def __init__(self) -> None:
        self._filter = OneEuroFilter(min_cutoff=0.5, beta=2.0, d_cutoff=1.0)

    def reset(self) -> None:
        self._filter.reset()

    def __call__(self, light: Light, time_s: float) -> Light:
        if light.skin is None:
            return light
        smoothed = np.exp(self._filter(np.log(np.append(light.gains, light.skin)), time_s))
        return Light(smoothed[:3].astype(np.float32), float(smoothed[3]))


def cheek_linear(frame: np.ndarray, face: Face) -> np.ndarray | None:
    """Mean linear BGR (3,) of the cheeks under the eyes, shadows and highlights trimmed (the 20th to
    85th luminance percentiles), or None where they are out of the frame."""
    return _mean_linear(frame, face, _cheek_polygons(face), trim=(20, 85))


def _cheek_polygons(face: Face) -> list[np.ndarray]:
    return [cv2.convexHull(face.landmarks[list(ids), :2].astype(np.float32)).reshape(-1, 2) for ids in CHEEKS]


def _mask_in_box(shape: tuple[int, int], polygons: list[np.ndarray]) -> tuple[np.ndarray, tuple[slice, slice]] | None:
    """A filled mask of `polygons` inside their bounding box (clipped to the frame), and the box."""
    points = np.vstack(polygons)
    height, width = shape
    x0, y0 = max(int(points[:, 0].min()), 0), max(int(points[:, 1].min()), 0)
    x1, y1 = min(int(np.ceil(points[:, 0].max())) + 1, width), min(int(np.ceil(points[:, 1].max())) + 1, height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.rint(p - (x0, y0)).astype(np.int32) for p in polygons], 1)
    return mask, (slice(y0, y1), slice(x0, x1))


def _mean_linear(
    frame: np.ndarray, face: Face, polygons: list[np.ndarray], trim: tuple[float, float]
) -> np.ndarray | None:
    """Mean linear BGR of the pixels inside `polygons` whose luminance lies between the `trim` percentiles."""
    found = _mask_in_box(frame.shape[:2], polygons)
    if found is None:
        return None
    mask, box = found
    pixels = to_linear(frame[box][mask > 0])
    if len(pixels) < 10:
        return None
    y = luminance(pixels)
    low, high = np.percentile(y, trim)
    kept = pixels[(y >= low) & (y <= high)]
    return kept.mean(axis=0) if len(kept) else None


def _sclera_linear(frame: np.ndarray, face: Face) -> np.ndarray | None:
    """Mean linear BGR of the eye whites (eye openings minus the irises, brighter half), or None when
    the eyes are too closed or too small to tell."""
    if face.eye_closure > MAX_BLINK:
        return None
    openings = [face.landmarks[list(ids), :2] for ids in _EYE_OPENINGS]
    found = _mask_in_box(frame.shape[:2], openings)
    if found is None:
        return None
    mask, box = found
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    origin = np.array([box[1].start, box[0].start], np.float64)
    for centre, a, b in _IRIS_EDGES:
        radius = 0.5 * float(np.linalg.norm(face.landmarks[a, :2] - face.landmarks[b, :2]))
        cx, cy = np.rint(face.landmarks[centre, :2] - origin).astype(int)
        cv2.circle(mask, (int(cx), int(cy)), int(np.ceil(1.15 * radius)), 0, -1)
    pixels = to_linear(frame[box][mask > 0])
    if len(pixels) < MIN_SCLERA_PIXELS:
        return None
    y = luminance(pixels)
    return pixels[y >= np.median(y)].mean(axis=0)
