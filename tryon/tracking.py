"""Face tracking with MediaPipe's Tasks FaceLandmarker.

One `FaceTracker` per video stream (VIDEO mode keeps temporal state and follows the face from frame
to frame on a monotonic frame clock) or one for a batch of stills (IMAGE mode). Every frame gives a
`Detection`, whatever the input: bad frames, no face and tiny faces are statuses, not exceptions.
"""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401  (its exit hook must be registered before ours)
import os
import threading
import weakref
import zipfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeGuard

# MediaPipe's C++ logging reads this before the import below; the one use of the environment outside
# `Settings`, which configures a library, not tryon.
os.environ.setdefault("GLOG_minloglevel", "2")

import cv2  # noqa: E402
import mediapipe as mp  # noqa: E402
import numpy as np  # noqa: E402
from mediapipe.tasks.python import (
    BaseOptions,  # noqa: E402
    vision,  # noqa: E402
)

from tryon.errors import TryOnError  # noqa: E402
from tryon.geometry import PinholeCamera, canonical_face_vertices, transform_points  # noqa: E402
from tryon.landmarker_results import LandmarkerFaces, detect_faces  # noqa: E402
from tryon.model_file import resolve_model_path  # noqa: E402

RIGHT_IRIS = 468  # the person's right eye: image left in an unmirrored photo
LEFT_IRIS = 473
MAX_FRAME_PIXELS = 40_000_000
FACE_DETECTOR_IN_BUNDLE = "face_detector.tflite"
_OPEN_TRACKERS: weakref.WeakSet[FaceTracker | FaceCounter] = weakref.WeakSet()


class DetectionStatus(StrEnum):
    OK = "ok"
    NO_FACE = "no_face"
    FACE_TOO_SMALL = "face_too_small"
    INVALID_FRAME = "invalid_frame"


@dataclass(frozen=True)
class Face:
    """One tracked face.

    landmarks: (478, 3) pixels; x, y in the image, z relative depth on the x scale.
    matrix: 4x4 transform from MediaPipe's canonical face (cm) into its camera space.
    blendshapes: expression coefficients by name (eyeBlinkLeft, jawOpen, ...), 0-1.
    confidence: 0-1, how well a rigid face explains the landmarks (1 = perfect fit).
    """

    landmarks: np.ndarray
    matrix: np.ndarray
    blendshapes: dict[str, float]
    confidence: float
    image_size: tuple[int, int]
    canonical: np.ndarray = field(repr=False)

    @property
    def camera(self) -> PinholeCamera:
        return PinholeCamera(*self.image_size)

    @property
    def iris_centres(self) -> np.ndarray:
        """(2, 2) pixel centres of the right (image-left) and left iris."""
        return self.landmarks[[RIGHT_IRIS, LEFT_IRIS], :2]

    @property
    def eye_closure(self) -> float:
        """0-1, how closed the more closed eye is (the blink blendshapes)."""
        return max(self.blendshapes.get("eyeBlinkLeft", 0.0), self.blendshapes.get("eyeBlinkRight", 0.0))

    @property
    def inter_ocular_px(self) -> float:
        """Distance between the iris centres in pixels."""
        right, left = self.iris_centres
        return float(np.linalg.norm(left - right))


@dataclass(frozen=True)
class Detection:
    """What a frame gave: its faces (largest first) and a status saying why there are none.

    inferred: the landmark model found these faces on this frame; False for faces carried over from
    an earlier frame (tryon.reuse), which say where the face is but are no new measurement of it.
    """

    status: DetectionStatus
    faces: tuple[Face, ...] = ()
    inferred: bool = True

    @property
    def primary(self) -> Face | None:
        return self.faces[0] if self.faces else None


class Tracker(Protocol):
    """What the engines track with: a `FaceTracker`, or a `ReusingTracker` over a VIDEO-mode one."""

    @property
    def video(self) -> bool: ...

    def detect(self, frame_bgr: np.ndarray) -> Detection: ...


class FaceTracker:
    """MediaPipe FaceLandmarker with pose matrices and blendshapes; close it (or use `with`)."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        video: bool = False,
        max_faces: int = 1,
        min_face_px: float = 12.0,
        min_confidence: float = 0.5,
    ) -> None:
        model_path = Path(model_path) if model_path else resolve_model_path()
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE,
            num_faces=max_faces,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._finalizer = weakref.finalize(self, self._landmarker.close)
        _OPEN_TRACKERS.add(self)
        self._canonical = canonical_face_vertices(model_path)
        self._video = video
        self._min_face_px = min_face_px
        self._frame_clock_ms = 0
        self._lock = threading.Lock()

    @property
    def video(self) -> bool:
        return self._video

    def detect(self, frame_bgr: np.ndarray) -> Detection:
        """Track faces in a BGR (or gray, or BGRA) uint8 frame; in VIDEO mode, frames in stream order.

        MediaPipe's VIDEO mode smooths landmarks over time by itself, which lags behind a moving head
        by 2-4% of the eye distance. The tracker hands it a frame clock that advances one second
        per frame, which keeps the tracking (each frame's search starts from the last face) but
        turns that smoothing off; `TryOnEngine` smooths the head pose instead, on real time.
        """
        if not self._finalizer.alive:
            raise TryOnError("FaceTracker is closed")
        rgb = _to_rgb(frame_bgr)
        if rgb is None:
            return Detection(DetectionStatus.INVALID_FRAME)
        with self._lock:
            if self._video:
                image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
                self._frame_clock_ms += 1000
                return self._to_detection(detect_faces(self._landmarker, image, self._frame_clock_ms), rgb.shape)
            detection = self._to_detection(
                detect_faces(self._landmarker, mp.Image(mp.ImageFormat.SRGB, rgb)), rgb.shape
            )
            if detection.status is DetectionStatus.NO_FACE:
                # Stills may be upside down, which the face detector sometimes misses; turning the
                # picture is the same as turning the camera about its axis, so the pose maps back.
                upturned = np.ascontiguousarray(rgb[::-1, ::-1])
                result = detect_faces(self._landmarker, mp.Image(mp.ImageFormat.SRGB, upturned))
                detection = self._to_detection(result, rgb.shape, upside_down=True)
                if detection.status is DetectionStatus.NO_FACE:
                    return Detection(DetectionStatus.NO_FACE)
            return detection

    def close(self) -> None:
        """Release the MediaPipe graph; safe to call twice."""
        self._finalizer()

    def __enter__(self) -> FaceTracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _to_detection(self, result: LandmarkerFaces, shape: tuple[int, ...], *, upside_down: bool = False) -> Detection:
        height, width = shape[:2]
        size = (width, height)
        faces = []
        for index, points in enumerate(result.landmarks):
            landmarks = points * (width, height, width)
            matrix = np.asarray(result.matrices[index], dtype=np.float64)
            if upside_down:
                landmarks[:, :2] = (width, height) - landmarks[:, :2]
                matrix = np.diag([-1.0, -1.0, 1.0, 1.0]) @ matrix
            blendshapes = result.blendshapes[index]
            confidence = _fit_confidence(landmarks, matrix, self._canonical, PinholeCamera(width, height))
            faces.append(Face(landmarks, matrix, blendshapes, confidence, size, self._canonical))
        if not faces:
            return Detection(DetectionStatus.NO_FACE)
        faces = [f for f in faces if f.inter_ocular_px >= self._min_face_px]
        if not faces:
            return Detection(DetectionStatus.FACE_TOO_SMALL)
        faces.sort(key=lambda f: f.inter_ocular_px, reverse=True)
        return Detection(DetectionStatus.OK, tuple(faces))


class FaceCounter:
    """How many faces a frame shows, by the face detector alone (the one inside the landmarker's
    bundle, ~2 ms at 640x480): a stream follows one face with the landmark model, which then runs
    its detector only when that face is lost, and looks for other people now and then with this.
    Close it (or use `with`)."""

    def __init__(self, model_path: Path | None = None, *, min_confidence: float = 0.5) -> None:
        model_path = Path(model_path) if model_path else resolve_model_path()
        with zipfile.ZipFile(model_path) as bundle:
            detector = bundle.read(FACE_DETECTOR_IN_BUNDLE)
        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=detector), min_detection_confidence=min_confidence
        )
        self._detector = vision.FaceDetector.create_from_options(options)
        self._finalizer = weakref.finalize(self, self._detector.close)
        _OPEN_TRACKERS.add(self)
        self._lock = threading.Lock()

    def count(self, frame_bgr: np.ndarray) -> int:
        """Faces in a BGR (or gray, or BGRA) uint8 frame; 0 for an unusable one."""
        rgb = _to_rgb(frame_bgr)
        if rgb is None:
            return 0
        with self._lock:
            return len(self._detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)).detections)

    def close(self) -> None:
        """Release the MediaPipe graph; safe to call twice."""
        self._finalizer()

    def __enter__(self) -> FaceCounter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _close_open_trackers() -> None:
    """Close trackers (and counters) still open at exit while MediaPipe's worker threads can still run."""
    for tracker in list(_OPEN_TRACKERS):
        tracker.close()


# Threading exit hooks run in reverse order of registration, before atexit handlers: this one runs
# before concurrent.futures shuts down the executor MediaPipe needs to release its graph.
threading._register_atexit(_close_open_trackers)  # type: ignore[attr-defined]


def _fit_confidence(landmarks: np.ndarray, matrix: np.ndarray, canonical: np.ndarray, camera: PinholeCamera) -> float:
    """Score a face 0-1 by how far its landmarks stray from the posed canonical face.

    The mean residual is measured in inter-ocular distances: a real face fits to about 0.05,
    a garbled fit to 0.3 or more.
    """
    projected = camera.project(transform_points(matrix, canonical))
    residual = np.linalg.norm(projected - landmarks[: len(projected), :2], axis=1).mean()
    inter_ocular = np.linalg.norm(landmarks[LEFT_IRIS, :2] - landmarks[RIGHT_IRIS, :2])
    return float(np.exp(-((residual / max(inter_ocular, 1e-6) / 0.15) ** 2)))


def usable_frame(frame: object) -> TypeGuard[np.ndarray]:
    """Whether `frame` is an image the tracker takes: uint8 gray, BGR or BGRA, 16 px to MAX_FRAME_PIXELS."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.size == 0:
        return False
    if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] in (3, 4))):
        return False
    height, width = frame.shape[:2]
    return height >= 16 and width >= 16 and height * width <= MAX_FRAME_PIXELS


def _to_rgb(frame: object) -> np.ndarray | None:
    """Contiguous RGB uint8 copy of a BGR/BGRA/gray frame, or None if it is not a usable image."""
    if not usable_frame(frame):
        return None
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB if frame.shape[2] == 4 else cv2.COLOR_BGR2RGB)
