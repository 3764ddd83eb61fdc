"""The try-on engine: track the face, place the anchor, measure it and its light, draw a look.

`TryOnEngine` wraps one FaceTracker. For a video stream (tracker in VIDEO mode) it follows the largest
face and smooths its pose over time; for stills it draws on every face found. With a FaceMeasurer
(automatic for stills) faces are measured, and glasses are drawn at their true size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Sequence

import cv2
import numpy as np

from tryon.anchor import AnchorSmoother, FaceAnchor, anchor_from_face
from tryon.camera import estimate_camera
from tryon.fit import FaceMeasurer, FitEstimate, FitEstimator, estimate
from tryon.lighting import LightSmoother, estimate_light
from tryon.products import Product, in_layer_order
from tryon.tracking import Detection, Face, FaceTracker

MIN_FRAMES_FOR_TRUE_SCALE = 5
TYPICAL_PD_MM = 63.0  # adults' mean: a stream's scale until its own measurement is ready


@dataclass(frozen=True)
class Tracked:
    """A frame's detection, the anchors of the faces that will be drawn on, and the main face's fit."""

    detection: Detection
    faces: tuple[tuple[Face, FaceAnchor], ...]
    fit: FitEstimate | None = None


class TryOnEngine:
    """Tracks faces in frames and draws products on them.

    measurer: measures faces (PD, face width) so glasses are drawn true to size. Stills get one
    from their own IMAGE-mode tracker unless true_scale=False; a stream needs one passed in (an
    IMAGE-mode tracker of its own), else glasses are fitted to each face.
    """

    def __init__(self, tracker: FaceTracker, *, smoothing: bool | None = None,
                 measurer: FaceMeasurer | None = None, true_scale: bool = True) -> None:
        self.tracker = tracker
        smooth = tracker.video if smoothing is None else smoothing
        self._smoother = AnchorSmoother() if smooth else None
        self._light_smoother = LightSmoother() if smooth else None
        if measurer is None and true_scale and not tracker.video:
            measurer = FaceMeasurer(tracker)
        self._measurer = measurer if true_scale else None
        self._estimator = FitEstimator(measurer) if (measurer is not None and tracker.video and true_scale) else None

    def track(self, frame: np.ndarray, timestamp_ms: int | None = None) -> Tracked:
        """Detect faces, compute their anchors (smoothed for streams) and measure the main face.

        timestamp_ms: when the frame was captured (any monotonic clock); defaults to now.
        """
        detection = self.tracker.detect(frame)
        if not detection.faces:
            if self._smoother is not None and self._light_smoother is not None:
                self._smoother.reset()
                self._light_smoother.reset()
            if self._estimator is not None:
                self._estimator.reset()  # the next face may be someone else
            return Tracked(detection, ())
        faces = detection.faces[:1] if self.tracker.video else detection.faces
        anchored = []
        fit = None
        seconds = (timestamp_ms if timestamp_ms is not None else time.monotonic() * 1000) / 1000.0
        for index, face in enumerate(faces):
            anchor = replace(anchor_from_face(face), light=estimate_light(frame, face),
                             look=estimate_camera(frame, _face_box(face)))
            if self._smoother is not None and self._light_smoother is not None:
                anchor = self._smoother(anchor, seconds)
                anchor = replace(anchor, light=self._light_smoother(anchor.light, seconds))
            face_fit = self._measure(frame, face)
            if face_fit is not None and (self._estimator is None or face_fit.frames_used >= MIN_FRAMES_FOR_TRUE_SCALE):
                anchor = replace(anchor, pd_mm=face_fit.pd_mm)
            elif self._estimator is not None:  # no jump from fitted to true size once measured
                anchor = replace(anchor, pd_mm=TYPICAL_PD_MM)
            if index == 0:
                fit = face_fit
            anchored.append((face, anchor))
        return Tracked(detection, tuple(anchored), fit)

    def _measure(self, frame: np.ndarray, face: Face) -> FitEstimate | None:
        if self._estimator is not None:
            return self._estimator.update(frame, face)
        if self._measurer is not None:
            return estimate([self._measurer.measure(frame, face)])
        return None

    @staticmethod
    def draw(frame: np.ndarray, tracked: Tracked, products: Sequence[Product]) -> np.ndarray:
        """A copy of `frame` with `products` drawn on every tracked face."""
        output = frame.copy()
        for product in in_layer_order(products):
            for face, anchor in tracked.faces:
                product.render(output, face, anchor)
        return output

    def render(self, frame: np.ndarray, products: Sequence[Product],
               timestamp_ms: int | None = None) -> tuple[np.ndarray, Tracked]:
        """Track and draw in one step; returns the new image and what was tracked."""
        tracked = self.track(frame, timestamp_ms)
        return self.draw(frame, tracked, products), tracked


def _face_box(face: Face) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the face's landmarks in the frame."""
    x, y, width, height = cv2.boundingRect(face.landmarks[:, :2].astype(np.float32))
    return int(x), int(y), int(width), int(height)
