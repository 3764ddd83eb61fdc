"""Fit and size: pupillary distance and face width in millimetres, and frame-size advice.

The scale comes from the iris: its visible diameter is close to 11.7 mm in almost every adult
(about +-0.5 mm), so pixels per millimetre follow from the iris landmarks, measured on an upright,
normalised copy of the face (the landmark model's iris outline shifts slightly with head roll).
Only frontal, eyes-open frames count (blendshapes and head pose say which); the estimate is the
median over those frames. Nothing is stored: an estimate lives as long as its stream.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable

import cv2
import numpy as np

from tryon.geometry import transform_points
from tryon.tracking import LEFT_IRIS, RIGHT_IRIS, Face, FaceTracker

IRIS_DIAMETER_MM = 11.7
IRIS_DIAMETER_SPREAD = 0.5 / 11.7  # relative spread between people: the floor of the accuracy
RIGHT_IRIS_EDGES = (469, 471)  # the iris contour's two points across the eye
LEFT_IRIS_EDGES = (474, 476)
FACE_SIDES = (234, 454)  # the face outline at the cheekbones
MAX_YAW_DEGREES = 12.0
MAX_PITCH_DEGREES = 15.0
MAX_BLINK = 0.35
MIN_IRIS_PX = 8.0
ENDPIECES_MM = 12.0  # frame width beyond the two lenses and the bridge, both sides together


@dataclass(frozen=True)
class FrameMeasurement:
    """One frame's reading; `usable` False (with the reason) when the frame must not count."""

    usable: bool
    reason: str
    pd_mm: float = 0.0
    face_width_mm: float = 0.0
    iris_px: float = 0.0


@dataclass(frozen=True)
class FitEstimate:
    """Measurements over a stream (or one photo): medians, how sure, from how many frames."""

    pd_mm: float
    face_width_mm: float
    accuracy_mm: float
    confidence: float
    frames_used: int

    def as_dict(self) -> dict[str, float | int]:
        return {key: round(value, 1) if isinstance(value, float) else value for key, value in asdict(self).items()}


def head_angles(face: Face) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the face's pose matrix."""
    rotation = face.matrix[:3, :3] / np.linalg.norm(face.matrix[:3, :3], axis=0)
    yaw = math.degrees(math.asin(float(np.clip(-rotation[2, 0], -1, 1))))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return yaw, pitch, roll


def usable_pose(face: Face) -> str:
    """Why a face must not be measured ("" when it may): turned head or closed eyes."""
    yaw, pitch, _ = head_angles(face)
    if abs(yaw) > MAX_YAW_DEGREES or abs(pitch) > MAX_PITCH_DEGREES:
        return "head turned"
    if max(face.blendshapes.get("eyeBlinkLeft", 0.0), face.blendshapes.get("eyeBlinkRight", 0.0)) > MAX_BLINK:
        return "eyes closed"
    return ""


def measure_frame(face: Face) -> FrameMeasurement:
    """PD and face width from one face, if it is frontal with the eyes open."""
    gate = usable_pose(face)
    if gate:
        return FrameMeasurement(False, gate)
    points = face.landmarks[:, :2]
    iris_px = float(np.mean([np.linalg.norm(points[a] - points[b]) for a, b in (RIGHT_IRIS_EDGES, LEFT_IRIS_EDGES)]))
    if iris_px < MIN_IRIS_PX:
        return FrameMeasurement(False, "face too far away")
    mm_per_px = IRIS_DIAMETER_MM / iris_px
    pd_mm = float(np.linalg.norm(points[LEFT_IRIS] - points[RIGHT_IRIS])) * mm_per_px
    # The cheekbones lie deeper than the irises and so look smaller: correct by the depth ratio of
    # the posed canonical face.
    posed = transform_points(face.matrix, face.canonical[[FACE_SIDES[0], FACE_SIDES[1], 159, 386]])
    depth_ratio = float(np.mean(-posed[:2, 2]) / np.mean(-posed[2:, 2]))
    face_width_mm = float(np.linalg.norm(points[FACE_SIDES[1]] - points[FACE_SIDES[0]])) * mm_per_px * depth_ratio
    return FrameMeasurement(True, "", pd_mm, face_width_mm, iris_px)


def estimate(measurements: Iterable[FrameMeasurement]) -> FitEstimate | None:
    """Combine frames into an estimate; None when no frame was usable."""
    usable = [m for m in measurements if m.usable]
    if not usable:
        return None
    pds = np.array([m.pd_mm for m in usable])
    widths = np.array([m.face_width_mm for m in usable])
    pd_mm = float(np.median(pds))
    spread = float(np.std(pds)) / math.sqrt(len(pds)) if len(pds) > 1 else 1.5
    landmark_error = 0.5 * IRIS_DIAMETER_MM / np.mean([m.iris_px for m in usable]) * pd_mm / IRIS_DIAMETER_MM
    accuracy = math.sqrt((pd_mm * IRIS_DIAMETER_SPREAD) ** 2 + spread ** 2 + landmark_error ** 2)
    confidence = min(1.0, len(usable) / 15.0) * float(np.clip(1.0 - (accuracy - 2.5) / 5.0, 0.0, 1.0))
    return FitEstimate(pd_mm, float(np.median(widths)), accuracy, confidence, len(usable))


CROP_SIZE = 384
CROP_EYE_DISTANCE_PX = 110.0


def upright_crop(frame: np.ndarray, face: Face) -> np.ndarray:
    """The face turned upright (eyes level) and scaled to a fixed eye distance, as a small image.

    The landmark model's iris outline shifts a little with head roll; measuring on an upright copy
    keeps the result the same however the head (or the camera) is tilted, and whatever its size.
    """
    right, left = face.iris_centres
    roll = math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))
    scale = CROP_EYE_DISTANCE_PX / max(face.inter_ocular_px, 1e-6)
    centre = (right + left) / 2
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), roll, scale)
    matrix[:, 2] += (CROP_SIZE / 2 - centre[0], CROP_SIZE * 0.42 - centre[1])
    return cv2.warpAffine(frame, matrix, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


class FaceMeasurer:
    """Measures faces on upright crops, with an IMAGE-mode tracker it borrows (and does not close)."""

    def __init__(self, tracker: FaceTracker) -> None:
        if tracker.video:
            raise ValueError("FaceMeasurer needs an IMAGE-mode tracker")
        self._tracker = tracker

    def measure(self, frame: np.ndarray, face: Face) -> FrameMeasurement:
        """Gate on pose and blinks with `face`, then measure on the upright crop of `frame`."""
        gate = usable_pose(face)
        if gate:
            return FrameMeasurement(False, gate)
        upright = self._tracker.detect(upright_crop(frame, face)).primary
        if upright is None:
            return FrameMeasurement(False, "face not found when measuring")
        scale = measure_frame(upright)
        if not scale.usable:
            return scale
        # The upright copy gives the millimetre scale; the face's shape comes from the tracked face.
        shape = measure_frame(face)
        return FrameMeasurement(True, "", scale.pd_mm, shape.face_width_mm * scale.pd_mm / shape.pd_mm, scale.iris_px)


class FitEstimator:
    """Running measurements of one stream; reset when the face is lost (it may be someone else).

    Measuring costs a second landmark pass, so it stops once `enough` frames have counted.
    """

    def __init__(self, measurer: FaceMeasurer, enough: int = 30) -> None:
        self.measurer = measurer
        self.enough = enough
        self._measurements: list[FrameMeasurement] = []
        self._estimate: FitEstimate | None = None

    def update(self, frame: np.ndarray, face: Face) -> FitEstimate | None:
        """Measure this frame if more frames are needed; returns the current estimate."""
        if len(self._measurements) < self.enough:
            measurement = self.measurer.measure(frame, face)
            if measurement.usable:
                self._measurements.append(measurement)
                self._estimate = estimate(self._measurements)
        return self._estimate

    def reset(self) -> None:
        self._measurements = []
        self._estimate = None


@dataclass(frozen=True)
class FrameSize:
    """A frame's size in mm: total front width, lens width, bridge, temple ("52-18-140")."""

    width_mm: float
    lens_mm: float | None = None
    bridge_mm: float | None = None
    temple_mm: float | None = None

    @property
    def lens_centre_distance_mm(self) -> float | None:
        return self.lens_mm + self.bridge_mm if self.lens_mm and self.bridge_mm else None


def parse_frame_size(marking: str) -> FrameSize:
    """'52-18-140' (or '52□18 140') -> FrameSize; total width estimated as 2 lenses + bridge + endpieces."""
    numbers = [float(n) for n in "".join(c if c.isdigit() or c == "." else " " for c in marking).split()]
    if len(numbers) != 3 or not (30 <= numbers[0] <= 70 and 10 <= numbers[1] <= 30 and 100 <= numbers[2] <= 170):
        raise ValueError(f"expected eye-bridge-temple like 52-18-140, got {marking!r}")
    lens, bridge, temple = numbers
    return FrameSize(2 * lens + bridge + ENDPIECES_MM, lens, bridge, temple)


FITS, NARROW, WIDE = "fits", "narrow", "wide"
# The face outline at eye level (landmarks 234/454) runs along the sides of the head; a frame front
# sits about 10 mm inside it. Within 6 mm of that it fits.
IDEAL_FRAME_OFFSET_MM = -10.0
FIT_TOLERANCE_MM = 6.0


def ideal_frame_width(face_width_mm: float) -> float:
    return face_width_mm + IDEAL_FRAME_OFFSET_MM


def fit_advice(face_width_mm: float, frame_width_mm: float) -> str:
    """"fits", "narrow" or "wide": a frame's front width against the measured face width."""
    difference = frame_width_mm - ideal_frame_width(face_width_mm)
    if difference < -FIT_TOLERANCE_MM:
        return NARROW
    if difference > FIT_TOLERANCE_MM:
        return WIDE
    return FITS


PD_STATEMENT = ("Measured from your iris size, accurate to about ±{accuracy:.0f} mm: good for choosing a frame. "
                "For prescription lenses, confirm your PD with an optician.")
