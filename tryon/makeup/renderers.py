"""Makeup renderers: each draws one product type on a tracked face (the `Product` interface).

Regions come from landmark contours (tryon.makeup.landmarks), masks are feathered in proportion to
the face, colour is applied in linear light by `paint`, lit by the scene's light (`anchor.light`), so
skin and lip texture show through and the product darkens, warms and cools with the picture.
Product colours are defined under the reference light (see tryon.lighting). Layers: skin products
first, then eyes and brows, then lips; glasses (layer 100) go over everything.
"""

from __future__ import annotations

import math
from functools import partial

import cv2
import numpy as np

from tryon.anchor import FaceAnchor
from tryon.lighting import luminance, to_linear
from tryon.makeup import landmarks as lm
from tryon.makeup.color import hex_to_linear
from tryon.makeup.paint import Selection, face_coordinates, highlight_map, paint, shade, shading, sparkle, weighted_mean
from tryon.makeup.regions import Roi, cut_out, ellipse_polygon, feather, inner_ramp, polygon_mask, resample, roi_around
from tryon.makeup.spec import (
    Blush,
    Brow,
    Contour,
    Eyeliner,
    Eyeshadow,
    Foundation,
    Highlighter,
    LipLiner,
    Lipstick,
    MakeupSpec,
)
from tryon.tracking import Face


class MakeupRenderer:
    """Base of the makeup renderers: holds the spec; subclasses set `layer` and implement `render`."""

    category = "makeup"
    layer = 50

    def __init__(self, spec: MakeupSpec) -> None:
        self.spec = spec
        colours = spec.colours if isinstance(spec, Eyeshadow) else [spec.colour]
        self.colours = np.array([hex_to_linear(colour) for colour in colours], np.float32)  # converted once

    @property
    def target(self) -> np.ndarray:
        """The product's (first) colour: linear BGR under the reference light."""
        return self.colours[0]

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        raise NotImplementedError


def _points(face: Face, indices: tuple[int, ...]) -> np.ndarray:
    return face.landmarks[list(indices), :2]


class LipstickRenderer(MakeupRenderer):
    """Lips only (outer contour minus the open mouth, up to the teeth), in five finishes."""

    layer = 60
    spec: Lipstick

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        iod = face.inter_ocular_px
        outer, inner = _points(face, lm.LIPS_OUTER), _points(face, lm.LIPS_INNER)
        roi = roi_around(outer, 0.03 * iod + 2, frame.shape)
        if roi is None:
            return
        mask = lip_mask(frame[roi.slices], roi, outer, inner, iod)
        spec = self.spec
        target = self.target
        patch = frame[roi.slices]
        gloss = spec.gloss if spec.finish in ("gloss", "metallic") else 0.0
        glitter = spec.shimmer if spec.finish in ("shimmer", "metallic") else 0.0
        spots = highlight_map(patch, mask, 50 if spec.finish == "metallic" else 75, 0.01 * iod) if gloss else None
        corners = _points(face, lm.MOUTH_CORNERS)

        def edit(selection: Selection) -> np.ndarray:
            texture = shading(selection)
            if spec.finish == "matte":  # flatten the lips' own shine
                texture = np.where(texture > 1.05, 1.05 + 0.4 * (texture - 1.05), texture)
            elif spec.finish == "metallic":  # higher contrast
                texture = texture**1.5
            out = shade(selection, target, texture=texture, on_skin=False)
            light = selection.light.gains
            if spots is not None:
                spot = selection.pick(spots)[:, None]
                if spec.finish == "gloss":  # a clear coat reflects the light's own colour
                    out = out * (1.0 - 0.5 * gloss * spot) + light * (0.45 * gloss) * spot
                else:  # metal flakes reflect in the product's colour
                    out = out * (1.0 + 1.5 * gloss * spot)
            if glitter:
                fleck = sparkle(
                    *face_coordinates(selection.frame_xy(), corners[0], corners[1] - corners[0]), cells=70, density=0.10
                )[:, None]
                out = out * (1.0 - 0.4 * fleck) + light * (0.35 * glitter) * fleck
            return out

        paint(frame, roi, mask * spec.opacity, edit, anchor.light)


def lip_mask(patch: np.ndarray, roi: Roi, outer: np.ndarray, inner: np.ndarray, iod: float) -> np.ndarray:
    """Lipstick coverage in the ROI, 0-1: full to a crisp, anti-aliased lip line, none inside the mouth.

    The tracked inner lip contour of an open mouth often lies on the lip itself, short of the teeth;
    inside it, lip-coloured pixels (redder than the teeth, brighter than the dark of the mouth) next
    to the contour are lips too, and are painted up to where the teeth begin, with a smooth edge.
    """
    lips = polygon_mask(roi, [outer])  # anti-aliased: a crisp lip line, as lipstick gives
    mouth = polygon_mask(roi, [inner])
    opening = mouth > 0.5
    linear = to_linear(patch)
    redness = np.log(np.maximum(linear[..., 2], 1e-4) / np.maximum(linear[..., 1], 1e-4))
    brightness = luminance(linear)
    lip_only = (lips > 0.5) & ~cv2.dilate(opening.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if lip_only.sum() < 10:
        return lips * (1.0 - mouth)
    lip_red = float(np.median(redness[lip_only]))
    lips = _snap_to_lip_line(lips, redness, lip_red, iod)
    if opening.sum() < 4:
        return lips * (1.0 - mouth)
    mouth_red = np.percentile(redness[opening], 25)
    lip_bright = np.median(brightness[lip_only])
    red_enough = np.clip(2.0 * (redness - mouth_red) / max(lip_red - mouth_red, 0.05) - 0.6, 0.0, 1.0)
    not_dark = np.clip(brightness / max(0.5 * lip_bright, 1e-4) - 0.5, 0.0, 1.0)
    depth = inner_ramp(mouth, 0.1 * iod)  # 0 on the contour, 1 well inside the mouth
    hard = (red_enough * not_dark).astype(np.float32)
    near_lip = cv2.dilate((hard > 0.5).astype(np.uint8), np.ones((3, 3), np.uint8))  # the smooth edge ends here
    lip_like = cv2.GaussianBlur(hard, (0, 0), max(0.006 * iod, 0.5)) * near_lip
    inside = np.clip(lip_like * 1.4 - 0.2, 0.0, 1.0) * (1.0 - depth) * mouth
    return lips * np.maximum(1.0 - mouth, inside)


class LipLinerRenderer(MakeupRenderer):
    """A soft band along the outer lip contour."""

    layer = 65
    spec: LipLiner

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        iod = face.inter_ocular_px
        outer, inner = _points(face, lm.LIPS_OUTER), _points(face, lm.LIPS_INNER)
        width = max(self.spec.width * iod, 1.0)
        roi = roi_around(outer, width + 4, frame.shape)
        if roi is None:
            return
        band = np.zeros(roi.shape, np.uint8)
        cv2.polylines(
            band,
            [np.rint(roi.local(outer) * 16).astype(np.int32)],
            True,
            255,
            max(int(round(width)), 1),
            cv2.LINE_AA,
            shift=4,
        )
        mask = cut_out(feather(band.astype(np.float32) / 255.0, 0.25 * width), roi, [inner])
        target = self.target
        paint(
            frame,
            roi,
            mask * self.spec.opacity,
            lambda selection: shade(selection, target, on_skin=False),
            anchor.light,
        )


class EyeshadowRenderer(MakeupRenderer):
    """The lid up to the crease, below the brow; one to three colours from inner to outer corner."""

    layer = 40
    spec: Eyeshadow

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        iod = face.inter_ocular_px
        softness = 0.03 * iod
        shadows, lids, corners = [], [], []
        for side in lm.SIDES:
            lid = resample(_points(face, side.upper_lid), 16)  # outer -> inner
            brow = resample(_points(face, side.brow_lower), 16)
            crease = lid + self.spec.height * (brow - lid)
            outer_flick = lid[0] + 0.12 * (lid[0] - lid[-1]) + 0.3 * (crease[0] - lid[0])
            shadows.append(np.vstack([[outer_flick], lid, crease[::-1]]))
            lids.append(np.vstack([[outer_flick], lid, (lid + 0.9 * (brow - lid))[::-1]]))
            corners.append((lid[-1], lid[0]))
        roi = roi_around(np.vstack(shadows), 3 * softness + 2, frame.shape)
        if roi is None:
            return
        # Soft towards the brow, crisp along the lash line: nothing below the lid, open or closed.
        mask = feather(polygon_mask(roi, shadows), softness) * polygon_mask(roi, lids)
        mask = cut_out(mask, roi, [_points(face, side.eye_opening) for side in lm.SIDES])
        paint(frame, roi, mask * self.spec.opacity, partial(self._edit, corners), anchor.light)

    def _edit(self, corners: list[tuple[np.ndarray, np.ndarray]], selection: Selection) -> np.ndarray:
        u, v = _lid_coordinates(selection.frame_xy(), corners)
        out = shade(selection, _gradient(self.colours, np.clip(u, 0.0, 1.0)), chroma_texture=0.5)
        if self.spec.finish == "shimmer":
            fleck = sparkle(u, v, cells=45, density=0.12)[:, None]
            out = out + selection.light.gains * (0.3 * self.spec.shimmer) * fleck
        return out


def _lid_coordinates(
    xy: tuple[np.ndarray, np.ndarray], corners: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) of frame points in the frame of the nearer eye: u = 0 at its inner corner, 1 at its outer one."""
    (right_inner, right_outer), (left_inner, left_outer) = corners
    right = face_coordinates(xy, right_inner, right_outer - right_inner)
    left = face_coordinates(xy, left_inner, left_outer - left_inner)
    across = left_inner - right_inner
    xs, ys = xy
    middle = (right_inner + left_inner) / 2
    on_left = (xs - middle[0]) * across[0] + (ys - middle[1]) * across[1] > 0
    return np.where(on_left, left[0], right[0]), np.where(on_left, left[1], right[1])


def _gradient(stops: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Per-pixel colour (N, 3) interpolated between colour stops (K, 3) spread over t in [0, 1]."""
    if len(stops) == 1:
        return np.broadcast_to(stops[0], t.shape + (3,)).astype(np.float32)
    positions = np.linspace(0.0, 1.0, len(stops))
    return np.stack([np.interp(t, positions, stops[:, channel]) for channel in range(3)], axis=-1).astype(np.float32)


class EyelinerRenderer(MakeupRenderer):
    """A line on the upper lash line, thickening outwards, with an optional wing."""

    layer = 50
    spec: Eyeliner

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        iod = face.inter_ocular_px
        shapes = [self._line(face, side, iod) for side in lm.SIDES]
        lines, bounds = [line for line, _ in shapes], [bound for _, bound in shapes]
        roi = roi_around(np.vstack(bounds), 3, frame.shape)
        if roi is None:
            return
        # Soft on top, crisp along the lash line: nothing below the lid, open or closed.
        mask = feather(polygon_mask(roi, lines), 0.004 * iod) * polygon_mask(roi, bounds)
        mask = cut_out(mask, roi, [_points(face, side.eye_opening) for side in lm.SIDES], grow_px=0)
        target = self.target
        paint(
            frame,
            roi,
            mask * self.spec.opacity,
            lambda selection: shade(selection, target, chroma_texture=0.2),
            anchor.light,
        )

    def _line(self, face: Face, side: lm.SideLandmarks, iod: float) -> tuple[np.ndarray, np.ndarray]:
        """The liner's outline for one eye, and the area above the lash line it may soften into."""
        lid = resample(_points(face, side.upper_lid), 20)[::-1]  # inner -> outer
        inner, outer = lid[0], lid[-1]
        along = (outer - inner) / max(np.linalg.norm(outer - inner), 1e-6)
        up = np.array([along[1], -along[0]])
        if np.dot(up, _points(face, side.brow_upper).mean(axis=0) - lid.mean(axis=0)) < 0:
            up = -up
        thickness = self.spec.thickness * iod * (0.35 + 0.65 * np.linspace(0, 1, len(lid)))
        top = lid + up * thickness[:, None]
        above = lid + up * (2 * thickness[:, None] + 2)
        if self.spec.wing <= 0:
            return np.vstack([lid, top[::-1]]), np.vstack([lid, above[::-1]])
        angle = math.radians(20)
        reach = self.spec.wing * iod * (along * math.cos(angle) + up * math.sin(angle))
        return np.vstack([lid, [outer + reach], top[::-1]]), np.vstack([lid, [outer + 1.2 * reach], above[::-1]])


class BrowRenderer(MakeupRenderer):
    """Tints the brow hairs and fills the gaps between them."""

    layer = 55
    spec: Brow

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        iod = face.inter_ocular_px
        target = self.target
        for side in lm.SIDES:
            polygon = _points(face, side.brow)
            softness = 0.015 * iod
            roi = roi_around(polygon, 3 * softness + 2, frame.shape)
            if roi is None:
                continue
            mask = feather(polygon_mask(roi, [polygon]), softness)
            gray = cv2.cvtColor(frame[roi.slices], cv2.COLOR_BGR2GRAY).astype(np.float32)
            inside = gray[mask > 0.5]
            skin = np.percentile(inside, 90) if inside.size else 255.0
            hair = np.clip((skin - gray) / 40.0, 0.0, 1.0)  # darker than the skin around = hair
            weight = mask * self.spec.opacity * (0.55 + 0.45 * hair)
            paint(frame, roi, weight, lambda selection: shade(selection, target, chroma_texture=0.3), anchor.light)


class FoundationRenderer(MakeupRenderer):
    """The face oval minus eyes, brows and lips: evens the tone towards the shade, keeps skin texture."""

    layer = 10
    spec: Foundation

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        iod = face.inter_ocular_px
        oval = _points(face, lm.FACE_OVAL)
        roi = roi_around(oval, 2, frame.shape)
        if roi is None:
            return
        reduce = 3 if iod > 60 else 2  # the tone change is smooth: a ninth of the pixels carry it
        softness = 0.04 * iod / reduce
        # Fades out well before the hairline and the jaw, so no edge shows where hair or the neck begins;
        # the inset keeps the upsampled change inside the oval.
        mask = inner_ramp(polygon_mask(roi, [oval], reduce), 0.25 * iod / reduce, inset=1.0)
        mask *= _forehead_fade(face, roi, reduce)
        features = [_points(face, lm.LIPS_OUTER)]
        for side in lm.SIDES:
            features += [_points(face, side.brow), _points(face, side.eye_opening)]
        exclusion = cv2.dilate(
            polygon_mask(roi, features, reduce), np.ones((3, 3), np.uint8), iterations=max(int(0.02 * iod / reduce), 1)
        )
        mask *= 1.0 - feather(exclusion, 0.6 * softness)
        target = self.target

        def edit(selection: Selection) -> np.ndarray:
            # Shading and fine texture kept; colour variation at the scale of blotches mostly evened out.
            low = selection.pick(cv2.GaussianBlur(selection.region_linear, (0, 0), max(0.06 * iod / reduce, 1.0)))
            mean = weighted_mean(selection.linear, selection.weights)
            fine = _chromaticity(selection.linear) / _chromaticity(low)
            blotches = _chromaticity(low) / _chromaticity(mean[None])
            return shade(selection, target, chroma_texture=0.0) * fine**0.5 * blotches**0.2

        paint(frame, roi, mask * self.spec.coverage * self.spec.opacity, edit, anchor.light, reduce=reduce)


class SoftPatchRenderer(MakeupRenderer):
    """Blush, highlighter and contour: soft elliptical patches placed from landmarks."""

    LAYERS = {"contour": 20, "highlighter": 25, "blush": 30}
    spec: Blush | Highlighter | Contour

    def __init__(self, spec: Blush | Highlighter | Contour) -> None:
        super().__init__(spec)
        self.layer = self.LAYERS[spec.type]

    def patches(self, face: Face) -> list[np.ndarray]:
        """The patch outlines, in frame pixels."""
        iod = face.inter_ocular_px
        polygons = []
        for side in lm.SIDES:
            axis = _points(face, side.cheek_axis)
            direction = axis[1] - axis[0]
            if self.spec.type == "blush":  # swept from the apple of the cheek up along the cheekbone
                size = self.spec.size * iod
                centre = 0.55 * _points(face, side.cheek_apple).mean(axis=0) + 0.45 * _points(
                    face, side.cheekbone
                ).mean(axis=0)
                polygons.append(ellipse_polygon(centre, direction, 0.36 * size, 0.15 * size))
            elif self.spec.type == "highlighter":
                bone = _points(face, side.cheekbone)
                polygons.append(ellipse_polygon(bone.mean(axis=0), bone[0] - bone[-1], 0.22 * iod, 0.07 * iod))
            else:
                centre = _points(face, side.cheek_hollow).mean(axis=0)
                polygons.append(ellipse_polygon(centre, direction, 0.32 * iod, 0.08 * iod))
        if self.spec.type == "highlighter":
            bridge = _points(face, lm.NOSE_BRIDGE_LINE)
            polygons.append(
                ellipse_polygon(
                    bridge.mean(axis=0),
                    bridge[-1] - bridge[0],
                    0.5 * float(np.linalg.norm(bridge[-1] - bridge[0])),
                    0.035 * iod,
                )
            )
        return polygons

    def render(self, frame: np.ndarray, face: Face, anchor: FaceAnchor) -> None:
        iod = face.inter_ocular_px
        polygons = self.patches(face)
        softness = (0.1 if self.spec.type == "blush" else 0.06) * iod
        roi = roi_around(np.vstack(polygons), 3 * softness, frame.shape)
        if roi is None:
            return
        glitter = self.spec.shimmer if self.spec.type == "highlighter" else 0.0
        reduce = 1 if glitter else (4 if self.spec.type == "blush" else 2)  # smooth changes need few samples
        oval = cv2.erode(polygon_mask(roi, [_points(face, lm.FACE_OVAL)], reduce), np.ones((3, 3), np.uint8))
        mask = feather(polygon_mask(roi, polygons, reduce), softness / reduce) * oval
        target = self.target
        lightness_share = {"blush": 0.2, "highlighter": 0.8, "contour": 0.8}[self.spec.type]
        right, left = face.iris_centres

        def edit(selection: Selection) -> np.ndarray:
            out = shade(selection, target, chroma_texture=0.6)
            # Blush mostly changes the colour, highlighter and contour mostly the lightness.
            before, after = luminance(selection.linear), np.maximum(luminance(out), 1e-4)
            out *= ((np.maximum(before, 1e-4) / after) ** (1.0 - lightness_share))[:, None]
            if glitter:
                u, v = face_coordinates(selection.frame_xy(), right, left - right)
                out += selection.light.gains * (0.2 * glitter) * sparkle(u, v, cells=60, density=0.08)[:, None]
            return out

        paint(frame, roi, mask * self.spec.opacity, edit, anchor.light, reduce=reduce)


def _snap_to_lip_line(lips: np.ndarray, redness: np.ndarray, lip_red: float, iod: float) -> np.ndarray:
    """Grow the tracked lip outline (0-1 coverage) onto lip-coloured pixels just outside it.

    The tracked outer contour is often a pixel or two inside the real lip line; lipstick stops at
    the line itself. Pixels up to 1.5% of the eye distance outside the contour count as lip as far
    as they are as red (log R/G) as the lips rather than as the skin around them.
    """
    reach = max(int(round(0.015 * iod)), 1)
    inside = (lips > 0.5).astype(np.uint8)
    distance = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    skin = (distance > 2.5 * reach) & (distance <= 4.0 * reach)
    if skin.sum() < 10:
        return lips
    skin_red = float(np.median(redness[skin]))
    if lip_red - skin_red < 0.05:  # lips no redder than the skin: nothing to snap to
        return lips
    lip_like = np.clip((redness - skin_red) / (lip_red - skin_red) * 1.5 - 0.25, 0.0, 1.0)
    near = np.clip((reach + 0.5 - distance) / max(reach, 1), 0.0, 1.0)  # nothing beyond the reach
    return np.maximum(lips, (lip_like * near * (distance > 0)).astype(np.float32))


def _chromaticity(linear: np.ndarray) -> np.ndarray:
    """Colour without brightness: linear BGR (N, 3) over its luminance."""
    return linear / np.maximum(luminance(linear), 1e-4)[:, None]


def _forehead_fade(face: Face, roi: Roi, reduce: int) -> np.ndarray:
    """1 up to the middle of the forehead, fading to 0 before the top of the face oval (the hairline)."""
    brows = face.landmarks[[105, 334], :2].mean(axis=0)
    top = face.landmarks[10, :2]
    up = top - brows
    height, width = roi.shape_at(reduce)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    local_brows = roi.local(brows[None], reduce)[0]
    local_up = up * (width / roi.shape[1], height / roi.shape[0])
    t = ((xs - local_brows[0]) * local_up[0] + (ys - local_brows[1]) * local_up[1]) / max(
        float(local_up @ local_up), 1e-6
    )
    t = np.clip((1.0 - t) / 0.55, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


_RENDERERS: dict[str, type[MakeupRenderer]] = {
    "lipstick": LipstickRenderer,
    "lip_liner": LipLinerRenderer,
    "eyeshadow": EyeshadowRenderer,
    "eyeliner": EyelinerRenderer,
    "brow": BrowRenderer,
    "foundation": FoundationRenderer,
    "blush": SoftPatchRenderer,
    "highlighter": SoftPatchRenderer,
    "contour": SoftPatchRenderer,
}


def makeup_renderer(spec: MakeupSpec) -> MakeupRenderer:
    """The renderer for a validated makeup spec."""
    return _RENDERERS[spec.type](spec)
