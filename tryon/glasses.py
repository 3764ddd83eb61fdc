"""Glasses products: the asset (front PNG, optional temple PNG, metadata) and its renderer.

The front image is drawn on the eyeglass plane of the `FaceAnchor`, lens centres on the pupils. The
temple arms are drawn on planes running back from the hinges; only an arm whose outer side faces the
camera is drawn (the far one is behind the head), fading towards the ear.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tryon.anchor import FaceAnchor
from tryon.compositing import (
    Layer,
    Shadow,
    Texture,
    Warped,
    contact_shadow_layers,
    margin_for,
    prepare_layer,
    warp_coverage,
    warp_texture,
)
from tryon.errors import InvalidImageError, ProductError
from tryon.fit import parse_size_marking
from tryon.imaging import decode_image
from tryon.lighting import to_linear, to_srgb
from tryon.tracking import Face

Point = tuple[float, float]


class GlassesSpec(BaseModel):
    """Metadata of a glasses product, stored beside its images as JSON."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=120)
    front_image: str = "front.png"
    temple_image: str | None = None
    lens_centres_px: tuple[Point, Point] | None = Field(
        default=None, description="Lens centres in front-image pixels; detected from the lens holes when absent."
    )
    width_mm: float = Field(default=140.0, gt=60, lt=220, description="Total width of the glasses' front.")
    lens_width_mm: float | None = Field(default=None, ge=30, le=70, description="The 'eye' size, e.g. 52.")
    bridge_width_mm: float | None = Field(default=None, ge=10, le=30, description="The bridge size, e.g. 18.")
    temple_length_mm: float = Field(default=145.0, gt=80, lt=200)
    hinge_y_px: float | None = Field(default=None, description="Height of the hinges in the front image.")
    lens_tint: str = Field(default="#ffffff", pattern=r"^#[0-9a-fA-F]{6}$")
    lens_opacity: float = Field(default=0.08, ge=0, le=1)
    lens_gradient: float = Field(default=0.0, ge=0, le=1, description="How much darker the lens top is.")
    lens_reflection: float = Field(default=0.12, ge=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _from_size_marking(cls, data: object) -> object:
        """Accept the printed size, "size": "52-18-140" (eye-bridge-temple), and the old name of
        `width_mm`, "frame_width_mm" (accepted for one release)."""
        if isinstance(data, dict) and "frame_width_mm" in data and "width_mm" not in data:
            data = {("width_mm" if key == "frame_width_mm" else key): value for key, value in data.items()}
        if isinstance(data, dict) and "size" in data:
            data = dict(data)
            try:
                size = parse_size_marking(str(data.pop("size")))
            except ValueError as exc:
                raise ValueError(str(exc)) from exc
            data.setdefault("width_mm", size.width_mm)
            data.setdefault("lens_width_mm", size.lens_mm)
            data.setdefault("bridge_width_mm", size.bridge_mm)
            data.setdefault("temple_length_mm", size.temple_mm)
        return data

    def scaled(self, factor: float) -> GlassesSpec:
        """The spec for the front image scaled by `factor` (its pixel positions scaled with it)."""
        centres = self.lens_centres_px
        return self.model_copy(
            update={
                "lens_centres_px": None if centres is None else tuple((x * factor, y * factor) for x, y in centres),
                "hinge_y_px": None if self.hinge_y_px is None else self.hinge_y_px * factor,
            }
        )

    @field_validator("lens_centres_px")
    @classmethod
    def _distinct_lenses(cls, value: tuple[Point, Point] | None) -> tuple[Point, Point] | None:
        if value is not None and math.dist(value[0], value[1]) < 1.0:
            raise ValueError("the two lens centres must be apart")
        return value

    @field_validator("front_image", "temple_image")
    @classmethod
    def _plain_filename(cls, value: str | None) -> str | None:
        if value is not None and (Path(value).name != value or value.startswith(".")):
            raise ValueError("must be a plain file name beside the metadata")
        return value


@dataclass(frozen=True)
class LensRegion:
    """A lens hole found in a front image: its mask and centre (pixels)."""

    mask: np.ndarray
    centre: Point


def detect_lenses(alpha: np.ndarray) -> list[LensRegion]:
    """Find the two lens openings: transparent regions enclosed by the frame, sorted left to right.

    Raises ProductError when the image does not have two enclosed openings.
    """
    transparent = (alpha < 128).astype(np.uint8)
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(transparent, connectivity=4)
    height, width = alpha.shape
    candidates = []
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches_border = x == 0 or y == 0 or x + w == width or y + h == height
        if not touches_border and area >= 0.01 * width * height:
            candidates.append((area, label))
    if len(candidates) < 2:
        raise ProductError("could not find two enclosed lens openings in the frame image; give lens_centres_px")
    chosen = sorted(label for _, label in sorted(candidates, reverse=True)[:2])
    regions = [
        LensRegion(labels == label, (float(centroids[label][0]), float(centroids[label][1]))) for label in chosen
    ]
    return sorted(regions, key=lambda region: region.centre[0])


class GlassesAsset:
    """A loaded glasses product, ready to draw: textures with tinted lenses, lens centres, scale."""

    def __init__(self, spec: GlassesSpec, front_bgra: np.ndarray, temple_bgra: np.ndarray | None = None) -> None:
        if front_bgra.ndim != 3 or front_bgra.shape[2] != 4:
            raise ProductError("the glasses front image needs an alpha channel (RGBA PNG)")
        self.spec = spec
        alpha = front_bgra[..., 3]
        visible = np.argwhere(alpha > 0)
        if len(visible) == 0:
            raise ProductError("the glasses front image is fully transparent")
        (top, left), (bottom, right) = visible.min(axis=0), visible.max(axis=0)
        self.front_box = (float(left), float(top), float(right), float(bottom))
        try:
            lenses = detect_lenses(alpha)
        except ProductError:
            if spec.lens_centres_px is None:
                raise
            lenses = []  # rimless or open designs: no tint, centres from the metadata
        centres = spec.lens_centres_px or tuple(region.centre for region in lenses)
        self.lens_centres = np.array(sorted(centres), dtype=np.float64)
        self.hinge_y = spec.hinge_y_px if spec.hinge_y_px is not None else float(self.lens_centres[:, 1].mean())
        self.front = Texture.from_bgra(_with_lenses(front_bgra, lenses, spec))
        self.lenses = Texture.from_mask(_lens_coverage(alpha.shape, lenses)) if lenses else None
        self.lens_width_px = float(np.mean([np.ptp(np.nonzero(r.mask)[1]) for r in lenses])) if lenses else 0.0
        self.temple = Texture.from_bgra(_fade_towards_ear(temple_bgra)) if temple_bgra is not None else None

    @classmethod
    def load(cls, directory: Path) -> GlassesAsset:
        """Load `<directory>/glasses.json` and the images it names."""
        directory = Path(directory)
        try:
            spec = GlassesSpec.model_validate_json((directory / "glasses.json").read_text())
        except (OSError, ValidationError) as exc:
            raise ProductError(f"{directory}: bad glasses metadata: {exc}") from exc
        front = _read_bgra(directory / spec.front_image)
        temple = _read_bgra(directory / spec.temple_image) if spec.temple_image else None
        return cls(spec, front, temple)

    def picture(self) -> np.ndarray:
        """The product as a store shows it (BGRA, front view): frame, lenses as they render, a reflection."""
        level = self.front.levels[0].astype(np.float32)
        alpha = level[..., 3:4] / 255.0
        colour = to_linear(np.clip(level[..., :3] / np.maximum(alpha, 1 / 255) + 0.5, 0, 255).astype(np.uint8))
        if self.lenses is not None:
            height, width = alpha.shape[:2]
            v, u = np.mgrid[0:height, 0:width].astype(np.float32)
            sheen = lens_sheen(u, v, self.lens_centres, self.lens_width_px, (0.0, 0.0))
            lens = self.lenses.levels[0][..., None] / 255.0
            added = self.spec.lens_reflection * sheen[..., None] * lens
            colour = (colour * alpha + added) / np.maximum(alpha + added.max(axis=2, keepdims=True), 1e-6)
            alpha = np.clip(alpha + added.max(axis=2, keepdims=True), 0, 1)
        return np.dstack([to_srgb(colour), alpha * 255.0]).round().astype(np.uint8)

    @property
    def lens_distance_px(self) -> float:
        return float(np.linalg.norm(self.lens_centres[1] - self.lens_centres[0]))

    @property
    def front_width_px(self) -> float:
        return self.front_box[2] - self.front_box[0]


class GlassesRenderer:
    """Draws one glasses product on faces: the `Product` interface for eyewear."""

    category = "glasses"
    layer = 100  # drawn over any makeup

    def __init__(self, asset: GlassesAsset, *, shadow_strength: float = 0.28) -> None:
        self.asset = asset
        self.shadow_strength = shadow_strength

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        """Draw the glasses on `frame` (BGR, in place) at the anchor's eyeglass plane."""
        for layer in self.layers(frame.shape, face, anchor):
            layer.blend(frame)

    def layers(self, frame_shape: tuple[int, ...], face: Face, anchor: FaceAnchor) -> list[Layer]:
        """What `render` blends, in order: the visible temples, the nose pads' contact shadows, the
        front with its lenses, reflections and shadow; the same for every frame of the same anchor."""
        placement = self.placement(anchor)
        layers = []
        for texture, homography, opacity in placement.temples:
            temple = warp_texture(frame_shape, texture, homography, margin=margin_for(None, anchor.look))
            if temple is not None:
                layers.append(prepare_layer(temple, opacity=opacity, light=anchor.light, look=anchor.look))
        eye_px = anchor.eye_distance * anchor.camera.focal_px / max(-anchor.origin[2], 1e-6)
        shadow = Shadow(offset=(0.01 * eye_px, 0.07 * eye_px), blur=0.05 * eye_px, strength=self.shadow_strength)
        layers += contact_shadow_layers(frame_shape, placement.contacts, sigma=0.035 * eye_px, strength=0.3)
        front = warp_texture(frame_shape, self.asset.front, placement.front, margin=margin_for(shadow, anchor.look))
        if front is not None:
            self._add_reflections(front, placement.front, anchor)
            layers.append(prepare_layer(front, shadow=shadow, light=anchor.light, look=anchor.look))
        return layers

    def motion(self, before: FaceAnchor, after: FaceAnchor) -> np.ndarray:
        """How the front moves in the image from `before` to `after` (3x3): the temples and shadows
        go with it while the face moves a little."""
        return self.placement(after).front @ np.linalg.inv(self.placement(before).front)

    def _add_reflections(self, front: Warped, homography: np.ndarray, anchor: FaceAnchor) -> None:
        """Light the room reflects off the lenses, sliding across them with the head pose (added, in place)."""
        asset = self.asset
        if asset.lenses is None or asset.spec.lens_reflection <= 0:
            return
        to_camera = -anchor.origin / max(float(np.linalg.norm(anchor.origin)), 1e-9)
        view = (float(to_camera @ anchor.rotation[:, 0]), float(to_camera @ anchor.rotation[:, 1]))
        # The sheen is smooth: on lenses large on screen it is computed on every other pixel and resized.
        centres = cv2.perspectiveTransform(asset.lens_centres.reshape(-1, 1, 2).astype(np.float64), homography)
        lens_px = asset.lens_width_px * float(np.linalg.norm(centres[1] - centres[0])) / asset.lens_distance_px
        _, _, width, height = front.region
        step = 2 if lens_px >= SHEEN_COARSE_LENS_PX else 1
        u, v = front.texture_coordinates(homography, (-(-width // step), -(-height // step)))
        sheen = lens_sheen(u, v, asset.lens_centres, asset.lens_width_px, view)
        if step > 1:
            sheen = cv2.resize(sheen, (width, height), interpolation=cv2.INTER_LINEAR)
        sheen *= warp_coverage(asset.lenses, homography, front.region)
        front.colour += (asset.spec.lens_reflection * sheen)[..., None]

    @property
    def width_mm(self) -> float:
        return self.asset.spec.width_mm

    def placement(self, anchor: FaceAnchor) -> GlassesPlacement:
        """Where the front and the visible temple go in the image, without drawing.

        With the face's PD known (anchor.pd_mm) the frame is drawn at its true size against the face,
        centred between the pupils; otherwise it is fitted, lens centres on the pupils.
        """
        asset = self.asset
        if anchor.pd_mm:
            cm_per_mm = anchor.eye_distance / anchor.pd_mm
            cm_per_px = asset.spec.width_mm * cm_per_mm / asset.front_width_px
        else:
            cm_per_px = anchor.eye_distance / asset.lens_distance_px
        centre = asset.lens_centres.mean(axis=0)

        def front_local(points: np.ndarray) -> np.ndarray:
            return np.column_stack(
                [(points[:, 0] - centre[0]) * cm_per_px, -(points[:, 1] - centre[1]) * cm_per_px, np.zeros(len(points))]
            )

        corners = asset.front.corners()
        front = _homography(corners, anchor.project(front_local(corners)))
        lens_px = anchor.project(front_local(asset.lens_centres))
        temples = []
        # Where the frame touches the face: the pads on the sides of the nose, just below the lens
        # centres, and each visible temple where it rests on the head in front of the ear.
        contacts = [anchor.project(np.array([[-0.16, -0.12, 0.0], [0.16, -0.12, 0.0]]) * anchor.eye_distance)]
        if asset.temple is not None:
            arm_length = asset.spec.temple_length_mm * cm_per_px * asset.front_width_px / asset.spec.width_mm
            for side, x_edge in ((-1.0, asset.front_box[0]), (1.0, asset.front_box[2])):
                hinge = front_local(np.array([[x_edge, asset.hinge_y]]))[0]
                facing = _facing(anchor, hinge, side)
                if facing > 0:
                    temples.append((asset.temple, _temple_homography(asset.temple, anchor, hinge, arm_length), facing))
                    contacts.append(anchor.project((hinge - [0.0, 0.0, 0.75 * arm_length])[None]))
        return GlassesPlacement(front, lens_px, tuple(temples), np.vstack(contacts))


@dataclass(frozen=True)
class GlassesPlacement:
    """Where the glasses go in the image: homographies (texture px -> image px) of the front and the
    visible temples, the lens centres and the points where the frame touches the face (px)."""

    front: np.ndarray
    lens_centres_px: np.ndarray
    temples: tuple[tuple[Texture, np.ndarray, float], ...]
    contacts: np.ndarray  # (N, 2) image points where the frame rests on the face


def _homography(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    return cv2.getPerspectiveTransform(source.astype(np.float32), target.astype(np.float32)).astype(np.float64)


def _facing(anchor: FaceAnchor, hinge_local: np.ndarray, side: float) -> float:
    """0-1 visibility of the temple on `side` (-1 right, +1 left): how much its outer face sees the camera."""
    hinge = anchor.to_camera(hinge_local[None])[0]
    to_camera = -hinge / np.linalg.norm(hinge)
    cosine = float(to_camera @ (side * anchor.rotation[:, 0]))
    return float(np.clip((cosine - 0.03) / 0.15, 0.0, 1.0))


def _temple_homography(temple: Texture, anchor: FaceAnchor, hinge: np.ndarray, length: float) -> np.ndarray:
    """Map the temple image (hinge at its left edge, vertical middle) onto the plane running back from the hinge."""
    width, height = temple.size
    corners = temple.corners()
    cm_per_px = length / width
    local = np.column_stack(
        [
            np.full(4, hinge[0]),
            hinge[1] - (corners[:, 1] - height / 2.0) * cm_per_px,
            hinge[2] - (corners[:, 0] + 0.5) * cm_per_px,
        ]
    )
    return _homography(corners, anchor.project(local))


SHEEN_COARSE_LENS_PX = 50.0  # lenses this wide on screen get their sheen from a half-resolution grid
CLEAR_LENS_OPACITY = 0.2  # below this a lens is clear: only its edge and reflections show
LENS_EDGE = 0.012  # width of the lens's visible edge (its bevel), as a share of the lens width


def _with_lenses(front_bgra: np.ndarray, lenses: list[LensRegion], spec: GlassesSpec) -> np.ndarray:
    """Fill the lens openings under the frame: a tinted lens with its gradient, or a clear one that
    is nearly invisible; both with a faint edge where the lens bevel catches the light.

    Reflections are not baked in: they follow the head pose at render time (`lens_sheen`).
    """
    if not lenses:
        return front_bgra
    height, width = front_bgra.shape[:2]
    tint = np.array([int(spec.lens_tint[i : i + 2], 16) for i in (5, 3, 1)], dtype=np.float32)  # BGR
    clear = spec.lens_opacity < CLEAR_LENS_OPACITY
    lens_alpha = np.zeros((height, width), np.float32)
    lens_colour = np.zeros((height, width, 3), np.float32)
    rows = np.arange(height, dtype=np.float32)[:, None]
    for region in lenses:
        ys, xs = np.nonzero(region.mask)
        top, bottom = ys.min(), ys.max()
        mask = cv2.dilate(region.mask.astype(np.uint8), np.ones((5, 5), np.uint8))
        edge_px = max(int(round(LENS_EDGE * (xs.max() - xs.min()))), 1)
        inner = cv2.erode(region.mask.astype(np.uint8), np.ones((2 * edge_px + 1,) * 2, np.uint8))
        edge = cv2.GaussianBlur(((mask > 0) & (inner == 0)).astype(np.float32), (0, 0), 0.5 * edge_px)
        relative_y = np.clip((rows - top) / max(bottom - top, 1), 0, 1)
        body = 0.012 if clear else spec.lens_opacity * (1.0 + spec.lens_gradient * (0.6 - relative_y))
        alpha = np.clip(body + 0.3 * edge, 0, 1)
        colour = np.where(edge[..., None] > 0.05, 0.6 * tint + 40.0, tint) if clear else tint
        inside = mask > 0
        lens_alpha = np.where(inside, np.broadcast_to(alpha, lens_alpha.shape), lens_alpha)
        lens_colour = np.where(inside[..., None], np.broadcast_to(colour, lens_colour.shape), lens_colour)
    frame_alpha = front_bgra[..., 3].astype(np.float32) / 255.0
    out_alpha = frame_alpha + lens_alpha * (1 - frame_alpha)
    colour = (
        front_bgra[..., :3] * frame_alpha[..., None] + lens_colour * (lens_alpha * (1 - frame_alpha))[..., None]
    ) / np.maximum(out_alpha, 1e-6)[..., None]
    return np.dstack([np.clip(colour, 0, 255), out_alpha * 255.0]).round().astype(np.uint8)


def _lens_coverage(shape: tuple[int, int], lenses: list[LensRegion]) -> np.ndarray:
    """Mask (uint8, 255 where the lenses are), for warping the lens area with the front."""
    alpha = np.zeros(shape, np.uint8)
    for region in lenses:
        alpha[cv2.dilate(region.mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = 255
    return alpha


def lens_sheen(
    u: np.ndarray, v: np.ndarray, lens_centres: np.ndarray, lens_width: float, view: tuple[float, float]
) -> np.ndarray:
    """The reflection of a bright window across a lens, 0-1, at texture coordinates (u, v).

    A diagonal soft band and a fainter second one; `view` (the camera direction's components along
    the lens plane's x and y) slides them across the lens as the head turns, as a reflection of the
    room does, instead of a haze fixed to the lens.
    """
    right = u > lens_centres.mean(axis=0)[0]
    cx = np.where(right, lens_centres[1, 0], lens_centres[0, 0])
    cy = np.where(right, lens_centres[1, 1], lens_centres[0, 1])
    across = ((u - cx) * 0.8 + (v - cy) * 0.6) / lens_width - 2.2 * view[0] + 1.6 * view[1]
    band = np.exp(-(((across + 0.18) / 0.14) ** 2)) + 0.4 * np.exp(-(((across - 0.15) / 0.06) ** 2))
    return (0.6 * band).astype(np.float32)


def _fade_towards_ear(temple_bgra: np.ndarray) -> np.ndarray:
    """Fade the temple's alpha from full at the hinge to nothing near the ear tip."""
    width = temple_bgra.shape[1]
    ramp = np.clip((0.95 - np.linspace(0.0, 1.0, width)) / 0.5, 0.0, 1.0).astype(np.float32)
    faded = temple_bgra.copy()
    faded[..., 3] = (temple_bgra[..., 3].astype(np.float32) * ramp[None, :]).round().astype(np.uint8)
    return faded


def _read_bgra(path: Path) -> np.ndarray:
    try:
        return decode_image(path.read_bytes(), keep_alpha=True)
    except (OSError, InvalidImageError) as exc:
        raise ProductError(f"cannot read image {path}: {exc}") from exc


def save_spec(directory: Path, spec: GlassesSpec) -> None:
    """Write a product's metadata JSON beside its images."""
    (Path(directory) / "glasses.json").write_text(json.dumps(spec.model_dump(exclude_none=True), indent=2) + "\n")
