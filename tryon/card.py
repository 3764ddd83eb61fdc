"""Card calibration: a bank or loyalty card held flat on the forehead gives the millimetre scale.

Every such card is an ISO/IEC 7810 ID-1 card, 85.60 x 53.98 mm with rounded corners, so once its
outline is found in the frame the PD no longer rests on the iris size (which varies by about
±0.5 mm between adults, ±3 mm of PD): good phone apps measure within about 0.5 mm this way.

The outline is searched above the eyes: edges, then closed contours whose convex hull fills its
minimum-area rectangle (a card's rounded corners cost it only 0.2%) with the card's proportions
and a size plausible for a card at the face's distance. Its four sides are then fitted as lines to
the contour's points away from the corners (sub-pixel, robust to a finger over an edge), and the
card's width follows from the corners they meet at. A card turned away from the camera (its
proportions off by more than MAX_TILT_DEGREES of foreshortening) or not on the forehead is refused
with what to do instead. The card lies about CARD_DEPTH_MM in front of the irises, so the scale is
carried back to the irises' plane with the camera distance it implies. Frames are never stored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.limbus import limbus_pair
from tryon.tracking import Face

CARD_WIDTH_MM, CARD_HEIGHT_MM = 85.60, 53.98
CARD_ASPECT = CARD_WIDTH_MM / CARD_HEIGHT_MM
CARD_CORNER_MM = 3.18
CARD_DEPTH_MM = 10.0  # a card flat on the forehead, in front of the irises' plane (the corneas, the brow ridge)
MAX_TILT_DEGREES = 15.0
MIN_FILL = 0.9
MAX_IRIS_DISAGREEMENT = (
    0.12  # iris size varies about 4% (1 SD) between adults: 3 SD  # the hull's share of its minimum-area rectangle
)
CARD_PER_EYE_DISTANCE = (0.95, 2.0)  # card width over the eye distance, in pixels (63 mm PD: 1.36)


@dataclass(frozen=True)
class CardReading:
    """What the card said: `found` with the scale at the irises' plane and the PD it gives, or the
    reason it was not taken (for the shopper). corners: (4, 2) image pixels, clockwise from top left."""

    found: bool
    reason: str
    code: str = ""  # the reason for the widget's own words: not_found, tilted, off_forehead, in_front
    mm_per_px: float = 0.0
    pd_mm: float = 0.0
    corners: np.ndarray | None = None


NOT_FOUND = CardReading(False, "hold a bank or loyalty card flat against your forehead, above your eyes", "not_found")


def read_card(frame_bgr: np.ndarray, face: Face, iris_pd_mm: float | None = None) -> CardReading:
    """Find a card on the forehead of `face` in `frame_bgr` (H, W, 3) uint8 and take the scale from it.

    iris_pd_mm: the PD the iris gives (tryon.fit); a card whose PD differs from it by more than the
    iris's own uncertainty allows (MAX_IRIS_DISAGREEMENT) is not in the eyes' plane (held out in
    front of the face, or behind the head) and is refused.
    """
    eyes = face.iris_centres
    eye_distance = float(np.linalg.norm(eyes[1] - eyes[0]))
    middle = eyes.mean(axis=0)
    x0, y0 = int(max(middle[0] - 1.8 * eye_distance, 0)), int(max(middle[1] - 2.8 * eye_distance, 0))
    x1 = int(min(middle[0] + 1.8 * eye_distance, frame_bgr.shape[1]))
    y1 = int(min(middle[1] + 0.6 * eye_distance, frame_bgr.shape[0]))
    if x1 - x0 < 20 or y1 - y0 < 20:
        return NOT_FOUND
    best = _card_outline(frame_bgr[y0:y1, x0:x1], eye_distance)
    if best is None:
        return NOT_FOUND
    corners = _edge_refined(frame_bgr, _refined_corners(best) + (x0, y0))
    width_px = float(np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2.0
    height_px = float(np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2.0
    foreshortening = (width_px / height_px) / CARD_ASPECT
    limit = math.cos(math.radians(MAX_TILT_DEGREES))
    if not limit <= foreshortening <= 1.0 / limit:
        return CardReading(
            False, "hold the card flat against your forehead, facing the camera", "tilted", corners=corners
        )
    centre = corners.mean(axis=0)
    above = float(np.dot(centre - middle, _up_normal(eyes)))  # how far above the eye line, along the face
    sideways = float(abs(np.dot(centre - middle, (eyes[1] - eyes[0]) / eye_distance)))
    if not 0.3 * eye_distance <= above <= 2.2 * eye_distance or sideways > 0.6 * eye_distance:
        return CardReading(
            False, "hold the card on your forehead, centred above your eyes", "off_forehead", corners=corners
        )
    mm_per_px_card = CARD_WIDTH_MM / width_px
    distance_mm = face.camera.focal_px * mm_per_px_card  # the card's distance from the camera
    mm_per_px = mm_per_px_card * (distance_mm + CARD_DEPTH_MM) / distance_mm
    pair = limbus_pair(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), face)  # the pupils where they are
    pupils_px = float(np.linalg.norm(pair[0].centre - pair[1].centre)) if pair is not None else eye_distance
    pd_mm = pupils_px * mm_per_px
    if iris_pd_mm is not None and abs(pd_mm / iris_pd_mm - 1.0) > MAX_IRIS_DISAGREEMENT:
        return CardReading(
            False, "hold the card flat against your forehead, not in front of your face", corners=corners
        )
    return CardReading(True, "", "", mm_per_px, pd_mm, corners)


def _up_normal(eyes: np.ndarray) -> np.ndarray:
    """The unit vector from the eye line up the face (image y grows downwards)."""
    along = (eyes[1] - eyes[0]) / max(float(np.linalg.norm(eyes[1] - eyes[0])), 1e-9)
    normal = np.array([along[1], -along[0]])
    return normal if normal[1] < 0 else -normal


def _card_outline(region: np.ndarray, eye_distance: float) -> np.ndarray | None:
    """The contour (N, 2) in the BGR `region` most like a card of a plausible size, or None.

    Edges of every colour channel count (a card may differ from the hair behind it in hue more
    than in brightness), with thresholds from the region's own gradients.
    """
    smooth = cv2.GaussianBlur(region, (0, 0), 1.0)
    edges: np.ndarray = np.zeros(region.shape[:2], np.uint8)
    for channel in cv2.split(smooth):
        gradient = np.hypot(cv2.Sobel(channel, cv2.CV_32F, 1, 0), cv2.Sobel(channel, cv2.CV_32F, 0, 1))
        high = max(float(np.percentile(gradient, 90)), 20.0)
        edges = cv2.bitwise_or(edges, cv2.Canny(channel, 0.5 * high, high))
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    best, best_score = None, 0.0
    for contour in contours:
        if len(contour) < 40:
            continue
        hull = cv2.convexHull(contour)
        (_, _), (side_a, side_b), _ = cv2.minAreaRect(hull)
        long_side, short_side = max(side_a, side_b), min(side_a, side_b)
        if short_side < 8:
            continue
        if not CARD_PER_EYE_DISTANCE[0] <= long_side / eye_distance <= CARD_PER_EYE_DISTANCE[1]:
            continue
        fill = cv2.contourArea(hull) / (long_side * short_side)
        aspect = long_side / short_side
        if fill < MIN_FILL or not 0.75 * CARD_ASPECT <= aspect <= 1.33 * CARD_ASPECT:
            continue
        score = fill * long_side  # the outer outline of the card, not a printed box on it
        if score > best_score:
            best, best_score = contour.reshape(-1, 2).astype(np.float64), score
    return best


def _refined_corners(contour: np.ndarray) -> np.ndarray:
    """The card's corners (4, 2), top left first, clockwise: each side a line fitted (Huber) to the
    contour's points along it, the rounded corners left out, the corners where the lines meet."""
    rect = cv2.minAreaRect(contour.astype(np.float32))
    box = _clockwise_from_top_left(cv2.boxPoints(rect).astype(np.float64))
    lines = []
    for index in range(4):
        start, end = box[index], box[(index + 1) % 4]
        length = float(np.linalg.norm(end - start))
        direction = (end - start) / length
        normal = np.array([-direction[1], direction[0]])
        along = (contour - start) @ direction
        across = (contour - start) @ normal
        near = (np.abs(across) < 0.06 * length + 2.0) & (along > 0.15 * length) & (along < 0.85 * length)
        points = contour[near] if near.sum() >= 5 else np.array([start, end])
        vx, vy, px, py = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([px, py], np.float64), np.array([vx, vy], np.float64)))
    return np.array([_intersection(lines[index - 1], lines[index]) for index in range(4)])


def _edge_refined(frame_bgr: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """The corners again, each side moved onto the image's edge to a fraction of a pixel: across the
    side at points along its middle, the strongest colour change on a cubic-interpolated profile;
    a line fitted to those (Huber), corners where the lines meet."""
    image = frame_bgr.astype(np.float32)
    offsets = np.linspace(-4.0, 4.0, 65)
    lines = []
    for index in range(4):
        start, end = corners[index], corners[(index + 1) % 4]
        direction = (end - start) / max(float(np.linalg.norm(end - start)), 1e-9)
        normal = np.array([-direction[1], direction[0]])
        along = start + np.linspace(0.15, 0.85, 48)[:, None] * (end - start)
        samples = along[:, None, :] + offsets[None, :, None] * normal  # (48, 65, 2)
        profile = cv2.remap(
            image, samples[..., 0].astype(np.float32), samples[..., 1].astype(np.float32), cv2.INTER_CUBIC
        )  # (48, 65, 3)
        change = np.linalg.norm(np.gradient(cv2.GaussianBlur(profile, (0, 0), sigmaX=2.0, sigmaY=0.1), axis=1), axis=2)
        peak = np.clip(np.argmax(change[:, 1:-1], axis=1) + 1, 1, len(offsets) - 2)
        rows = np.arange(len(peak))
        before, at, after = change[rows, peak - 1], change[rows, peak], change[rows, peak + 1]
        curvature = before - 2.0 * at + after
        shift = np.where(curvature < 0, 0.5 * (before - after) / np.where(curvature < 0, curvature, -1.0), 0.0)
        across = offsets[peak] + np.clip(shift, -0.5, 0.5) * (offsets[1] - offsets[0])
        points = along + across[:, None] * normal
        vx, vy, px, py = cv2.fitLine(points.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([px, py], np.float64), np.array([vx, vy], np.float64)))
    return np.array([_intersection(lines[index - 1], lines[index]) for index in range(4)])


def _intersection(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    (p, u), (q, v) = first, second
    matrix = np.column_stack([u, -v])
    if abs(np.linalg.det(matrix)) < 1e-9:
        return (p + q) / 2.0
    t, _ = np.linalg.solve(matrix, q - p)
    return p + t * u


def _clockwise_from_top_left(box: np.ndarray) -> np.ndarray:
    """A rectangle's corners ordered top left, top right, bottom right, bottom left (image axes),
    the long sides on top and bottom (a card held level, rolled a little at most)."""
    centre = box.mean(axis=0)
    angles = np.arctan2(box[:, 1] - centre[1], box[:, 0] - centre[0])
    ordered = box[np.argsort(angles)]  # clockwise on screen, starting somewhere
    start = int(np.argmin(ordered.sum(axis=1)))  # top left: smallest x + y
    ordered = np.roll(ordered, -start, axis=0)
    if np.linalg.norm(ordered[1] - ordered[0]) < np.linalg.norm(ordered[3] - ordered[0]):
        ordered = np.roll(ordered, -1, axis=0)  # make the first side a long one
    return ordered


CARD_READINGS = 5  # frames that found the card, for a measurement
CARD_MAX_SPREAD_MM = 1.0  # their PDs' standard deviation at most: the card held still
CARD_ACCURACY_MM = 0.7  # what the composites show (tests/test_card.py): the PD's own accuracy this way


@dataclass
class CardMeasurement:
    """A card calibration in progress over a stream's frames: readings until CARD_READINGS of them
    agree; `pd_mm` is then their median. `last` is the latest reading (what to tell the shopper)."""

    pds: list[float]
    last: CardReading = NOT_FOUND

    def add(self, reading: CardReading) -> None:
        self.last = reading
        if reading.found:
            self.pds = (self.pds + [reading.pd_mm])[-CARD_READINGS:]

    @property
    def pd_mm(self) -> float | None:
        """The measured PD once enough readings agree, else None."""
        if len(self.pds) < CARD_READINGS or float(np.std(self.pds)) > CARD_MAX_SPREAD_MM:
            return None
        return float(np.median(self.pds))
