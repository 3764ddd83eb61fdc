"""Colour in CIELAB: conversions, gamut mapping by chroma reduction, and CIEDE2000.

OpenCV's float conversion is used throughout: BGR in [0, 1] <-> L in [0, 100], a and b in about
[-128, 127] (D65). Lab -> BGR of an out-of-gamut colour gives values outside [0, 1], which is how
gamut is tested.
"""

from __future__ import annotations

import cv2
import numpy as np

GAMUT_TOLERANCE = 1e-3


def hex_to_bgr(colour: str) -> np.ndarray:
    """'#rrggbb' -> float BGR in [0, 1]."""
    value = colour.lstrip("#")
    return np.array([int(value[i:i + 2], 16) for i in (4, 2, 0)], dtype=np.float32) / 255.0


def bgr_to_lab(bgr: np.ndarray) -> np.ndarray:
    """Float BGR in [0, 1] (..., 3) -> Lab (..., 3)."""
    bgr = np.asarray(bgr, dtype=np.float32)
    return cv2.cvtColor(bgr.reshape(-1, 1, 3), cv2.COLOR_BGR2Lab).reshape(bgr.shape)


def lab_to_bgr(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> float BGR, not clipped (values outside [0, 1] are out of gamut)."""
    lab = np.asarray(lab, dtype=np.float32)
    return cv2.cvtColor(lab.reshape(-1, 1, 3), cv2.COLOR_Lab2BGR).reshape(lab.shape)


def hex_to_lab(colour: str) -> np.ndarray:
    return bgr_to_lab(hex_to_bgr(colour))


def lab_to_bgr_in_gamut(lab: np.ndarray, steps: int = 6) -> np.ndarray:
    """Lab -> BGR in [0, 1], reducing the chroma (a, b) of out-of-gamut colours instead of clipping.

    Lightness and hue are kept; chroma is scaled down by bisection until the colour fits.
    """
    lab = np.asarray(lab, dtype=np.float32)
    flat = lab.reshape(-1, 3).copy()
    bgr = lab_to_bgr(flat)
    outside = np.any((bgr < -GAMUT_TOLERANCE) | (bgr > 1 + GAMUT_TOLERANCE), axis=1)
    if outside.any():
        candidates = flat[outside]
        low = np.zeros(len(candidates), np.float32)
        high = np.ones(len(candidates), np.float32)
        for _ in range(steps):
            middle = (low + high) / 2
            trial = np.column_stack([candidates[:, 0], candidates[:, 1:] * middle[:, None]])
            trial_bgr = lab_to_bgr(trial)
            fits = np.all((trial_bgr >= -GAMUT_TOLERANCE) & (trial_bgr <= 1 + GAMUT_TOLERANCE), axis=1)
            low = np.where(fits, middle, low)
            high = np.where(fits, high, middle)
        fitted = np.column_stack([candidates[:, 0], candidates[:, 1:] * low[:, None]])
        bgr[outside] = lab_to_bgr(fitted)
    return np.clip(bgr, 0.0, 1.0).reshape(lab.shape)


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
    t = (1 - 0.17 * np.cos(np.radians(hp_mean - 30)) + 0.24 * np.cos(np.radians(2 * hp_mean))
         + 0.32 * np.cos(np.radians(3 * hp_mean + 6)) - 0.20 * np.cos(np.radians(4 * hp_mean - 63)))
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    sc = 1 + 0.045 * cp_mean
    sh = 1 + 0.015 * cp_mean * t
    rt = (-2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
          * np.sin(np.radians(60 * np.exp(-(((hp_mean - 275) / 25) ** 2)))))
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))
