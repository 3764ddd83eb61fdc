"""Draw the built-in glasses styles into assets/glasses/<style>/ (front.png, temple.png, glasses.json).

Run `python scripts/generate_glasses.py` to regenerate them. Shapes are designed in millimetres around
the frame centre (x right, y down), drawn four times oversampled and then reduced, so every edge is
anti-aliased. The parts are shaded like a studio product photo: each gets a height profile (a round
wire for metal, a flat face with rolled edges for acetate) and its surface normals are lit from above
the camera, metal mirroring a studio (softbox above, dark horizon, pale floor), acetate glossy.
Everything is deterministic, so the committed assets can be checked against a fresh run.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tryon.glasses import GlassesSpec, save_spec

Point = tuple[float, float]
BGR = tuple[float, float, float]
Pixels = tuple[np.ndarray, np.ndarray]  # np.nonzero() of a mask: the rows and columns of a part

PX_PER_MM = 7
OVERSAMPLE = 4
SCALE = PX_PER_MM * OVERSAMPLE  # oversampled pixels per millimetre
SHIFT = 4  # fractional bits of the polygon coordinates given to OpenCV
MARGIN_MM = 2.0  # transparent border around the front
FRONT_HEIGHT_MM = 62.0
LENS_LINE_MM = 30.0  # height of the lens centres in the front image
TEMPLE_SIZE_MM = (150.0, 50.0)
HARDWARE_EDGE_MM = 0.5  # pins, pad arms and hinge blocks: small round-edged metal parts
LIGHT = np.array([0.0, 0.5, 1.0], np.float32) / math.hypot(0.5, 1.0)  # camera axes: x right, y up, z to the viewer


# --- drawing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Canvas:
    """An oversampled drawing surface in millimetres, design (0, 0) at `origin_mm` from the top left."""

    width_mm: float
    height_mm: float
    origin_mm: Point

    @property
    def shape(self) -> tuple[int, int]:
        return round(self.height_mm * SCALE), round(self.width_mm * SCALE)

    def blank(self) -> np.ndarray:
        return np.zeros(self.shape, np.uint8)

    def to_px(self, points_mm: np.ndarray) -> np.ndarray:
        """Fixed-point coordinates for OpenCV, whose pixel i is centred on i (so covers [i-0.5, i+0.5))."""
        points = (np.asarray(points_mm, np.float64) + self.origin_mm) * SCALE - 0.5
        return np.rint(points * (1 << SHIFT)).astype(np.int32)

    def to_image_px(self, x_mm: float, y_mm: float) -> Point:
        """Where a design point lands in the reduced image, in pixel-centre coordinates."""
        return (x_mm + self.origin_mm[0]) * PX_PER_MM - 0.5, (y_mm + self.origin_mm[1]) * PX_PER_MM - 0.5

    def fill(self, mask: np.ndarray, *polygons: np.ndarray) -> np.ndarray:
        """Fill each polygon (one at a time: OpenCV would leave out where several in one call overlap)."""
        for polygon in polygons:
            cv2.fillPoly(mask, [self.to_px(polygon)], 255, cv2.LINE_8, shift=SHIFT)
        return mask

    def stroke(self, mask: np.ndarray, path: np.ndarray, width_mm: float) -> np.ndarray:
        """An open path of constant width with round ends (OpenCV rounds thick line caps)."""
        cv2.polylines(mask, [self.to_px(path)], False, 255, max(round(width_mm * SCALE), 1), cv2.LINE_8, shift=SHIFT)
        return mask

    def position_mm(self, pixels: Pixels) -> tuple[np.ndarray, np.ndarray]:
        """Design coordinates of the centres of the given oversampled pixels."""
        rows, cols = pixels
        return (cols + 0.5) / SCALE - self.origin_mm[0], (rows + 0.5) / SCALE - self.origin_mm[1]


def spline(points: list[Point], closed: bool, samples: int = 20) -> np.ndarray:
    """A Catmull-Rom curve through designed control points; an open curve whose ends meet makes a corner."""
    p = np.asarray(points, np.float64)
    extended = np.vstack([p[-1], p, p[0], p[1]]) if closed else np.vstack([p[0], p, p[-1]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    pieces = []
    for i in range(1, len(extended) - 2):
        p0, p1, p2, p3 = extended[i - 1 : i + 3]
        pieces.append(
            0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
        )
    return np.vstack(pieces + ([] if closed else [p[-1:]]))


def superellipse(width: float, height: float, power: float, centre: Point = (0.0, 0.0), n: int = 360) -> np.ndarray:
    """Power 2 is an ellipse; higher powers give squarer, still smoothly rounded corners."""
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    return np.column_stack(
        [
            centre[0] + np.sign(c) * np.abs(c) ** (2 / power) * width / 2,
            centre[1] + np.sign(s) * np.abs(s) ** (2 / power) * height / 2,
        ]
    )


def tilted_ellipse(centre: Point, width: float, height: float, degrees: float) -> np.ndarray:
    """An ellipse turned clockwise on screen by `degrees`."""
    a = math.radians(degrees)
    rotation = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    return superellipse(width, height, 2.0, n=120) @ rotation + centre


def outward_normals(outline: np.ndarray) -> np.ndarray:
    """Unit normals of a closed outline, pointing out of it whichever way it runs."""
    tangent = np.roll(outline, -1, axis=0) - np.roll(outline, 1, axis=0)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]]) / np.linalg.norm(tangent, axis=1)[:, None]
    x, y = outline[:, 0], outline[:, 1]
    clockwise_on_screen = np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) > 0  # y points down
    return normal if clockwise_on_screen else -normal


def offset(outline: np.ndarray, distance: np.ndarray | float) -> np.ndarray:
    """Move a closed convex-ish outline outwards (a per-vertex distance gives a rim of varying width)."""
    return outline + outward_normals(outline) * np.asarray(distance)[..., None]


def band(path: np.ndarray, width: np.ndarray) -> np.ndarray:
    """The outline of a strip of varying width along an open path."""
    tangent = np.gradient(path, axis=0)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) / np.linalg.norm(tangent, axis=1)[:, None]
    half = (width / 2)[:, None]
    return np.vstack([path + normal * half, (path - normal * half)[::-1]])


def both_lenses(local: np.ndarray, half_distance: float) -> list[np.ndarray]:
    """Place a lens-local shape (x towards the temple) at both lenses, mirrored for the image-left one."""
    return [np.column_stack([side * (local[:, 0] + half_distance), local[:, 1]]) for side in (-1, 1)]


def mirrored(shape: np.ndarray) -> list[np.ndarray]:
    """A right-hand shape in frame coordinates and its mirror image on the left."""
    return [shape * [-1, 1], shape]


def blur(image: np.ndarray, sigma_mm: float) -> np.ndarray:
    """Gaussian blur (float32 0-1 out); wide ones run at the reduced resolution, where they are as smooth
    and far cheaper."""
    image = image.astype(np.float32) / (255 if image.dtype == np.uint8 else 1)
    sigma = sigma_mm * SCALE
    if sigma < 3 * OVERSAMPLE:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    height, width = image.shape
    small = cv2.resize(image, (width // OVERSAMPLE, height // OVERSAMPLE), interpolation=cv2.INTER_AREA)
    return cv2.resize(
        cv2.GaussianBlur(small, (0, 0), sigma / OVERSAMPLE), (width, height), interpolation=cv2.INTER_LINEAR
    )


def fillet(mask: np.ndarray, radius_mm: float) -> np.ndarray:
    """Round the inside corners where parts meet (bridge into rim, end piece into rim), keeping the rest."""
    return np.where(blur(mask, radius_mm) > 0.5, 255, mask).astype(np.uint8)


# --- frame shapes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FrontDesign:
    """The shapes of one frame front (masks 0/255) and where its optics and hinges are, in design mm."""

    canvas: Canvas
    frame: np.ndarray  # the front piece: rims, bridge(s), end pieces; lens holes not cut yet
    holes: np.ndarray
    half_lens_distance_mm: float
    hinge_y_mm: float
    end_piece: tuple[float, float]  # |x| from where the end pieces turn back, and their half height
    fillet_mm: float
    hardware: np.ndarray | None = None  # metal pins on an acetate front
    pads: np.ndarray | None = None  # translucent nose pads, behind the front
    pad_arms: np.ndarray | None = None  # the wires and pad boxes holding them


def front_canvas(width_mm: float) -> Canvas:
    """The front's canvas: the frame centred, lens centres on LENS_LINE_MM, a transparent margin."""
    canvas_width = width_mm + 2 * MARGIN_MM
    return Canvas(canvas_width, FRONT_HEIGHT_MM, (canvas_width / 2, LENS_LINE_MM))


def half_width(canvas: Canvas) -> float:
    """The end pieces reach exactly this far, so the drawing is as wide as the style's width_mm."""
    return canvas.width_mm / 2 - MARGIN_MM


def rims(canvas: Canvas, lens: np.ndarray, outline: np.ndarray, half_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Lens holes and the filled outer outlines of both rims (the holes are cut out later)."""
    holes, frame = canvas.blank(), canvas.blank()
    for hole, rim in zip(both_lenses(lens, half_distance), both_lenses(outline, half_distance)):
        canvas.fill(holes, hole)
        canvas.fill(frame, rim)
    return holes, frame


def metal_end_pieces(canvas: Canvas, mask: np.ndarray, rim_x: float, y: float, bar_mm: float, block_mm: float) -> None:
    """A short bar from the rim to a hinge block at the outer edge, on both sides."""
    outer = half_width(canvas)
    for bar in mirrored(np.array([[rim_x - 0.6, y], [outer - bar_mm / 2, y]])):
        canvas.stroke(mask, bar, bar_mm)
    canvas.fill(mask, *mirrored(superellipse(2.6, block_mm, 4.0, (outer - 1.3, y))))


def nose_pads(canvas: Canvas, anchor: Point, pad: Point, tilt: float) -> tuple[np.ndarray, np.ndarray]:
    """Translucent pads on pad arms that leave the rim behind the bridge (right side given, mirrored).

    From the front a pad is seen nearly edge-on: a narrow oval, its top leaning towards the nose.
    """
    pads, arms = canvas.blank(), canvas.blank()
    (ax, ay), (px, py) = anchor, pad
    arm = spline([(ax, ay), (ax - 1.4, ay + 1.4), (px + 1.2, py - 6.0), (px + 0.5, py - 2.4)], closed=False)
    box = superellipse(1.5, 2.6, 4.0, (px + 0.45, py - 1.8))
    for side in (-1, 1):
        flip = [side, 1]
        canvas.fill(pads, tilted_ellipse((side * px, py), 3.4, 9.6, -side * tilt))
        canvas.stroke(arms, arm * flip, 0.75)
        canvas.fill(arms, box * flip)
    return pads, arms


def arch(half_span: float, foot_y: float, top_y: float, n: int = 40) -> np.ndarray:
    """A bridge curve rising from feet at +-half_span to top_y in the middle (over the nose)."""
    x = np.linspace(-half_span, half_span, n)
    return np.column_stack([x, top_y + (foot_y - top_y) * (x / half_span) ** 2])


def round_front(canvas: Canvas) -> FrontDesign:
    """Perfect circles in thin wire, a simple arched bridge, end pieces a little above the lens line."""
    half_distance, radius, wire = 36.0, 25.5, 1.3
    circle = superellipse(2 * radius, 2 * radius, 2.0, n=720)
    holes, frame = rims(canvas, circle, offset(circle, wire), half_distance)
    canvas.stroke(frame, arch(13.6, -11.0, -14.0), 1.5)
    hinge_y = -6.0
    rim_x = half_distance + math.sqrt((radius + wire) ** 2 - hinge_y**2)
    metal_end_pieces(canvas, frame, rim_x, hinge_y, 1.9, 3.4)
    pads, arms = nose_pads(canvas, (half_distance - radius - 0.3, -7.0), (7.4, 7.5), tilt=14.0)
    return FrontDesign(
        canvas, frame, holes, half_distance, hinge_y, (half_width(canvas) - 3.2, 3.0), 0.35, pads=pads, pad_arms=arms
    )


def aviator_lens() -> np.ndarray:
    """Teardrop, right lens, x towards the temple: a nearly straight top sloping a little down to the
    temple, widest high up, the outer side sweeping in, the lowest point deep on the nose side."""
    return spline(
        [
            (-24.5, -20.6),
            (-13.0, -21.6),
            (0.0, -21.6),
            (12.0, -20.9),
            (21.5, -19.2),
            (27.5, -15.0),
            (29.9, -8.5),
            (29.6, -1.0),
            (27.6, 6.5),
            (23.8, 13.5),
            (17.8, 19.8),
            (9.8, 24.6),
            (0.5, 27.4),
            (-8.5, 27.8),
            (-16.0, 25.0),
            (-22.5, 17.0),
            (-26.0, 8.5),
            (-27.6, -1.0),
            (-27.6, -9.0),
            (-26.6, -16.0),
        ],
        closed=True,
    )


def aviator_front(canvas: Canvas) -> FrontDesign:
    """Thin gold wire round teardrops, a straight top bar over a curved lower bridge, pads behind."""
    half_distance, wire = 37.0, 1.1
    lens = aviator_lens()
    holes, frame = rims(canvas, lens, offset(lens, wire), half_distance)
    canvas.stroke(frame, np.array([[-19.0, -22.0], [19.0, -22.0]]), 1.4)
    canvas.stroke(frame, arch(10.6, -11.0, -14.5), 1.3)
    hinge_y = -14.0
    metal_end_pieces(canvas, frame, half_distance + 29.6, hinge_y, 1.8, 3.2)
    pads, arms = nose_pads(canvas, (half_distance - 27.9, -7.0), (6.0, 6.5), tilt=12.0)
    return FrontDesign(
        canvas, frame, holes, half_distance, hinge_y, (half_width(canvas) - 3.0, 3.0), 0.35, pads=pads, pad_arms=arms
    )


def acetate_bridge(canvas: Canvas, mask: np.ndarray, top: float, foot: Point, arch_top: float) -> None:
    """A solid bridge from the top line down to an arch over the nose, running into both rims."""
    foot_x, foot_y = foot
    side = foot_x + 7
    canvas.fill(
        mask,
        np.vstack(
            [
                [(-side, top), (side, top), (side, foot_y + 3)],
                arch(foot_x, foot_y, arch_top)[::-1],
                [(-side, foot_y + 3)],
            ]
        ),
    )


def pins(canvas: Canvas, x: float, y: float) -> np.ndarray:
    """Two small metal rivets on each end piece, where an acetate front's hinge is fixed."""
    mask = canvas.blank()
    for dx in (-1.3, 1.3):
        canvas.fill(mask, *mirrored(superellipse(1.2, 1.2, 2.0, (x + dx, y), n=48)))
    return mask


def rectangle_lens() -> np.ndarray:
    """Right lens, x towards the temple: a slightly rounded rectangle, its lower nose-side corner
    cut back (as real frames are, to clear the nose), so the bridge opening widens downwards."""
    lens = superellipse(53.0, 34.0, 4.2, (0.0, -0.5), n=720)
    x, y = lens[:, 0], lens[:, 1]
    lens[:, 0] += 6.0 * np.clip(-x / 26.5, 0, 1) ** 3 * np.clip((y + 13) / 30, 0, 1) ** 1.3
    return lens


def with_end_piece(lens: np.ndarray, width: np.ndarray, reach_x: float, up_degrees: float) -> np.ndarray:
    """The rim's outer outline, its outer side thickened around the direction `up_degrees` above the
    horizontal into an end piece reaching exactly `reach_x` (lens-local), blending into the rim."""
    normals = outward_normals(lens)
    angle = np.arctan2(-normals[:, 1], normals[:, 0])
    bulge = np.exp(-(((angle - math.radians(up_degrees)) / 0.45) ** 2))
    low, high = 0.0, 20.0
    for _ in range(40):  # bisect the bulge's size
        middle = (low + high) / 2
        low, high = (middle, high) if offset(lens, width + middle * bulge)[:, 0].max() < reach_x else (low, middle)
    return offset(lens, width + high * bulge)


def rectangular_front(canvas: Canvas) -> FrontDesign:
    """A slightly rounded rectangle in thick black acetate, a solid bridge, the upper outer corners
    thickening into end pieces that turn back to the hinges."""
    half_distance = 36.5
    outer = half_width(canvas)
    lens = rectangle_lens()
    normals = outward_normals(lens)
    width = 5.4 - 0.1 * np.clip(-normals[:, 1], 0, 1) - 0.8 * np.clip(normals[:, 1], 0, 1)  # top 5.3, bottom 4.6
    outline = with_end_piece(lens, width, outer - half_distance, up_degrees=28)
    holes, frame = rims(canvas, lens, outline, half_distance)
    acetate_bridge(canvas, frame, top=-21.2, foot=(11.0, 6.0), arch_top=-11.0)
    hinge_y = float(outline[np.argmax(outline[:, 0]), 1])
    return FrontDesign(
        canvas,
        frame,
        holes,
        half_distance,
        hinge_y,
        (outer - 3.2, 5.0),
        1.3,
        hardware=pins(canvas, outer - 5.6, hinge_y),
    )


def cat_eye_lens() -> np.ndarray:
    """Right lens, x towards the temple: a round lower rim, the top line rising to a high outer corner."""
    return spline(
        [
            (-20.0, -14.0),
            (-8.0, -15.6),
            (5.0, -17.4),
            (15.0, -19.2),
            (21.6, -18.8),
            (24.8, -13.8),
            (25.5, -5.0),
            (23.6, 5.0),
            (18.4, 13.2),
            (9.6, 18.1),
            (-2.0, 19.3),
            (-12.5, 16.5),
            (-20.0, 10.5),
            (-24.3, 1.5),
            (-24.8, -8.0),
        ],
        closed=True,
    )


def cat_eye_outline(tip_x: float) -> np.ndarray:
    """The front's outer edge, right lens: thick all round, sweeping up and out into a pointed wing."""
    tip = (tip_x, -25.0)
    return spline(
        [
            tip,
            (tip_x - 6.0, -24.9),
            (16.0, -23.4),
            (4.0, -21.5),
            (-8.0, -20.0),
            (-19.0, -18.8),
            (-26.5, -15.5),
            (-29.0, -8.0),
            (-28.6, 2.0),
            (-24.5, 12.5),
            (-15.0, 20.5),
            (-2.0, 23.5),
            (12.0, 22.0),
            (22.5, 16.5),
            (28.3, 8.0),
            (30.2, -1.0),
            (30.6, -9.0),
            (31.8, -15.5),
            (tip_x - 1.4, -21.0),
            tip,
        ],
        closed=False,
    )


def cat_eye_front(canvas: Canvas) -> FrontDesign:
    """Thick tortoise acetate, the upper outer corners swept up into wings over the hinges."""
    half_distance = 35.0
    outer = half_width(canvas)
    holes, frame = rims(canvas, cat_eye_lens(), cat_eye_outline(outer - half_distance), half_distance)
    acetate_bridge(canvas, frame, top=-18.4, foot=(10.0, 7.0), arch_top=-10.0)
    hinge_y = -17.0
    return FrontDesign(
        canvas,
        frame,
        holes,
        half_distance,
        hinge_y,
        (outer - 3.6, 8.0),
        1.2,
        hardware=pins(canvas, outer - 6.8, hinge_y - 0.5),
    )


# --- shading ------------------------------------------------------------------------------------


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 before edge0, 1 after edge1 (either order), a smooth S between: soft thresholds everywhere."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def surface_normals(mask: np.ndarray, pixels: Pixels, edge_mm: float, dome_mm: float) -> np.ndarray:
    """Normals (N, 3, camera axes) of a part whose cross-section rolls over about `edge_mm` at every edge
    and rises `dome_mm` towards its middle; a wire about 2 * edge_mm wide comes out round.

    The profile comes from blurred copies of the mask rather than a distance transform: those are smooth
    to a fraction of a pixel, so the pixel steps of a nearly straight edge leave no ripples in the light.
    """
    u = np.clip(2 * blur(mask, 0.5 * edge_mm) - 1, 0, 1)
    dome = np.clip(2 * blur(mask, 2.5 * edge_mm) - 1, 0, 1)
    height = (edge_mm * np.sqrt(1 - (1 - u) ** 2) + dome_mm * dome) * SCALE
    dx = cv2.Sobel(height, cv2.CV_32F, 1, 0, ksize=1, scale=0.5)[pixels]
    dy = cv2.Sobel(height, cv2.CV_32F, 0, 1, ksize=1, scale=0.5)[pixels]
    normals = np.column_stack([-dx, dy, np.ones_like(dx)])  # image y points down, camera y up
    return normals / np.linalg.norm(normals, axis=1, keepdims=True)


def turn_back(normals: np.ndarray, x: np.ndarray, y: np.ndarray, design: FrontDesign) -> tuple[np.ndarray, np.ndarray]:
    """Turn the end pieces' surface towards the temples as they curve back; returns the turned normals
    and how far (0-1) each pixel has turned, to darken what recedes from the viewer."""
    start, half_height = design.end_piece
    across = np.clip((np.abs(x) - start) / (half_width(design.canvas) - start), 0.0, 1.0)
    turned = across**1.3 * np.exp(-(((y - design.hinge_y_mm) / half_height) ** 4))
    angle = turned * 1.35 * np.sign(x)
    c, s = np.cos(angle), np.sin(angle)
    nx, ny, nz = normals.T
    return np.column_stack([nx * c + nz * s, ny, nz * c - nx * s]), turned


def studio(normals: np.ndarray, softbox_radiance: float = 3.5) -> np.ndarray:
    """Radiance (1 = white paper) mirrored towards the camera by each normal: a big softbox above the
    camera, ceiling above, a dark horizon just below eye level, a pale floor; behind the frame is the
    wearer's head, dark, so surfaces turning away (end pieces, a wire's far edges) darken."""
    x, y, z = (2 * normals[:, 2:3] * normals - [0.0, 0.0, 1.0]).T  # the reflected view ray
    sky = np.interp(y, [-1.0, -0.45, -0.22, -0.08, 0.05, 0.3, 1.0], [0.65, 0.6, 0.06, 0.3, 0.85, 1.05, 1.15])
    softbox = (
        smoothstep(0.12, 0.3, y)
        * smoothstep(0.95, 0.7, y)
        * smoothstep(0.75, 0.45, np.abs(x))
        * smoothstep(-0.4, -0.1, z)
    )
    behind = smoothstep(-0.2, -0.7, z)
    return ((sky + softbox_radiance * softbox) * (1 - 0.75 * behind)).astype(np.float32)


def tone(linear: np.ndarray) -> np.ndarray:
    """0-1 display values: linear up to a knee, then a soft shoulder, so highlights go white, not flat."""
    knee = 0.75
    shoulder = knee + (1 - knee) * (1 - np.exp(-(linear - knee) / (1 - knee)))
    return np.where(linear < knee, linear, shoulder).astype(np.float32)


def shade_metal(normals: np.ndarray, colour: BGR) -> np.ndarray:
    """Polished metal: the studio mirrored and coloured by the metal, strong light and dark bands."""
    reflectance = np.array(colour, np.float32) / 255
    diffuse = np.clip(normals @ LIGHT, 0, 1)[:, None]
    return tone(reflectance * (0.9 * studio(normals, 4.0)[:, None] + 0.15 * diffuse))


def shade_acetate(normals: np.ndarray, albedo: np.ndarray) -> np.ndarray:
    """Glossy plastic: diffuse body colour and a Fresnel-weighted studio reflection (the gloss)."""
    diffuse = np.clip(normals @ LIGHT, 0, 1)[:, None]
    fresnel = (0.05 + 0.95 * (1 - np.clip(normals[:, 2], 0, 1)) ** 5)[:, None]
    return tone(albedo * (0.3 + 0.8 * diffuse) + fresnel * studio(normals)[:, None])


def value_noise(shape: tuple[int, int], rng: np.random.Generator, cell_px: float, stretch: float) -> np.ndarray:
    """Smooth zero-mean, unit-variance noise with features about `cell_px` across, `stretch` times longer in x."""
    height, width = shape
    grid = rng.random((int(height / cell_px) + 4, int(width / (cell_px * stretch)) + 4)).astype(np.float32)
    big = (round(grid.shape[1] * cell_px * stretch), round(grid.shape[0] * cell_px))
    field = cv2.resize(grid, big, interpolation=cv2.INTER_CUBIC)[:height, :width]
    field = cv2.GaussianBlur(field, (0, 0), 0.3 * cell_px)
    return (field - field.mean()) / field.std()


def tortoise(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Havana tortoiseshell albedo (0-1 BGR) at the reduced resolution: honey and amber acetate with
    brown clouds deep inside (soft), dark patches nearer the surface (feathered edges, near-black
    cores) and a few small specks; the layers' different softness gives the mottling its depth."""
    rng = np.random.default_rng(seed)
    height, width = shape
    mm = PX_PER_MM
    warp = [value_noise(shape, rng, 10.0 * mm, 1.4) * 1.2 * mm for _ in range(2)]
    cols, rows = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))

    def layer(cell_mm: float, stretch: float, octaves: int = 1) -> np.ndarray:
        """Warped noise; extra octaves (each half the size, half the weight) make edges ragged."""
        field = sum(0.5**i * value_noise(shape, rng, cell_mm * mm / 2**i, stretch) for i in range(octaves))
        return cv2.remap(
            field / np.std(field), cols + warp[0], rows + warp[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )

    base, clouds, patches = layer(9.0, 1.5), layer(5.0, 1.5, 3), layer(4.0, 1.4, 4)
    specks = layer(1.0, 1.2, 2)
    honey, amber = np.array([0.18, 0.45, 0.71]), np.array([0.08, 0.24, 0.47])
    brown, dark, black = np.array([0.05, 0.14, 0.3]), np.array([0.03, 0.065, 0.13]), np.array([0.014, 0.025, 0.045])

    def over(albedo: np.ndarray, colour: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return albedo + (colour - albedo) * weight[..., None]

    albedo = over(np.broadcast_to(honey, shape + (3,)), amber, smoothstep(-1.0, 1.0, base))
    albedo = over(albedo, brown, 0.8 * smoothstep(-0.6, 1.0, clouds))
    albedo = over(albedo, brown, 0.6 * smoothstep(-0.3, 0.5, patches + 0.35 * clouds))  # a halo round each
    albedo = over(albedo, dark, smoothstep(-0.05, 0.85, patches + 0.35 * clouds))
    albedo = over(albedo, black, 0.75 * smoothstep(0.9, 1.7, patches + 0.35 * clouds))
    albedo = over(albedo, dark, 0.5 * smoothstep(1.6, 2.3, specks))
    return albedo.astype(np.float32)


@dataclass(frozen=True)
class Material:
    """A part's surface: polished metal or glossy acetate (flat colour or tortoiseshell), and its profile."""

    colour: BGR | None  # the metal's reflectance or the acetate's colour; None for tortoiseshell
    metal: bool
    edge_mm: float  # the radius its edges roll over
    dome_mm: float = 0.0
    tortoise_seed: int | None = None

    def shade(self, normals: np.ndarray, pixels: Pixels, shape: tuple[int, int]) -> np.ndarray:
        """Colours (N, 3, 0-1 BGR) of the part's pixels in an oversampled image of `shape`."""
        if self.tortoise_seed is not None:
            small = tortoise((shape[0] // OVERSAMPLE, shape[1] // OVERSAMPLE), self.tortoise_seed)
            return shade_acetate(normals, cv2.resize(small, shape[::-1], interpolation=cv2.INTER_LINEAR)[pixels])
        assert self.colour is not None, "a plain material needs its colour"
        if self.metal:
            return shade_metal(normals, self.colour)
        return shade_acetate(normals, np.array(self.colour, np.float32)[None] / 255)


def paint(
    mask: np.ndarray,
    material: Material,
    adjust: Callable[[np.ndarray, Pixels], tuple[np.ndarray, np.ndarray]] | None = None,
) -> np.ndarray:
    """The shaded colour image (0-1 BGR) of one part, computed only on its pixels. `adjust` may turn the
    normals and returns them with a brightness factor per pixel."""
    pixels = np.nonzero(mask)
    normals = surface_normals(mask, pixels, material.edge_mm, material.dome_mm)
    brightness = np.ones(len(normals), np.float32)
    if adjust is not None:
        normals, brightness = adjust(normals, pixels)
    colour = np.zeros(mask.shape + (3,), np.float32)
    colour[pixels] = material.shade(normals, pixels, mask.shape) * brightness[:, None]
    return colour


def inner_edge(holes: np.ndarray, pixels: Pixels, width_mm: float = 0.7, depth: float = 0.45) -> np.ndarray:
    """Brightness beside the lens openings: the groove the lens sits in is in shadow."""
    distance = cv2.distanceTransform(255 - holes, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[pixels] / SCALE
    return 1 - depth * np.exp(-distance / width_mm)


def pad_layer(pads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clear silicone pads: mostly see-through, their rims and highlight more opaque."""
    pixels = np.nonzero(pads)
    normals = surface_normals(pads, pixels, 1.2, 0.0)
    lit = 0.5 + 0.4 * np.clip(normals @ LIGHT, 0, 1)
    gloss = 0.15 * studio(normals)
    colour, alpha = np.zeros(pads.shape + (3,), np.float32), np.zeros(pads.shape, np.float32)
    colour[pixels] = tone(np.array([0.84, 0.85, 0.83]) * lit[:, None] + gloss[:, None])
    alpha[pixels] = np.clip(0.22 + 0.55 * (1 - normals[:, 2]) + 0.3 * np.clip(gloss - 0.2, 0, 1), 0, 0.9)
    return alpha, colour


# --- images -------------------------------------------------------------------------------------


def flatten(layers: list[tuple[np.ndarray, np.ndarray]], cut: np.ndarray | None = None) -> np.ndarray:
    """Composite (alpha, colour) layers back to front, clear `cut`, and reduce the oversampling
    (premultiplied, so edges pick up no colour from transparent pixels). Returns 8-bit BGRA."""
    colour = np.zeros(layers[0][1].shape, np.float32)
    alpha = np.zeros(layers[0][0].shape, np.float32)
    for layer_alpha, layer_colour in layers:
        a = layer_alpha.astype(np.float32)
        colour = layer_colour * a[..., None] + colour * (1 - a[..., None])
        alpha = a + alpha * (1 - a)
    if cut is not None:
        colour[cut > 0] = 0
        alpha[cut > 0] = 0
    size = (alpha.shape[1] // OVERSAMPLE, alpha.shape[0] // OVERSAMPLE)
    colour = cv2.resize(colour, size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)
    straight = colour / np.maximum(alpha, 1e-6)[..., None]
    return np.dstack([np.clip(straight * 255, 0, 255), np.clip(alpha * 255, 0, 255)]).round().astype(np.uint8)


@dataclass(frozen=True)
class Style:
    """One built-in product: its front design, materials, temple and lens metadata."""

    name: str
    width_mm: float  # the real frame's front width: the drawing is made exactly this wide
    front: Callable[[Canvas], FrontDesign]
    material: Material
    hardware: BGR  # pins, pad arms, temple hinges
    temple_width_mm: tuple[float, float]  # at the hinge, and along the arm
    tint: str
    opacity: float
    gradient: float

    @property
    def hardware_material(self) -> Material:
        return Material(self.hardware, metal=True, edge_mm=HARDWARE_EDGE_MM)


def draw_front(style: Style) -> tuple[np.ndarray, tuple[Point, Point], float]:
    """The front image (BGRA), its lens centres and hinge height in image pixels."""
    design = style.front(front_canvas(style.width_mm))
    canvas = design.canvas
    frame = fillet(design.frame, design.fillet_mm)
    frame[design.holes > 0] = 0

    def end_pieces_and_groove(normals: np.ndarray, pixels: Pixels) -> tuple[np.ndarray, np.ndarray]:
        turned_normals, turned = turn_back(normals, *canvas.position_mm(pixels), design)
        return turned_normals, (1 - 0.5 * turned) * inner_edge(design.holes, pixels)

    layers = []
    if design.pads is not None and design.pad_arms is not None:
        layers += [pad_layer(design.pads), (design.pad_arms / 255, paint(design.pad_arms, style.hardware_material))]
    layers.append((frame / 255, paint(frame, style.material, end_pieces_and_groove)))
    if design.hardware is not None:
        layers.append((design.hardware / 255, paint(design.hardware, style.hardware_material)))
    front = flatten(layers, cut=design.holes)
    d = design.half_lens_distance_mm
    centres = canvas.to_image_px(-d, 0.0), canvas.to_image_px(d, 0.0)
    return front, centres, canvas.to_image_px(0.0, design.hinge_y_mm)[1]


TEMPLE_TIP = Material((30, 38, 48), metal=False, edge_mm=1.0, dome_mm=0.3)  # dark plastic ear sleeve


def temple_centreline() -> np.ndarray:
    """From the hinge (0, 0) straight back, sloping down a little, then curving down behind the ear."""
    straight = [(x, 0.02 * x) for x in np.linspace(0, 112, 80)]
    bend = [(112 + 30 * math.sin(a), 0.02 * 112 + 30 * (1 - math.cos(a))) for a in np.linspace(0.02, 1.15, 40)]
    return np.array(straight + bend)


def draw_temple(style: Style) -> np.ndarray:
    """Side view of the arm (hinge at the left edge, vertical middle), shaded like the front. Metal
    arms get a hinge block and a plastic sleeve on the ear piece."""
    width_mm, height_mm = TEMPLE_SIZE_MM
    canvas = Canvas(width_mm, height_mm, (0.0, height_mm / 2))
    path = temple_centreline()
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(path, axis=0), axis=1))])
    start, rest = style.temple_width_mm
    width = rest + (start - rest) * np.exp(-along / 18)
    end = (float(path[-1, 0]), float(path[-1, 1]))
    arm = canvas.fill(canvas.blank(), band(path, width), superellipse(width[-1], width[-1], 2.0, end, n=60))
    layers = [(arm / 255, paint(arm, style.material))]
    if style.material.metal:
        on_tip = along > along[-1] - 48
        tip_width = np.interp(along[on_tip], [along[-1] - 48, along[-1] - 40], [width[-1], 3.3])
        tip = canvas.fill(canvas.blank(), band(path[on_tip], tip_width), superellipse(3.3, 3.3, 2.0, end, n=60))
        hinge = canvas.fill(canvas.blank(), superellipse(9.0, 3.0, 5.0))  # centred on the hinge: cut flat at x=0
        layers += [(tip / 255, paint(tip, TEMPLE_TIP)), (hinge / 255, paint(hinge, style.hardware_material))]
    return flatten(layers)


STYLES = [
    Style(
        "round",
        136,
        round_front,
        Material((70, 118, 170), metal=True, edge_mm=0.65),
        (70, 118, 170),
        (1.5, 1.5),
        "#ffffff",
        0.07,
        0.0,
    ),
    Style(
        "rectangular",
        142,
        rectangular_front,
        Material((24, 22, 22), metal=False, edge_mm=1.1, dome_mm=0.35),
        (190, 190, 192),
        (6.0, 4.0),
        "#ffffff",
        0.07,
        0.0,
    ),
    Style(
        "aviator",
        148,
        aviator_front,
        Material((75, 175, 230), metal=True, edge_mm=0.6),
        (75, 175, 230),
        (1.4, 1.4),
        "#2e3b2c",
        0.82,
        0.35,
    ),
    Style(
        "cat-eye",
        140,
        cat_eye_front,
        Material(None, metal=False, edge_mm=1.2, dome_mm=0.4, tortoise_seed=7),
        (150, 185, 210),
        (7.0, 4.0),
        "#ffffff",
        0.07,
        0.0,
    ),
]


def generate(out_dir: Path) -> None:
    for style in STYLES:
        directory = out_dir / style.name
        directory.mkdir(parents=True, exist_ok=True)
        front, lens_centres, hinge_y = draw_front(style)
        cv2.imwrite(str(directory / "front.png"), front, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        cv2.imwrite(str(directory / "temple.png"), draw_temple(style), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        spec = GlassesSpec(
            name=style.name.replace("-", " ").title() + (" sunglasses" if style.opacity > 0.5 else " glasses"),
            temple_image="temple.png",
            lens_centres_px=lens_centres,
            width_mm=style.width_mm,
            temple_length_mm=145,
            hinge_y_px=hinge_y,
            lens_tint=style.tint,
            lens_opacity=style.opacity,
            lens_gradient=style.gradient,
        )
        save_spec(directory, spec)
        print(f"wrote {directory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "assets" / "glasses")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
