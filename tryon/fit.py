"""Fit and size: pupillary distance and face width in millimetres, and glasses-size advice.

Vocabulary: a "frame" is always a camera image here; the eyewear is "glasses", its front width `width_mm`.

The scale comes from the iris: its visible diameter is close to 11.7 mm in almost every adult
(about +-0.5 mm), so pixels per millimetre follow from the iris, measured on an upright, normalised
copy of the face (the landmark model's iris outline shifts slightly with head roll). The PD takes
the iris where it really is, its edge found on the image (`tryon.limbus`): the landmark model's
iris ring is drawn 4% wider than that on average (and 6% either way from face to face), which read
PDs 2.6 mm small. Where the edge cannot be trusted (not found, or the two irises disagreeing by
more than MAX_LIMBUS_DISAGREEMENT: a dim, blurred, distant eye) the ring is used, corrected by
that average (`RING_OVER_LIMBUS`); each measurement says which (`method`).
Only frontal, eyes-open frames count (blendshapes and head pose say which); the estimate is the
median over those frames. Nothing is stored: an estimate lives as long as its stream.

Face width is the soft-tissue width of the face at the cheekbones: the face outline just in front
of the ears, where the zygomatic arches are widest (landmarks 234/454 sit there in frontal views:
on the cheek contour at the ear root, about 2 cm below the eyes). It is compared with the
bizygomatic breadth of anthropometric surveys (ANSUR II 2012: men 142.6 +- 6.2 mm, women
133.8 +- 5.6 mm). That is a spreading-caliper measurement on living people, the tips on the skin
over the arches: it includes the soft tissue (pressed a little by the tips), so the photo outline
should read the same or a few mm more. No offset is applied for that, there being no published
figure to take it from; the breadth of the bare bone, several mm less on each side, does not apply.

The outline lies about 6 cm behind the irises (MediaPipe's canonical face), so a camera close by
sees it smaller than the iris scale says: by D / (D + depth) at a distance D. D follows from the
iris (its millimetres per pixel times the focal length in pixels), which needs the camera's field
of view; photos do not say it, so a webcam's is assumed (`CAMERA_VERTICAL_FOV_DEGREES`). The
landmark model's outline follows that shrinking only in part (`OUTLINE_PERSPECTIVE_RESPONSE`), and
only that part is undone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from tryon.limbus import limbus_pair
from tryon.tracking import LEFT_IRIS, RIGHT_IRIS, Face, FaceTracker

IRIS_DIAMETER_MM = 11.7
IRIS_DIAMETER_SPREAD = 0.5 / 11.7  # relative spread between people: the floor of the accuracy
RIGHT_IRIS_EDGES = (469, 471)  # the iris contour's two points across the eye
LEFT_IRIS_EDGES = (474, 476)
FACE_SIDES = (234, 454)  # the face outline at the cheekbones, just in front of the ears
# Canonical vertices on the eyelids over the irises (upper and lower, both eyes): their depth stands
# for the irises' (the canonical mesh has no iris vertices).
IRIS_PLANE = (159, 145, 386, 374)
# The camera's vertical field of view, for the distance to the face: a webcam's (Logitech C920: 78
# degrees diagonal at 16:9 is 43 degrees vertical; laptop webcams 35-45). A phone held upright
# sees about 65 degrees vertically: its selfies are then taken as farther away than they are and
# their widths come out about 4% small at 30 cm. MediaPipe's own 63 degrees would treat the
# London studio photos as taken from 32 cm and lisa1-4 as from 23-42 cm.
CAMERA_VERTICAL_FOV_DEGREES = 43.0
# Share of the geometric perspective shrinking of the face outline that MediaPipe's landmarks
# follow: London photos re-rendered through a pinhole camera at 25-100 cm (face mesh textured from
# the photo, the rest of the photo behind it at the depth of the face sides) shrink the true
# outline/eye-distance ratio by 5-20%, and MediaPipe's by 0.45-0.93 of that, median 0.71
# (bench/bench_fit.py --perspective).
OUTLINE_PERSPECTIVE_RESPONSE = 0.7
MAX_YAW_DEGREES = 12.0
MAX_PITCH_DEGREES = 15.0
MAX_BLINK = 0.35
MAX_RETRY_FRAMES = 16  # the longest wait (frames) between measuring tries that cannot count: ~0.5 s at 30 fps
MIN_IRIS_PX = 8.0
# The landmark model's iris ring over the limbus found on the same upright crops: London set, 25 photos,
# 1.038 +- 0.063 (bench/bench_fit.py prints it).
RING_OVER_LIMBUS = 1.04
MAX_LIMBUS_DISAGREEMENT = 0.045  # relative difference of the two irises' radii (London: at most 0.033)
ENDPIECES_MM = 12.0  # front width beyond the two lenses and the bridge, both sides together


@dataclass(frozen=True)
class FrameMeasurement:
    """One frame's reading; `usable` False (with the reason) when the frame must not count."""

    usable: bool
    reason: str
    pd_mm: float = 0.0
    face_width_mm: float = 0.0
    iris_px: float = 0.0
    method: str = "iris ring"  # what gave the PD's scale: "iris edge" (the limbus) or "iris ring" (landmarks)


@dataclass(frozen=True)
class FitEstimate:
    """Measurements over a stream (or one photo): medians, how sure, from how many frames."""

    pd_mm: float
    face_width_mm: float
    accuracy_mm: float
    confidence: float
    frames_used: int
    method: str = "iris ring"  # what most of its frames took the scale from (FrameMeasurement.method)

    def as_dict(self) -> dict[str, float | int | str]:
        return {key: round(value, 1) if isinstance(value, float) else value for key, value in asdict(self).items()}


def head_rotation(face: Face) -> np.ndarray:
    """The 3x3 rotation of the face's pose matrix, its scale taken out."""
    return face.matrix[:3, :3] / np.linalg.norm(face.matrix[:3, :3], axis=0)


def head_angles(face: Face) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from the face's pose matrix."""
    rotation = head_rotation(face)
    yaw = math.degrees(math.asin(float(np.clip(-rotation[2, 0], -1, 1))))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return yaw, pitch, roll


def usable_pose(face: Face) -> str:
    """Why a face must not be measured ("" when it may): turned head or closed eyes."""
    yaw, pitch, _ = head_angles(face)
    if abs(yaw) > MAX_YAW_DEGREES or abs(pitch) > MAX_PITCH_DEGREES:
        return "head turned"
    if face.eye_closure > MAX_BLINK:
        return "eyes closed"
    return ""


def iris_diameter_px(face: Face) -> float:
    """Mean width of the two iris outlines, in pixels."""
    points = face.landmarks[:, :2]
    return float(np.mean([np.linalg.norm(points[a] - points[b]) for a, b in (RIGHT_IRIS_EDGES, LEFT_IRIS_EDGES)]))


def camera_distance_mm(face: Face, mm_per_px: float) -> float:
    """How far the irises are from the camera: a pixel at distance D spans D / focal millimetres.

    The focal length is the assumed webcam's (`CAMERA_VERTICAL_FOV_DEGREES`) for this image height.
    """
    height = face.image_size[1]
    focal_px = height / (2.0 * math.tan(math.radians(CAMERA_VERTICAL_FOV_DEGREES) / 2.0))
    return focal_px * mm_per_px


def sides_depth_mm(face: Face) -> float:
    """How far the face sides (the outline at the cheekbones) lie behind the irises, along the view.

    From MediaPipe's canonical face turned as the head is (its 6 cm straight on), since the
    landmarks' own depths are not metric.
    """
    depth_towards_camera = (face.canonical @ head_rotation(face).T)[:, 2] * 10.0  # cm -> mm
    return float(np.mean(depth_towards_camera[list(IRIS_PLANE)]) - np.mean(depth_towards_camera[list(FACE_SIDES)]))


def perspective_gain(face: Face, mm_per_px: float) -> float:
    """Factor from the outline's width at the iris scale to its true width.

    At a distance D the sides, `depth` farther away, look D / (D + depth) as wide as they would at
    the irises' distance; the landmarks follow OUTLINE_PERSPECTIVE_RESPONSE of that shrinking.
    """
    depth = sides_depth_mm(face)
    distance = camera_distance_mm(face, mm_per_px)
    return 1.0 / (1.0 - OUTLINE_PERSPECTIVE_RESPONSE * depth / (distance + depth))


def measure_frame(face: Face) -> FrameMeasurement:
    """PD and face width from one face, if it is frontal with the eyes open."""
    gate = usable_pose(face)
    if gate:
        return FrameMeasurement(False, gate)
    iris_px = iris_diameter_px(face)
    if iris_px < MIN_IRIS_PX:
        return FrameMeasurement(False, "face too far away")
    points = face.landmarks[:, :2]
    mm_per_px = IRIS_DIAMETER_MM / iris_px
    pd_mm = float(np.linalg.norm(points[LEFT_IRIS] - points[RIGHT_IRIS])) * mm_per_px
    outline_mm = float(np.linalg.norm(points[FACE_SIDES[1]] - points[FACE_SIDES[0]])) * mm_per_px
    return FrameMeasurement(True, "", pd_mm, outline_mm * perspective_gain(face, mm_per_px), iris_px)


def limbus_pd_mm(gray: np.ndarray, face: Face) -> float | None:
    """PD from the two limbi found on `gray` (the image `face` was tracked on): the distance of their
    centres at the scale their diameters give; None unless both are found and agree."""
    pair = limbus_pair(gray, face)
    if pair is None:
        return None
    right, left = pair
    if abs(right.radius - left.radius) > MAX_LIMBUS_DISAGREEMENT * (right.radius + left.radius) / 2.0:
        return None
    return float(np.linalg.norm(right.centre - left.centre)) * IRIS_DIAMETER_MM / (right.radius + left.radius)


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
    accuracy = math.sqrt((pd_mm * IRIS_DIAMETER_SPREAD) ** 2 + spread**2 + landmark_error**2)
    confidence = min(1.0, len(usable) / 15.0) * float(np.clip(1.0 - (accuracy - 2.5) / 5.0, 0.0, 1.0))
    method = Counter(m.method for m in usable).most_common(1)[0][0]
    return FitEstimate(pd_mm, float(np.median(widths)), accuracy, confidence, len(usable), method)


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
    return cv2.warpAffine(
        frame, matrix, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


class FaceMeasurer:
    """Measures faces on upright crops with an IMAGE-mode tracker.

    The tracker is borrowed (a photo engine's own, never closed here) or, given `model_path`
    instead, opened when there is something to measure and closed by `release`: a stream measures
    only its first frontal frames, so its second graph lives only that long.
    """

    def __init__(self, tracker: FaceTracker | None = None, *, model_path: Path | None = None) -> None:
        if tracker is not None and tracker.video:
            raise ValueError("FaceMeasurer needs an IMAGE-mode tracker")
        if tracker is None and model_path is None:
            raise ValueError("FaceMeasurer needs a tracker or a model path")
        self._borrowed = tracker
        self._model_path = model_path
        self._owned: FaceTracker | None = None

    def measure(self, frame: np.ndarray, face: Face) -> FrameMeasurement:
        """Gate on pose and blinks with `face`, then measure on the upright crop of `frame`."""
        gate = usable_pose(face)
        if gate:
            return FrameMeasurement(False, gate)
        crop = upright_crop(frame, face)
        upright = self._tracker().detect(crop).primary
        if upright is None:
            return FrameMeasurement(False, "face not found when measuring")
        scale = measure_frame(upright)
        if not scale.usable:
            return scale
        # The upright copy gives the millimetre scale; the face's shape, and the perspective of the
        # camera that took it, come from the tracked face in its own frame. The face width keeps the
        # ring's scale: its outline landmarks were calibrated against ANSUR with it.
        shape = measure_frame(face)
        if not shape.usable:  # e.g. the iris too small in the frame itself, though the upscaled crop measured
            return shape
        width = shape.face_width_mm * scale.pd_mm / shape.pd_mm
        edge_pd = limbus_pd_mm(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), upright)
        if edge_pd is not None:
            return FrameMeasurement(True, "", edge_pd, width, scale.iris_px, "iris edge")
        return FrameMeasurement(True, "", scale.pd_mm * RING_OVER_LIMBUS, width, scale.iris_px, "iris ring")

    def release(self) -> None:
        """Close the tracker this measurer opened, if any (measuring again opens a new one)."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    close = release

    def _tracker(self) -> FaceTracker:
        if self._borrowed is not None:
            return self._borrowed
        if self._owned is None:
            self._owned = FaceTracker(self._model_path)
        return self._owned


class FitEstimator:
    """Running measurements of one stream; reset when the face is lost (it may be someone else).

    Measuring costs a second landmark pass (~15 ms), so it stops once `enough` frames have counted,
    and the measurer's graph is released until a new face is to be measured. In the background
    (`background=True`, a live stream) each measurement runs on a worker thread of its own while
    the frames go on: a frame never waits for it, and the next frame is measured once it is done.
    Close a background estimator when the stream ends. A frame that cannot count (too far, turned,
    blinking) makes the next tries wait 0, 1, 2, 4 ... up to MAX_RETRY_FRAMES frames (a usable one
    starts again from 0): a shopper who stays too far away is not measured again on every other
    frame for as long as they stay.
    """

    def __init__(self, measurer: FaceMeasurer, enough: int = 30, *, background: bool = False) -> None:
        self.measurer = measurer
        self.enough = enough
        self._wait_frames = 0  # frames to let pass before the next try
        self._retry_frames = 0  # the wait after the next unusable measurement
        self._measurements: list[FrameMeasurement] = []
        self._estimate: FitEstimate | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="measure") if background else None
        self._pending: Future[FrameMeasurement] | None = None

    def update(self, frame: np.ndarray, face: Face) -> FitEstimate | None:
        """Measure this frame if more frames are needed (in the background: if no measurement is under
        way); returns the current estimate. The frame is not changed and not kept beyond its measurement."""
        if self._pending is not None and self._pending.done():
            self._add(self._pending.result())
            self._pending = None
        if self._wait_frames > 0:
            self._wait_frames -= 1
        elif len(self._measurements) < self.enough and self._pending is None:
            if self._worker is None:
                self._add(self.measurer.measure(frame, face))
            else:
                self._pending = self._worker.submit(self.measurer.measure, frame, face)
        if len(self._measurements) >= self.enough and self._pending is None:
            self.measurer.release()
        return self._estimate

    def reset(self) -> None:
        self._measurements = []
        self._estimate = None
        self._wait_frames = self._retry_frames = 0
        if self._pending is not None:
            self._pending.cancel()
            wait([self._pending])  # a measurement of the face before: not counted
            self._pending = None

    def close(self) -> None:
        """Wait for a measurement under way and stop the worker (the measurer is closed by its owner)."""
        if self._worker is not None:
            self._worker.shutdown(wait=True, cancel_futures=True)
        self._pending = None

    def _add(self, measurement: FrameMeasurement) -> None:
        if measurement.usable:
            self._measurements.append(measurement)
            self._estimate = estimate(self._measurements)
            self._retry_frames = 0
        else:
            self._wait_frames = self._retry_frames
            self._retry_frames = min(max(2 * self._retry_frames, 1), MAX_RETRY_FRAMES)


@dataclass(frozen=True)
class GlassesSize:
    """Glasses' size in mm: total front width, lens width, bridge, temple ("52-18-140")."""

    width_mm: float
    lens_mm: float | None = None
    bridge_mm: float | None = None
    temple_mm: float | None = None

    @property
    def lens_centre_distance_mm(self) -> float | None:
        return self.lens_mm + self.bridge_mm if self.lens_mm and self.bridge_mm else None


def parse_size_marking(marking: str) -> GlassesSize:
    """'52-18-140' (or '52□18 140') -> GlassesSize; total width estimated as 2 lenses + bridge + endpieces."""
    numbers = [float(n) for n in "".join(c if c.isdigit() or c == "." else " " for c in marking).split()]
    if len(numbers) != 3 or not (30 <= numbers[0] <= 70 and 10 <= numbers[1] <= 30 and 100 <= numbers[2] <= 170):
        raise ValueError(f"expected eye-bridge-temple like 52-18-140, got {marking!r}")
    lens, bridge, temple = numbers
    return GlassesSize(2 * lens + bridge + ENDPIECES_MM, lens, bridge, temple)


FITS, NARROW, WIDE = "fits", "narrow", "wide"
IDEAL_GLASSES_OFFSET_MM = 2.0  # slight clearance, 1 mm a side: see ideal_glasses_width
FIT_TOLERANCE_MM = 6.0  # 3 mm a side: see fit_advice


def ideal_glasses_width(face_width_mm: float) -> float:
    """The frame front width that suits a face: its width at the cheekbones plus slight clearance.

    Opticians fit the frame front to the widest points of the face at eye level: "the outer edge of
    the frame should be even with the widest points on the head" and "wide enough so there is just
    slight clearance between the frame temples and the sides of your head" (Spectacle, General
    Frame Selection Guidelines, spectaclelovesyou.com/pages/frame-selection-guidelines). Seen
    straight on, a frame too wide hangs off the sides of the face and one too narrow shows the
    temples running past it; retail fitting guides say the same ("the frame front lands close to
    that boundary, without clearly extending past it or sitting notably inside it",
    parisee.com/en/how-to-choose-glasses-for-face-width). The measured width is that boundary
    (the face outline at the cheekbones), so the ideal front is 1 mm wider on each side.
    """
    return face_width_mm + IDEAL_GLASSES_OFFSET_MM


def fit_advice(face_width_mm: float, width_mm: float) -> str:
    """ "fits", "narrow" or "wide": a glasses front's width against the measured face width.

    A front within FIT_TOLERANCE_MM of the ideal fits: 3 mm a side, about one size step (lens widths
    come in 2 mm steps, 4 mm of front width), and no finer than the measurement (the iris scale
    alone is good to +-4%, +-6 mm of a 140 mm face).
    """
    difference = width_mm - ideal_glasses_width(face_width_mm)
    if difference < -FIT_TOLERANCE_MM:
        return NARROW
    if difference > FIT_TOLERANCE_MM:
        return WIDE
    return FITS


PD_STATEMENT = (
    "Measured from your iris size, accurate to about ±{accuracy:.0f} mm: good for choosing a frame. "
    "For prescription lenses, confirm your PD with an optician."
)
