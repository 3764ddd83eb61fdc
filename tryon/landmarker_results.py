"""FaceLandmarker results read straight into numpy.

MediaPipe's Python Tasks API turns every result into Python objects: 478 `NormalizedLandmark`
dataclasses per face, built one by one from the C struct, which the tracker then reads back into an
array. That costs about 1.5 ms of a ~10 ms model call, on every frame the model runs. This module
calls the same C functions the API's `detect` and `detect_for_video` call and copies the C arrays
into numpy at once. It reaches into the API's private parts (the landmarker's `_lib` and `_handle`,
the image's `_image_ptr`, the result structs), so it is tied to the pinned MediaPipe version;
tests/test_tracking.py checks it against the public API on every run.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import mediapipe as mp
import numpy as np
from mediapipe.tasks.python.components.containers.landmark_c import MpNormalizedLandmarkC
from mediapipe.tasks.python.vision import face_landmarker

_LANDMARK_SIZE = ctypes.sizeof(MpNormalizedLandmarkC)
_XYZ = np.dtype(
    {
        "names": ["x", "y", "z"],
        "formats": [np.float32] * 3,
        "offsets": [MpNormalizedLandmarkC.x.offset, MpNormalizedLandmarkC.y.offset, MpNormalizedLandmarkC.z.offset],
        "itemsize": _LANDMARK_SIZE,
    }
)


@dataclass(frozen=True)
class LandmarkerFaces:
    """One result: per face, the landmarks (n, 3) float64 in normalised image coordinates (x, y; z on
    the x scale), the 4x4 transformation matrix, and the blendshape scores by name."""

    landmarks: tuple[np.ndarray, ...]
    matrices: tuple[np.ndarray, ...]
    blendshapes: tuple[dict[str, float], ...]


def detect_faces(
    landmarker: face_landmarker.FaceLandmarker, image: mp.Image, timestamp_ms: int | None = None
) -> LandmarkerFaces:
    """`landmarker.detect(image)` (IMAGE mode), or `detect_for_video(image, timestamp_ms)` (VIDEO mode)."""
    result = face_landmarker.MpFaceLandmarkerResultC()
    lib, handle = landmarker._lib, landmarker._handle  # private: see the module docstring
    if timestamp_ms is None:
        lib.MpFaceLandmarkerDetectImage(handle, image._image_ptr, None, ctypes.byref(result))
    else:
        lib.MpFaceLandmarkerDetectForVideo(handle, image._image_ptr, None, timestamp_ms, ctypes.byref(result))
    try:
        return _read(result)
    finally:
        lib.MpFaceLandmarkerCloseResult(ctypes.byref(result))


def _read(result: face_landmarker.MpFaceLandmarkerResultC) -> LandmarkerFaces:
    """Copies of the C result's arrays (the result is freed after this)."""
    landmarks = []
    for index in range(result.face_landmarks_count):
        face = result.face_landmarks[index]
        raw = (ctypes.c_char * (_LANDMARK_SIZE * face.landmarks_count)).from_address(
            ctypes.addressof(face.landmarks.contents)
        )
        points = np.frombuffer(raw, _XYZ)
        landmarks.append(np.column_stack([points["x"], points["y"], points["z"]]).astype(np.float64))
    matrices = tuple(
        result.facial_transformation_matrixes[i].to_numpy() for i in range(result.facial_transformation_matrixes_count)
    )
    blendshapes = []
    for index in range(result.face_blendshapes_count):
        categories = result.face_blendshapes[index]
        blendshapes.append(
            {
                (categories.categories[j].category_name or b"").decode(): float(categories.categories[j].score)
                for j in range(categories.categories_count)
            }
        )
    return LandmarkerFaces(tuple(landmarks), matrices, tuple(blendshapes))
