"""Applying makeup as a change of reflectance, in linear light, so skin and lip texture survive.

`paint` blends a region of the frame towards an edited version of itself, pixel weights 0-1, in
linear light (how pigment coverage mixes light), and leaves every pixel of weight 0 exactly as it
was. The edits model pigment: `shade` gives the region the product's colour as the scene's light
shows it (`Light.apply` of its reference-light colour), while each pixel keeps its own shading,
highlights and part of its colour variation, as ratios to the region's mean. Ratios and linear
mixing are unchanged when the whole frame is brighter, darker, warmer or cooler, so a product lit
by the estimated light sits in the picture the way the real one would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.lighting import Light, luminance, to_linear, to_srgb
from tryon.makeup.color import fit_to_gamut
from tryon.makeup.regions import Roi

MIN_WEIGHT = 1.0 / 256.0  # below this no pixel can change by a visible step
_EPSILON = 1e-4  # linear light: far below one 8-bit step of anything but black
GAMMA = 2.2  # sRGB is close to a 2.2 power: a linear ratio r is a ratio r ** (1 / 2.2) of its codes


@dataclass(frozen=True)
class Selection:
    """The pixels an edit works on: their linear BGR, weights, where they are, the region, the light.

    linear (N, 3) and weights (N,) are the selected pixels; mask and region_linear (h, w, 3) are at
    the working resolution (the ROI, or the ROI reduced for soft products).
    """

    linear: np.ndarray
    weights: np.ndarray
    mask: np.ndarray
    region_linear: np.ndarray
    roi: Roi
    light: Light

    def pick(self, field: np.ndarray) -> np.ndarray:
        """The values of a per-pixel map (working resolution) at the selected pixels."""
        return field[self.mask]

    def frame_xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Frame pixel coordinates (x, y) of the selected pixels (working resolution = ROI resolution)."""
        ys, xs = np.nonzero(self.mask)
        return (xs + self.roi.x0).astype(np.float32), (ys + self.roi.y0).astype(np.float32)


Edit = Callable[[Selection], np.ndarray]
"""Returns the edited linear BGR (N, 3) of the selected pixels, at full strength (any range: fitted after)."""


def paint(frame: np.ndarray, roi: Roi, weight: np.ndarray, edit: Edit, light: Light, *, reduce: int = 1) -> None:
    """Blend frame[roi] towards `edit`'s result by `weight` (0-1), in linear light; weight-0 pixels stay exact.

    reduce=2 or 4 is for soft, low-frequency products (foundation, blush) whose change carries no fine
    detail: `weight` is then given at that fraction of the resolution (`roi.shape_at(reduce)`), the
    edit runs on a reduced copy of the region, and its change, as a per-channel ratio, is upsampled
    and multiplied onto every pixel, so the skin's own detail stays while the cost drops by reduce squared.
    """
    patch = frame[roi.slices]
    work = patch if reduce == 1 else cv2.resize(patch, weight.shape[::-1], interpolation=cv2.INTER_AREA)
    selected = weight > MIN_WEIGHT
    if not selected.any():
        return
    region = to_linear(work)
    original = region[selected]
    weights = weight[selected][:, None]
    edited = fit_to_gamut(edit(Selection(original, weight[selected], selected, region, roi, light)))
    blended = original + weights * (edited - original)
    if reduce == 1:
        patch[selected] = (to_srgb(blended) + 0.5).astype(np.uint8)
        return
    ratio: np.ndarray = np.ones(work.shape, np.float32)
    ratio[selected] = (np.maximum(blended, _EPSILON) / np.maximum(original, _EPSILON)) ** (1.0 / GAMMA)
    scaled = cv2.resize(ratio, (patch.shape[1], patch.shape[0]), interpolation=cv2.INTER_LINEAR) * patch
    # + 0.5: where nothing changed this rounds back to exactly the original value
    patch[...] = np.clip(scaled + 0.5, 0, 255).astype(np.uint8)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean of (N, ...) values weighted by (N,) weights."""
    return np.tensordot(weights, values, axes=1) / max(float(weights.sum()), 1e-6)


def shading(selection: Selection) -> np.ndarray:
    """Each selected pixel's luminance as a ratio to the region's mean: its shading and texture, (N,)."""
    mean_y = float(luminance(weighted_mean(selection.linear, selection.weights)))
    return luminance(selection.linear) / max(mean_y, _EPSILON)


LOCAL_LIGHT_RANGE = (0.15, 1.5)


def shade(
    selection: Selection,
    colour: np.ndarray,
    chroma_texture: float = 0.35,
    texture: np.ndarray | None = None,
    on_skin: bool = True,
) -> np.ndarray:
    """The product colour (reference-light linear BGR, (3,) or (N, 3)) on the selected pixels, lit like them.

    Under the scene's light the product records as `light.apply(colour)`, times the region's own
    light when it is skin (`on_skin`): a lid in the shadow of the brow is darker than the cheeks the
    light was read on, by its luminance relative to theirs (lips are not skin: their own colour says
    nothing of their light). Each pixel keeps its own shading (`texture`, by default
    `shading(selection)`) and `chroma_texture` of its colour's deviation from the region's (as
    per-channel ratios), so a lip's own redder and paler parts still show through an opaque shade.
    """
    lin = selection.linear
    mean = weighted_mean(lin, selection.weights)
    mean_y = max(float(luminance(mean)), _EPSILON)
    lum = np.maximum(luminance(lin), _EPSILON)[:, None]
    chroma = np.clip((lin / lum) / np.maximum(mean / mean_y, _EPSILON), 0.25, 4.0)
    s = shading(selection) if texture is None else texture
    light = selection.light
    local = float(np.clip(mean_y / light.skin, *LOCAL_LIGHT_RANGE)) if on_skin and light.skin else 1.0
    return light.apply(np.asarray(colour, np.float32)) * (local * s)[:, None] * chroma**chroma_texture


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
    """0-1 map of a region's own bright spots (where light already catches it), softened by `blur` px.

    Measured on linear luminance against the region's own percentiles, so it is the same map in any
    exposure or white balance.
    """
    y = luminance(to_linear(patch))
    inside = y[weight > 0.5]
    if inside.size < 10:
        return np.zeros_like(y)
    low, high = np.percentile(inside, [low_percentile, 99.5])
    spots = np.clip((y - low) / max(high - low, _EPSILON), 0, 1) ** 1.5
    return cv2.GaussianBlur(spots, (0, 0), max(blur, 0.5)) * (weight > 0)


def face_coordinates(
    xy: tuple[np.ndarray, np.ndarray], origin: np.ndarray, unit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of frame points in a frame attached to the face: `origin`, x along `unit` (its length = 1)."""
    xs, ys = xy
    scale = float(np.dot(unit, unit))
    dx, dy = xs - origin[0], ys - origin[1]
    u = (dx * unit[0] + dy * unit[1]) / scale
    v = (-dx * unit[1] + dy * unit[0]) / scale
    return u, v
