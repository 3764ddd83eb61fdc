"""Colour: sRGB, linear light and CIELAB conversions, gamut mapping by chroma reduction, and CIEDE2000.

sRGB (as BGR) <-> CIELAB (D65, L in [0, 100]). 8-bit BGR -> Lab uses OpenCV's fast path; Lab -> BGR is
computed here because OpenCV clips its result, and the unclipped linear RGB is what tells whether a
colour is inside the sRGB gamut.
"""

from __future__ import annotations

import cv2
import numpy as np

from tryon.lighting import luminance, srgb_to_linear, to_srgb

GAMUT_TOLERANCE = 0.01  # linear light; about one 8-bit step near white
_WHITE = np.array([0.950456, 1.0, 1.088754], np.float32)  # D65, as OpenCV uses
_XYZ_TO_LINEAR_BGR = np.array(
    [[0.055648, -0.204043, 1.057311], [-0.969256, 1.875991, 0.041556], [3.240479, -1.537150, -0.498535]], np.float32
)


def hex_to_bgr(colour: str) -> np.ndarray:
    """'#rrggbb' -> float BGR in [0, 1]."""
    value = colour.lstrip("#")
    return np.array([int(value[i : i + 2], 16) for i in (4, 2, 0)], dtype=np.float32) / 255.0


def bgr_to_lab(bgr: np.ndarray) -> np.ndarray:
    """Float BGR in [0, 1] (..., 3) -> Lab (..., 3), in full float precision."""
    linear = srgb_to_linear(bgr)
    t = (linear @ np.linalg.inv(_XYZ_TO_LINEAR_BGR).T.astype(np.float32)) / _WHITE
    f = np.where(t > (6.0 / 29.0) ** 3, np.cbrt(t), t / (3.0 * (6.0 / 29.0) ** 2) + 4.0 / 29.0)
    return np.stack(
        [116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], axis=-1
    ).astype(np.float32)


def bgr8_to_lab(bgr: np.ndarray) -> np.ndarray:
    """uint8 BGR (..., 3) -> float Lab, through OpenCV's fast 8-bit path (L to 0.4, a/b to 1 unit)."""
    lab8 = cv2.cvtColor(np.ascontiguousarray(bgr, np.uint8).reshape(1, -1, 3), cv2.COLOR_BGR2Lab)
    lab = lab8.reshape(bgr.shape).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    return lab


def hex_to_lab(colour: str) -> np.ndarray:
    """'#rrggbb' -> Lab."""
    return bgr_to_lab(hex_to_bgr(colour))


def hex_to_linear(colour: str) -> np.ndarray:
    """'#rrggbb' (sRGB) -> linear-light BGR (3,)."""
    return srgb_to_linear(hex_to_bgr(colour))


def lab_to_linear_bgr(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> linear-light BGR, not clipped: outside [0, 1] means outside the sRGB gamut."""
    lab = np.asarray(lab, dtype=np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 6.0 / 29.0, f * f * f, 3.0 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0)) * _WHITE
    return xyz @ _XYZ_TO_LINEAR_BGR.T


def fit_to_gamut(linear: np.ndarray) -> np.ndarray:
    """Bring linear BGR (N, 3) into [0, 1] by lowering chroma at constant luminance, never by clipping.

    Each out-of-range colour moves straight towards the grey of its own luminance (so lightness and,
    closely, hue are kept) just far enough to fit: a closed form, no iteration.
    """
    linear = np.asarray(linear, dtype=np.float32)
    outside = np.any((linear < -GAMUT_TOLERANCE) | (linear > 1 + GAMUT_TOLERANCE), axis=-1)
    if not outside.any():
        return np.clip(linear, 0.0, 1.0)
    colours = linear[outside]
    grey = np.clip(luminance(colours), 0.0, 1.0)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        above = np.where(colours > 1.0, (1.0 - grey) / (colours - grey), np.inf)
        below = np.where(colours < 0.0, grey / (grey - colours), np.inf)
    keep = np.clip(np.minimum(above, below).min(axis=1, keepdims=True), 0.0, 1.0)
    fitted = linear.copy()
    fitted[outside] = grey + keep * (colours - grey)
    return np.clip(fitted, 0.0, 1.0)


def lab_to_bgr8(lab: np.ndarray) -> np.ndarray:
    """Lab (N, 3) -> BGR on the 0-255 scale (float32), out-of-gamut colours fitted by `fit_to_gamut`."""
    return to_srgb(fit_to_gamut(lab_to_linear_bgr(lab)))


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma, Wu and Dalal, 2005) between Lab colours (..., 3)."""
    lab1, lab2 = np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)
    l1, a1, b1 = np.moveaxis(lab1, -1, 0)
    l2, a2, b2 = np.moveaxis(lab2, -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl = l2 - l1
    dc = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    hp_mean = np.where(np.abs(h1p - h2p) > 180, np.where(h_sum < 360, h_sum + 360, h_sum - 360), h_sum) / 2
    hp_mean = np.where(c1p * c2p == 0, h_sum, hp_mean)
    t = (
        1
        - 0.17 * np.cos(np.radians(hp_mean - 30))
        + 0.24 * np.cos(np.radians(2 * hp_mean))
        + 0.32 * np.cos(np.radians(3 * hp_mean + 6))
        - 0.20 * np.cos(np.radians(4 * hp_mean - 63))
    )
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    sc = 1 + 0.045 * cp_mean
    sh = 1 + 0.015 * cp_mean * t
    rt = (
        -2
        * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((hp_mean - 275) / 25) ** 2))))
    )
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))
