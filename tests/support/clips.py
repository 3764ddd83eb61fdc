"""Webcam-like talking-head clips made from one photo: still stretches, sways, nods, talking, blinks.

A shopper trying glasses on mostly looks at the screen: the head rests or sways a little, nods now
and then, talks and blinks. Each frame is the photo deformed (jaw opened, lids closed, head pitched,
by a piecewise-affine warp of the face mesh the landmark model found on the photo), moved by a small
similarity (tests/support/motion.py), then taken by a webcam (tests/support/conditions.py): dim
warm light, soft optics and fresh sensor noise in every frame, so "nothing changed" is never exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tests.support.conditions import blur, relight
from tests.support.motion import apply_transform
from tryon.makeup.landmarks import LEFT, LIPS_INNER, RIGHT

FPS = 30
LOWER_LIP = (146, 91, 181, 84, 17, 314, 405, 321, 375, 95, 88, 178, 87, 14, 317, 402, 318, 324)
MOUTH_CORNERS = (61, 291, 78, 308)
IRISES = tuple(range(468, 478))


@dataclass(frozen=True)
class Pose:
    """One frame's state: similarity (dx, dy px, degrees, scale), pitch (degrees), jaw and lids 0-1."""

    motion: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 1.0)
    pitch: float = 0.0
    jaw: float = 0.0
    blink: float = 0.0


def talking_head(frames: int = 300, seed: int = 0) -> list[Pose]:
    """A 10 s script at 30 fps: rest, sway, blink, talk, nod, rest, talk while swaying (repeats past 10 s)."""
    rng = np.random.default_rng(seed)
    syllables = rng.uniform(0.3, 1.0, 64)  # how wide each syllable opens the jaw
    poses = []
    for index in range(frames):
        t = (index % 300) / FPS
        sway = _ramp(t, 1.5, 3.5) + _ramp(t, 4.5, 7.5) + _ramp(t, 8.5, 10.0)
        motion = (
            sway * 5.0 * math.sin(2 * math.pi * 0.4 * t),
            sway * 2.0 * math.sin(2 * math.pi * 0.3 * t + 1.0),
            sway * 1.2 * math.sin(2 * math.pi * 0.25 * t),
            1.0 + sway * 0.01 * math.sin(2 * math.pi * 0.2 * t),
        )
        pitch = 6.0 * math.sin(2 * math.pi * (t - 5.5) / 1.2) ** 2 if 5.5 <= t < 6.7 else 0.0
        talking = 4.5 <= t < 5.5 or 8.5 <= t < 10.0
        jaw = syllables[int(t * 4) % 64] * math.sin(math.pi * (t * 4 % 1.0)) ** 2 if talking else 0.0
        blink = max(_blink(t, 3.8), _blink(t, 7.9), _blink(t, 9.3))
        poses.append(Pose(motion, pitch, float(jaw), blink))
    return poses


def _ramp(t: float, start: float, end: float, edge: float = 0.4) -> float:
    """1 between `start` and `end` s, 0 outside, with smooth `edge`-second ramps inside the interval."""
    rise, fall = (t - start) / edge, (end - t) / edge
    u = float(np.clip(min(rise, fall), 0.0, 1.0))
    return u * u * (3.0 - 2.0 * u)


def _blink(t: float, at: float) -> float:
    """Lid closure of a blink starting at `at` s: closes in 70 ms, stays 30 ms, opens in 130 ms."""
    u = (t - at) * 1000.0
    if u < 0 or u > 230:
        return 0.0
    return min(u / 70.0, 1.0) if u < 100 else max(1.0 - (u - 100) / 130.0, 0.0)


class ClipMaker:
    """Renders poses of one face photo (a 640x480 canvas) whose landmarks (478, 3) are known."""

    def __init__(self, canvas: np.ndarray, landmarks: np.ndarray, gains_rgb=(0.55, 0.45, 0.32)) -> None:
        self.lit = relight(canvas, gains_rgb)
        self.landmarks = landmarks
        points = landmarks[:, :2]
        low, high = points.min(axis=0), points.max(axis=0)
        centre, half = (low + high) / 2, (high - low) / 2
        ring = [centre + 1.5 * half * (math.cos(a), math.sin(a)) for a in np.linspace(0, 2 * math.pi, 24, False)]
        self.ring = np.clip(np.array(ring), 0, (canvas.shape[1] - 1, canvas.shape[0] - 1))
        self.source = np.vstack([points, self.ring])
        self.triangles = _triangulate(self.source, canvas.shape[:2])
        self.eye_distance = float(np.linalg.norm(points[473] - points[468]))

    def frame(self, pose: Pose, seed: int, noise_sigma: float = 4.0, blur_sigma: float = 1.2) -> np.ndarray:
        """The webcam frame of `pose`, with sensor noise drawn from `seed`."""
        image = self.deformed(pose)
        moved, _ = apply_transform(image, np.array(pose.motion))
        soft = blur(moved, blur_sigma).astype(np.float32)
        noise = np.random.default_rng(seed).normal(0.0, noise_sigma, soft.shape).astype(np.float32)
        return np.clip(soft + noise + 0.5, 0, 255).astype(np.uint8)

    def moved_landmarks(self, pose: Pose) -> np.ndarray:
        """(478, 2) where the photo's landmarks are in the deformed picture, before the similarity."""
        points = self.landmarks.copy()
        d = self.eye_distance
        if pose.pitch:
            centre = points.mean(axis=0) + (0.0, 0.0, 1.0 * d)  # the head turns about a point behind the face
            a = math.radians(pose.pitch)
            y, z = points[:, 1] - centre[1], points[:, 2] - centre[2]
            points[:, 1] = centre[1] + y * math.cos(a) - z * math.sin(a)
        if pose.jaw:
            lip_line = points[list(LIPS_INNER), 1].mean()
            middle, half_width = points[:, 0].mean(), 0.5 * (points[:, 0].max() - points[:, 0].min())
            across = np.clip(1.0 - np.abs(points[:, 0] - middle) / half_width, 0.0, 1.0) ** 0.5
            below = np.clip((points[:, 1] - lip_line) / (0.15 * d), 0.0, 1.0)
            below[list(LOWER_LIP)] = 1.0
            below[list(MOUTH_CORNERS)] = 0.5
            points[:, 1] += pose.jaw * 0.35 * d * below * across
        if pose.blink:
            for side in (RIGHT, LEFT):
                _close_lids(points, side.upper_lid, side.lower_lid, pose.blink, d)
        return points[:, :2]

    def deformed(self, pose: Pose) -> np.ndarray:
        """The lit photo with the face deformed (no similarity, no camera)."""
        if not (pose.pitch or pose.jaw or pose.blink):
            return self.lit
        target = np.vstack([self.moved_landmarks(pose), self.ring])
        image = _piecewise_affine(self.lit, self.source, target, self.triangles)
        if pose.jaw:
            _paint_mouth(image, target[list(LIPS_INNER)], pose.jaw)
        if pose.blink > 0.5:
            for side in (RIGHT, LEFT):
                lash = np.rint(target[list(side.upper_lid)]).astype(np.int32)
                cv2.polylines(image, [lash], False, (40, 35, 35), 1, cv2.LINE_AA)
        return image


def _close_lids(points: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...], closure: float, d: float) -> None:
    """Move the upper lid down onto the lower one by `closure`; the skin above follows, fading out
    towards the brow, and the eye inside folds under the lid."""
    lower_xy = points[list(lower), :2]
    order = np.argsort(lower_xy[:, 0])
    lower_y = lambda x: np.interp(x, lower_xy[order, 0], lower_xy[order, 1])  # noqa: E731
    x0, x1 = lower_xy[:, 0].min(), lower_xy[:, 0].max()
    upper_xy = points[list(upper), :2]
    upper_order = np.argsort(upper_xy[:, 0])
    upper_y = lambda x: np.interp(x, upper_xy[upper_order, 0], upper_xy[upper_order, 1])  # noqa: E731
    inside = (points[:, 0] > x0) & (points[:, 0] < x1)
    gap = lower_y(points[:, 0]) - upper_y(points[:, 0])
    above = upper_y(points[:, 0]) - points[:, 1]
    lid = inside & (np.abs(above) < 0.02 * d)
    skin = inside & (above >= 0.02 * d) & (above < 0.35 * d)
    eye = inside & (above <= -0.02 * d) & (points[:, 1] < lower_y(points[:, 0]) - 0.02 * d)
    irises = np.zeros(len(points), bool)
    irises[list(IRISES)] = True
    irises &= (points[:, 0] > x0) & (points[:, 0] < x1)
    points[lid, 1] += closure * gap[lid]
    points[skin, 1] += closure * gap[skin] * (1.0 - above[skin] / (0.35 * d))
    folded = eye | irises
    points[folded, 1] += closure * (lower_y(points[folded, 0]) - points[folded, 1]) * 0.9


def _paint_mouth(image: np.ndarray, inner: np.ndarray, jaw: float) -> None:
    """The open mouth's inside: dark, the upper teeth showing under the upper lip."""
    height, width = image.shape[:2]
    mask = np.zeros((height, width), np.float32)
    cv2.fillPoly(mask, [np.rint(inner * 4).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
    teeth = np.zeros_like(mask)
    top = inner[:10]  # LIPS_INNER runs along the upper inner lip first
    band = np.vstack([top, top[::-1] + (0, 0.12 * (inner[:, 1].max() - inner[:, 1].min()) + 2.0 * jaw)])
    cv2.fillPoly(teeth, [np.rint(band * 4).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
    mask, teeth = cv2.GaussianBlur(mask, (0, 0), 0.8), cv2.GaussianBlur(teeth, (0, 0), 0.8) * mask
    inside = np.float32([25, 20, 45]) * (1 - teeth[..., None]) + np.float32([150, 160, 170]) * teeth[..., None]
    blended = image * (1 - mask[..., None]) + inside * mask[..., None]
    image[:] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def _triangulate(points: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(T, 3) vertex indices of a Delaunay triangulation of `points` (N, 2)."""
    height, width = shape
    subdiv = cv2.Subdiv2D((-1, -1, width + 2, height + 2))
    subdiv.insert([(float(x), float(y)) for x, y in points])
    corners = subdiv.getTriangleList().reshape(-1, 3, 2)
    indices = np.argmin(np.linalg.norm(corners[:, :, None, :] - points[None, None], axis=3), axis=2)
    matched = np.linalg.norm(points[indices] - corners, axis=2).max(axis=1) < 1e-3
    return indices[matched]


def _piecewise_affine(image: np.ndarray, source: np.ndarray, target: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """`image` warped so that each triangle of `source` points lands on the same triangle of `target`."""
    height, width = image.shape[:2]
    ids = np.zeros((height, width), np.int32)
    for index, triangle in enumerate(triangles, 1):
        cv2.fillConvexPoly(ids, np.rint(target[triangle]).astype(np.int32), index)
    ys, xs = np.nonzero(ids)
    target_h = np.concatenate([target[triangles], np.ones((len(triangles), 3, 1))], axis=2)  # (T, 3, 3)
    affines = np.einsum("tij,tjk->tik", np.linalg.pinv(target_h), source[triangles])  # (T, 3, 2): [x y 1] -> src
    chosen = affines[ids[ys, xs] - 1]
    map_x = np.tile(np.arange(width, dtype=np.float32), (height, 1))
    map_y = np.tile(np.arange(height, dtype=np.float32)[:, None], (1, width))
    map_x[ys, xs] = xs * chosen[:, 0, 0] + ys * chosen[:, 1, 0] + chosen[:, 2, 0]
    map_y[ys, xs] = xs * chosen[:, 0, 1] + ys * chosen[:, 1, 1] + chosen[:, 2, 1]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
