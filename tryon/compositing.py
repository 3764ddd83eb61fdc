"""Drawing textures onto frames: perspective warps confined to the covered region, premultiplied alpha.

A `Texture` keeps premultiplied BGRA mip levels, so a large product image drawn small stays smooth
instead of aliasing. `draw_texture` warps only the bounding box the texture covers in the frame
(`warp_texture`) and blends there (`prepare_layer`: a `Layer`, which a still face's next frames blend
again), so the cost follows the size of the product on screen, not the frame size. Blending is in
linear light, with the texture lit by the scene's light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.camera import SHARP, CameraLook, add_noise, extra_blur, soften
from tryon.lighting import REFERENCE_LIGHT, Light, to_linear, to_srgb


@dataclass(frozen=True)
class Shadow:
    """A soft shadow the texture casts on the frame behind it (pixels of the output frame)."""

    offset: tuple[float, float]
    blur: float
    strength: float


@dataclass(frozen=True)
class Texture:
    """Premultiplied BGRA mip levels of an RGBA product image (or of a coverage mask); level 0 is full size."""

    levels: tuple[np.ndarray, ...]

    @classmethod
    def from_bgra(cls, bgra: np.ndarray, min_size: int = 8) -> Texture:
        """Premultiply a BGRA uint8 image and build its mip chain."""
        alpha = bgra[..., 3:4].astype(np.float32) / 255.0
        premultiplied = np.concatenate(
            [np.rint(bgra[..., :3].astype(np.float32) * alpha), bgra[..., 3:4]], axis=2
        ).astype(np.uint8)
        return cls.from_levels(premultiplied, min_size)

    @classmethod
    def from_mask(cls, mask: np.ndarray, min_size: int = 8) -> Texture:
        """A coverage mask (h, w) uint8 0-255 with its mip chain (drawn with `warp_coverage`)."""
        return cls.from_levels(mask, min_size)

    @classmethod
    def from_levels(cls, image: np.ndarray, min_size: int) -> Texture:
        """`image` as level 0 and each half-size level down to `min_size` pixels."""
        levels: list[np.ndarray] = [image]
        while min(levels[-1].shape[:2]) >= 2 * min_size:
            height, width = levels[-1].shape[:2]
            levels.append(cv2.resize(levels[-1], (width // 2, height // 2), interpolation=cv2.INTER_AREA))
        return cls(tuple(levels))

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of level 0."""
        height, width = self.levels[0].shape[:2]
        return width, height

    def corners(self) -> np.ndarray:
        """The four outer corners of level 0 in its pixel coordinates, clockwise from top left."""
        width, height = self.size
        return np.array([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]])

    def level_for(self, homography: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mip level suited to how small `homography` draws the texture, and the homography for it."""
        projected = _apply_homography(homography, self.corners())
        width, height = self.size
        scale = math.sqrt(max(cv2.contourArea(projected.astype(np.float32)), 1e-6) / (width * height))
        level = int(np.clip(math.floor(math.log2(1.0 / max(scale, 1e-6))), 0, len(self.levels) - 1))
        factor = float(2**level)
        offset = (factor - 1.0) / 2.0
        level_to_base = np.array([[factor, 0.0, offset], [0.0, factor, offset], [0.0, 0.0, 1.0]])
        return self.levels[level], homography @ level_to_base


@dataclass
class Warped:
    """A texture warped into a box of the frame: premultiplied colour in linear light and coverage.

    region: (x, y, width, height) of the box; colour (h, w, 3) float32 linear BGR premultiplied by
    alpha (h, w) float32 in 0-1. Renderers may add light (reflections) to `colour` before compositing.
    """

    region: tuple[int, int, int, int]
    colour: np.ndarray
    alpha: np.ndarray

    def texture_coordinates(
        self, homography: np.ndarray, size: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) texture pixel coordinates of every pixel of the box, for `homography` (texture -> frame);
        or of a coarser grid of `size` (width, height) over the box, placed as `cv2.resize` samples
        it: a smooth function of (u, v) computed on it and resized to the box is the function's own."""
        x0, y0, width, height = self.region
        columns, rows = size or (width, height)
        xs = x0 + (np.arange(columns) + 0.5) * (width / columns) - 0.5
        ys = y0 + (np.arange(rows) + 0.5) * (height / rows) - 0.5
        ys, xs = np.meshgrid(ys, xs, indexing="ij")
        inverse = np.linalg.inv(homography)
        w = inverse[2, 0] * xs + inverse[2, 1] * ys + inverse[2, 2]
        u = (inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]) / w
        v = (inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]) / w
        return u.astype(np.float32), v.astype(np.float32)


def warp_texture(
    frame_shape: tuple[int, ...],
    texture: Texture,
    homography: np.ndarray,
    *,
    margin: float = 0.0,
    region: tuple[int, int, int, int] | None = None,
) -> Warped | None:
    """Warp `texture` (mapped by `homography`, texture px -> frame px) into the box it covers, or `region`.

    Returns None when nothing of it lands in the frame. Colour comes back linear and premultiplied.
    """
    if region is None:
        corners = _apply_homography(homography, texture.corners())
        if not np.all(np.isfinite(corners)):
            return None
        region = _clipped_box(corners, margin, frame_shape[1], frame_shape[0])
        if region is None:
            return None
    warped = _warp_into(texture, homography, region)
    alpha8 = np.ascontiguousarray(warped[..., 3])
    # Straight colour, rounded (0 where the texture is clear): OpenCV's saturating division on uint8.
    straight = cv2.divide(warped[..., :3], cv2.cvtColor(alpha8, cv2.COLOR_GRAY2BGR), scale=255.0)
    alpha = alpha8.astype(np.float32) * np.float32(1.0 / 255.0)
    return Warped(region, to_linear(straight) * alpha[..., None], alpha)


def warp_coverage(texture: Texture, homography: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """A `Texture.from_mask` mask warped into `region` (x, y, width, height) of the frame: (h, w)
    float32 in 0-1."""
    return _warp_into(texture, homography, region).astype(np.float32) * np.float32(1.0 / 255.0)


def _warp_into(texture: Texture, homography: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """The texture's level for `homography` warped into `region`, transparent outside it (its own dtype)."""
    x0, y0, width, height = region
    image, level_homography = texture.level_for(homography)
    to_region = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]]) @ level_homography
    return cv2.warpPerspective(
        image, to_region, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


@dataclass(frozen=True)
class Layer:
    """What drawing something does to each pixel of its region of a frame, in linear light: the
    background is multiplied by `keep` and `add` is added; then the camera's noise, weighted by
    `coverage`. Built once (`prepare_layer`), a layer can be blended onto each new frame of a face that
    did not move: the warp, the reflections, the softening and the lighting are not repeated.

    region: (x, y, width, height); keep (h, w) float32; add (h, w, 3) float32 linear BGR or None
    (only darkening); coverage (h, w) float32 in 0-1.
    """

    region: tuple[int, int, int, int]
    keep: np.ndarray
    add: np.ndarray | None
    coverage: np.ndarray
    look: CameraLook = SHARP

    def blend(self, frame: np.ndarray) -> None:
        """Draw the layer onto the BGR uint8 frame, in place (the noise is seeded by the frame, so a
        still renders the same every time)."""
        x0, y0, width, height = self.region
        target = frame[y0 : y0 + height, x0 : x0 + width]
        background = to_linear(target)
        cv2.multiply(background, cv2.cvtColor(self.keep, cv2.COLOR_GRAY2BGR), dst=background)  # 3x numpy's broadcast
        if self.add is not None:
            background += self.add
        blended = to_srgb(background)
        if self.look.noise_sigma > 0:
            add_noise(blended, self.coverage, self.look, np.random.default_rng(int(target.sum())))
        target[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)

    def moved(self, motion: np.ndarray, frame_shape: tuple[int, ...]) -> Layer | None:
        """The layer carried by `motion` (3x3, frame px -> frame px), None when it leaves the frame: a
        small move of the face applied to what was drawn on it, without drawing it again (one more
        resampling, a fraction of a pixel's blur)."""
        x0, y0, width, height = self.region
        corners = np.array([[x0, y0], [x0 + width, y0], [x0, y0 + height], [x0 + width, y0 + height]], np.float64)
        region = _clipped_box(_apply_homography(motion, corners - 0.5), 1.0, frame_shape[1], frame_shape[0])
        if region is None:
            return None
        nx, ny, new_width, new_height = region
        local = np.array([[1.0, 0.0, -nx], [0.0, 1.0, -ny], [0.0, 0.0, 1.0]]) @ motion
        local = local @ np.array([[1.0, 0.0, x0], [0.0, 1.0, y0], [0.0, 0.0, 1.0]])  # old box px -> new box px

        def carried(values: np.ndarray, outside: float) -> np.ndarray:
            return cv2.warpPerspective(
                values,
                local,
                (new_width, new_height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=(outside,) * 4,
            )

        add = carried(self.add, 0.0) if self.add is not None else None
        return Layer(region, carried(self.keep, 1.0), add, carried(self.coverage, 0.0), self.look)


def prepare_layer(
    warped: Warped,
    *,
    opacity: float = 1.0,
    light: Light = REFERENCE_LIGHT,
    look: CameraLook = SHARP,
    shadow: Shadow | None = None,
) -> Layer:
    """A warped texture as a layer to blend: lit by `light`, seen by `look`, casting `shadow`.

    The texture's colours are under the reference light (a product photo); `light.apply` gives them
    the scene's brightness and colour, as the camera would record the real object here. The camera's
    blur and noise (`look`) are given to the overlay too, so it is no sharper or cleaner than the
    face it sits on.
    """
    softened = soften(np.dstack([warped.colour, warped.alpha]), look)
    colour, alpha = softened[..., :3], softened[..., 3] * opacity
    keep = 1.0 - alpha
    if shadow is not None and shadow.strength > 0:
        keep *= 1.0 - shadow.strength * _shadow_mask(alpha, shadow)
    return Layer(warped.region, keep, light.apply(colour) * opacity, alpha, look)


def draw_texture(
    frame: np.ndarray,
    texture: Texture,
    homography: np.ndarray,
    *,
    opacity: float = 1.0,
    shadow: Shadow | None = None,
    light: Light = REFERENCE_LIGHT,
    look: CameraLook = SHARP,
) -> tuple[int, int, int, int] | None:
    """Draw `texture` onto a BGR frame in place, mapped by `homography` (texture px -> frame px).

    Returns the (x, y, width, height) region that was touched, or None when nothing is visible.
    """
    warped = warp_texture(frame.shape, texture, homography, margin=margin_for(shadow, look))
    if warped is None:
        return None
    prepare_layer(warped, opacity=opacity, light=light, look=look, shadow=shadow).blend(frame)
    return warped.region


def contact_shadow(frame: np.ndarray, centres: np.ndarray, sigma: float, strength: float) -> None:
    """Darken the frame (in place, in linear light) in soft round spots: where an object touches the skin
    (nose pads), the skin gets less light. centres (N, 2) frame pixels; sigma in pixels."""
    for layer in contact_shadow_layers(frame.shape, centres, sigma, strength):
        layer.blend(frame)


def contact_shadow_layers(
    frame_shape: tuple[int, ...], centres: np.ndarray, sigma: float, strength: float
) -> list[Layer]:
    """The layers of `contact_shadow`: one darkening spot per centre inside the frame."""
    radius = int(math.ceil(3 * sigma))
    height, width = frame_shape[:2]
    layers = []
    for cx, cy in np.asarray(centres, np.float64):
        x0, y0 = max(int(cx) - radius, 0), max(int(cy) - radius, 0)
        x1, y1 = min(int(cx) + radius + 1, width), min(int(cy) + radius + 1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        spot = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2)).astype(np.float32)
        layers.append(Layer((x0, y0, x1 - x0, y1 - y0), 1.0 - strength * spot, None, spot))
    return layers


def margin_for(shadow: Shadow | None, look: CameraLook) -> float:
    """How far past the texture's own box a draw reaches: its shadow, and the camera blur given to it."""
    reach = 3.0 * extra_blur(look)
    if shadow is not None:
        reach += 3.0 * shadow.blur + max(abs(shadow.offset[0]), abs(shadow.offset[1]))
    return reach


def _shadow_mask(alpha: np.ndarray, shadow: Shadow) -> np.ndarray:
    shift = np.array([[1, 0, shadow.offset[0]], [0, 1, shadow.offset[1]]], np.float32)
    moved = cv2.warpAffine(alpha, shift, (alpha.shape[1], alpha.shape[0]), flags=cv2.INTER_LINEAR)
    return cv2.GaussianBlur(moved, (0, 0), max(shadow.blur, 0.5))


def _apply_homography(homography: np.ndarray, points: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(points.reshape(-1, 1, 2).astype(np.float64), homography).reshape(-1, 2)


def _clipped_box(points: np.ndarray, margin: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    x0 = max(int(math.floor(points[:, 0].min() - margin)), 0)
    y0 = max(int(math.floor(points[:, 1].min() - margin)), 0)
    x1 = min(int(math.ceil(points[:, 0].max() + margin)) + 1, width)
    y1 = min(int(math.ceil(points[:, 1].max() + margin)) + 1, height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0
