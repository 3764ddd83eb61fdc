"""Field conditions for test photos: relighting in linear sRGB, camera noise and lens blur.

Real shoppers' webcams are dim, warm or cool, noisy and soft. These functions turn a studio photo
into such a frame in a physically meaningful way (light scales linear values, not sRGB codes), so a
product rendered on the changed photo can be compared with the same change applied to a render.
All take and return uint8 BGR images (H, W, 3).
"""

from __future__ import annotations

import cv2
import numpy as np

DIM = (0.5, 0.5, 0.5)  # exposure x0.5, as (R, G, B) gains
WARM = (1.0, 0.78, 0.5)  # tungsten-like white balance
COOL = (0.72, 0.85, 1.0)  # overcast / screen-lit
LIGHTS = {"dim": DIM, "warm": WARM, "cool": COOL}


def srgb_to_linear(bgr8: np.ndarray) -> np.ndarray:
    """uint8 sRGB -> float32 linear light in [0, 1]."""
    c = bgr8.astype(np.float32) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(linear: np.ndarray) -> np.ndarray:
    """float linear light -> uint8 sRGB (clipped, rounded)."""
    c = np.clip(linear, 0.0, 1.0)
    encoded = np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)
    return np.clip(encoded * 255.0 + 0.5, 0, 255).astype(np.uint8)


def relight(bgr8: np.ndarray, gains_rgb: tuple[float, float, float]) -> np.ndarray:
    """The photo under other light: linear values times per-channel gains (R, G, B)."""
    r, g, b = gains_rgb
    return linear_to_srgb(srgb_to_linear(bgr8) * np.array([b, g, r], np.float32))


def blur(bgr8: np.ndarray, sigma: float) -> np.ndarray:
    """Soft optics: a Gaussian of `sigma` pixels."""
    return cv2.GaussianBlur(bgr8, (0, 0), sigma) if sigma > 0 else bgr8.copy()


def add_noise(bgr8: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Sensor noise: independent Gaussian noise of `sigma` 8-bit steps on every channel."""
    rng = np.random.default_rng(seed)
    noisy = bgr8.astype(np.float32) + rng.normal(0.0, sigma, bgr8.shape).astype(np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8)


def webcam_like(
    bgr8: np.ndarray,
    gains_rgb: tuple[float, float, float] = (0.55, 0.45, 0.32),
    blur_sigma: float = 1.2,
    noise_sigma: float = 4.0,
    seed: int = 0,
) -> np.ndarray:
    """A dim, warm, slightly soft and noisy frame, as a laptop webcam in room light gives."""
    return add_noise(blur(relight(bgr8, gains_rgb), blur_sigma), noise_sigma, seed)
