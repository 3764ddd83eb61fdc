"""The iris where it really is: its edge (the limbus) found on the image, at sub-pixel precision.

The millimetre scale of the size guide is the iris (11.7 mm across in almost every adult), but the
landmark model's iris ring is drawn about 5% wider than the visible iris, which reads every PD
about 3 mm small. Here the ring only seeds the search: along rays from its centre, the limbus is
where the dark iris meets the bright sclera, the strongest outward rise in brightness between
0.6 and 1.4 ring radii. Rays are kept only where the eye is open to beyond that range (the lids
cover the iris's top and bottom in most eyes, so mostly the two side arcs count), each edge is
placed to a fraction of a pixel on an upsampled profile, and a circle is fitted to the edges with
outliers (a lash, a reflection, a lid's shadow) weighed down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.makeup.landmarks import LEFT, RIGHT
from tryon.tracking import LEFT_IRIS, RIGHT_IRIS, Face

RING = {RIGHT_IRIS: (469, 470, 471, 472), LEFT_IRIS: (474, 475, 476, 477)}
EYE_OPENING = {RIGHT_IRIS: RIGHT.eye_opening, LEFT_IRIS: LEFT.eye_opening}
RAYS = 96  # over the full turn; those the lids cover are dropped
SAMPLES = 97  # along each ray, from INNER to OUTER ring radii
INNER, OUTER = 0.6, 1.4
LID_MARGIN = 0.06  # ring radii kept clear of the lid line (its lashes and shadow)
MIN_EDGES_PER_SIDE = 4
RADIUS_RANGE = (0.75, 1.25)  # of the ring radius: outside it, the fit is taken for a failure


@dataclass(frozen=True)
class Limbus:
    """One iris's visible edge: centre (x, y) and radius in image pixels, from `edges` rays."""

    centre: np.ndarray
    radius: float
    edges: int


def find_limbus(gray: np.ndarray, face: Face, iris: int) -> Limbus | None:
    """The limbus of `iris` (RIGHT_IRIS or LEFT_IRIS) of `face` on `gray` (H, W) uint8 or float32, the
    image the face was tracked on; None when too few rays show a clear iris edge (eye nearly shut,
    glare, a blurred or tiny iris)."""
    points = face.landmarks[:, :2]
    centre = points[iris]
    ring_radius = float(np.mean(np.linalg.norm(points[list(RING[iris])] - centre, axis=1)))
    if ring_radius < 3.0:
        return None
    angles = np.linspace(0.0, 2.0 * math.pi, RAYS, endpoint=False)
    open_to = _opening_radius(points[list(EYE_OPENING[iris])], centre, angles) / ring_radius
    keep = open_to > OUTER + LID_MARGIN
    if keep.sum() < 2 * MIN_EDGES_PER_SIDE:
        return None
    angles = angles[keep]
    radii = np.linspace(INNER, OUTER, SAMPLES) * ring_radius
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (rays, 2)
    map_x = (centre[0] + directions[:, :1] * radii[None]).astype(np.float32)
    map_y = (centre[1] + directions[:, 1:] * radii[None]).astype(np.float32)
    profiles = cv2.remap(gray.astype(np.float32), map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    step = radii[1] - radii[0]
    rise = cv2.Sobel(cv2.GaussianBlur(profiles, (0, 0), sigmaX=max(0.5 / step, 1.0), sigmaY=0.7), cv2.CV_32F, 1, 0)
    edge_radii, strengths = _strongest_rises(rise, radii)
    clear = strengths > 0.35 * np.median(strengths[strengths > 0]) if np.any(strengths > 0) else strengths > 0
    sides = np.sign(directions[:, 0])
    if min((clear & (sides > 0)).sum(), (clear & (sides < 0)).sum()) < MIN_EDGES_PER_SIDE:
        return None
    fitted = _fit_circle(directions[clear], edge_radii[clear])
    if fitted is None:
        return None
    radius, shift = fitted
    if not RADIUS_RANGE[0] <= radius / ring_radius <= RADIUS_RANGE[1]:
        return None
    return Limbus(centre + shift, radius, int(clear.sum()))


def limbus_pair(gray: np.ndarray, face: Face) -> tuple[Limbus, Limbus] | None:
    """Both limbi (right eye, left eye) of `face`, or None unless both are found."""
    right, left = find_limbus(gray, face, RIGHT_IRIS), find_limbus(gray, face, LEFT_IRIS)
    return (right, left) if right is not None and left is not None else None


def _opening_radius(contour: np.ndarray, centre: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """How far from `centre` each ray runs inside the eye-opening polygon `contour` (N, 2): the
    nearest crossing of each ray with the polygon's edges (0 where a ray finds none)."""
    directions = np.stack([np.cos(angles), np.sin(angles)], axis=1)[:, None, :]  # (rays, 1, 2)
    starts = contour - centre
    edges = np.roll(contour, -1, axis=0) - contour  # (edges, 2)
    # centre + t u = start + s e:  t (u x e) = start x e,  s (u x e) = start x u
    cross = directions[..., 0] * edges[:, 1] - directions[..., 1] * edges[:, 0]  # (rays, edges)
    safe = np.where(np.abs(cross) < 1e-12, np.nan, cross)
    t = (starts[:, 0] * edges[:, 1] - starts[:, 1] * edges[:, 0]) / safe
    s = (starts[:, 0] * directions[..., 1] - starts[:, 1] * directions[..., 0]) / safe
    hits = np.where((t > 0) & (s >= 0) & (s <= 1), t, np.inf)
    reach = hits.min(axis=1)
    return np.where(np.isfinite(reach), reach, 0.0)


def _strongest_rises(rise: np.ndarray, radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per ray (row of `rise`, the outward brightness derivative), the radius of its largest rise,
    refined by a parabola through its neighbours, and the rise's size."""
    peak = np.clip(np.argmax(rise[:, 1:-1], axis=1) + 1, 1, rise.shape[1] - 2)
    rows = np.arange(len(peak))
    before, at, after = rise[rows, peak - 1], rise[rows, peak], rise[rows, peak + 1]
    curvature = before - 2.0 * at + after
    offset = np.where(curvature < 0, 0.5 * (before - after) / np.where(curvature < 0, curvature, -1.0), 0.0)
    step = radii[1] - radii[0]
    return radii[peak] + np.clip(offset, -0.5, 0.5) * step, np.maximum(at, 0.0)


def _fit_circle(directions: np.ndarray, edge_radii: np.ndarray) -> tuple[float, np.ndarray] | None:
    """Radius and centre shift (x, y) of the circle through the edges at `edge_radii` along unit
    `directions` (N, 2) from the seed centre: rho = r + d . u for a small shift d (the ring's centre
    is within a pixel or two), fitted by iteratively reweighted least squares with Tukey's biweight,
    so a few wrong edges (a lash, a glint, a lid's shadow) hardly count. Linear in (r, d): the side
    arcs alone determine it without the wandering a free geometric fit shows on them."""
    design = np.column_stack([np.ones(len(directions)), directions])
    weights = np.ones(len(directions))
    solution: np.ndarray = np.zeros(3)
    for _ in range(8):
        solution, *_ = np.linalg.lstsq(design * weights[:, None], edge_radii * weights, rcond=None)
        residual = edge_radii - design @ solution
        scale = max(1.4826 * float(np.median(np.abs(residual))), 0.005 * float(solution[0]))
        normalised = residual / (4.685 * scale)
        weights = np.where(np.abs(normalised) < 1.0, (1.0 - normalised**2) ** 2, 0.0)
        if weights.sum() < 2 * MIN_EDGES_PER_SIDE:
            return None
    return float(solution[0]), solution[1:]
