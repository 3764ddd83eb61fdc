"""The try-on engine: track the face, place the anchor, draw a look.

`TryOnEngine` wraps one FaceTracker. For a video stream (tracker in VIDEO mode) it follows the largest
face and smooths its pose over time; for stills it draws on every face found.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from tryon.anchor import AnchorSmoother, FaceAnchor, anchor_from_face
from tryon.products import Product, in_layer_order
from tryon.tracking import Detection, Face, FaceTracker


@dataclass(frozen=True)
class Tracked:
    """A frame's detection and the anchors of the faces that will be drawn on."""

    detection: Detection
    faces: tuple[tuple[Face, FaceAnchor], ...]


class TryOnEngine:
    """Tracks faces in frames and draws products on them."""

    def __init__(self, tracker: FaceTracker, *, smoothing: bool | None = None) -> None:
        self.tracker = tracker
        self._smoother = AnchorSmoother() if (tracker.video if smoothing is None else smoothing) else None

    def track(self, frame: np.ndarray, timestamp_ms: int | None = None) -> Tracked:
        """Detect faces and compute their anchors, smoothed over time for streams.

        timestamp_ms: when the frame was captured (any monotonic clock); defaults to now.
        """
        detection = self.tracker.detect(frame)
        if not detection.faces:
            if self._smoother is not None:
                self._smoother.reset()
            return Tracked(detection, ())
        faces = detection.faces[:1] if self.tracker.video else detection.faces
        anchored = []
        for face in faces:
            anchor = anchor_from_face(face)
            if self._smoother is not None:
                seconds = (timestamp_ms if timestamp_ms is not None else time.monotonic() * 1000) / 1000.0
                anchor = self._smoother(anchor, seconds)
            anchored.append((face, anchor))
        return Tracked(detection, tuple(anchored))

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
