"""The try-on engines: track the faces, place the anchors, measure them and their light, draw a look.

Two engines, chosen by what is being rendered, not by flags:
- `PhotoEngine` (an IMAGE-mode tracker): every face of a still, each measured on that photo, so
  glasses are drawn at their true size; no temporal state.
- `StreamEngine` (a VIDEO-mode tracker, in a live session a `ReusingTracker` that runs the model only
  where the face changed, and a measurer whose IMAGE-mode graph is open only while it measures): the
  largest face of each frame, its pose and light smoothed over time, measured over its first frontal
  frames; glasses start at the adult average PD and switch to the measured one once it is ready.
Build them with `tryon.new_session`, which owns the trackers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from tryon.anchor import AnchorSmoother, FaceAnchor, anchor_from_face
from tryon.camera import estimate_camera
from tryon.compositing import Layer
from tryon.fit import FaceMeasurer, FitEstimate, FitEstimator, estimate
from tryon.lighting import LightSmoother, estimate_light
from tryon.products import LayeredProduct, Product, in_layer_order
from tryon.tracking import Detection, Face, FaceTracker, Tracker

MIN_FRAMES_FOR_TRUE_SCALE = 5
LOOK_EVERY_S = 1.0  # a stream measures the camera's noise and blur this often
TYPICAL_PD_MM = 63.0  # adults' mean: a stream's scale until its own measurement is ready


@dataclass(frozen=True)
class Tracked:
    """A frame's detection, the anchors of the faces that will be drawn on, and the main face's fit."""

    detection: Detection
    faces: tuple[tuple[Face, FaceAnchor], ...]
    fit: FitEstimate | None = None


@dataclass(frozen=True)
class _Kept:
    """A layered product's layers in a stream: as built for one anchor, and as shown for the last."""

    product: LayeredProduct
    shape: tuple[int, ...]
    built: FaceAnchor
    built_layers: list[Layer]
    shown: FaceAnchor
    shown_layers: list[Layer]


class TryOnEngine:
    """What both engines share: drawing products on tracked faces. Subclasses implement `track`."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker

    def track(self, frame: np.ndarray, timestamp_ms: int | None = None) -> Tracked:
        """Detect faces, compute their anchors (pose, light, camera look) and measure them."""
        raise NotImplementedError

    @staticmethod
    def draw(frame: np.ndarray, tracked: Tracked, products: Sequence[Product]) -> np.ndarray:
        """A copy of `frame` with `products` drawn on every tracked face."""
        output = frame.copy()
        for product in in_layer_order(products):
            for face, anchor in tracked.faces:
                product.render(output, face, anchor)
        return output

    def render(
        self, frame: np.ndarray, products: Sequence[Product], timestamp_ms: int | None = None
    ) -> tuple[np.ndarray, Tracked]:
        """Track and draw in one step; returns the new image and what was tracked."""
        tracked = self.track(frame, timestamp_ms)
        return self._draw(frame, tracked, products), tracked

    def _draw(self, frame: np.ndarray, tracked: Tracked, products: Sequence[Product]) -> np.ndarray:
        return self.draw(frame, tracked, products)


class PhotoEngine(TryOnEngine):
    """Stills: every face, measured on the photo itself, glasses true to size."""

    def __init__(self, tracker: FaceTracker) -> None:
        if tracker.video:
            raise ValueError("PhotoEngine needs an IMAGE-mode tracker")
        super().__init__(tracker)
        self._measurer = FaceMeasurer(tracker)

    def track(self, frame: np.ndarray, timestamp_ms: int | None = None) -> Tracked:
        detection = self.tracker.detect(frame)
        anchored = []
        fits = []
        for face in detection.faces:
            fit = estimate([self._measurer.measure(frame, face)])
            anchor = scene_anchor(frame, face)
            anchored.append((face, replace(anchor, pd_mm=fit.pd_mm) if fit is not None else anchor))
            fits.append(fit)
        return Tracked(detection, tuple(anchored), fits[0] if fits else None)


class StreamEngine(TryOnEngine):
    """A video stream: the main face, smoothed, measured over time, true to size once measured.

    measurer: measures the face (PD, face width) so glasses are drawn true to size; without one
    (tests of placement) glasses are fitted with their lens centres on the pupils.
    smoother: the pose smoothing; without one the raw per-frame pose is drawn.
    background: measure on a worker thread, so that no frame waits for a measurement (a live stream;
    then close the engine); off, each frame is measured before it is drawn (clips, tests).
    """

    def __init__(
        self,
        tracker: Tracker,
        measurer: FaceMeasurer | None = None,
        *,
        smoother: AnchorSmoother | None = None,
        background: bool = False,
    ) -> None:
        if not tracker.video:
            raise ValueError("StreamEngine needs a VIDEO-mode tracker")
        super().__init__(tracker)
        self._smoother = smoother
        self._light = LightSmoother()
        self._estimator = FitEstimator(measurer, background=background) if measurer is not None else None
        self.skin_reference: np.ndarray | None = None  # the shopper's cheeks, once measured (`calibrate_light`)
        self._scene: FaceAnchor | None = None  # the last inferred frame's, with its light and camera look
        self._look_at = 0.0  # when (s) the camera look was measured
        self._held: tuple[Detection, float | None, FaceAnchor] | None = None  # the last frame's, see `track`
        self._layers: dict[tuple[int, int], _Kept] = {}  # by (id of the product, face)

    @classmethod
    def smoothed(
        cls, tracker: Tracker, measurer: FaceMeasurer | None = None, *, background: bool = False
    ) -> StreamEngine:
        """The engine a stream uses: pose smoothing on (a live one measures in the background)."""
        return cls(tracker, measurer, smoother=AnchorSmoother(), background=background)

    def calibrate_light(self, skin_reference: np.ndarray) -> None:
        """From now on the light is read on the cheeks against this skin (`estimate_light`'s
        skin_reference, as a white card measured it: tryon.white_card), not the typical one, until
        the face is lost (the next may be someone else's); the light's smoothing starts again there
        (a step to the light now known, not a slow drift)."""
        self.skin_reference = skin_reference
        self._light.reset()
        self._scene = self._held = None

    def track(self, frame: np.ndarray, timestamp_ms: int | None = None) -> Tracked:
        """timestamp_ms: when the frame was captured (any monotonic clock); defaults to now."""
        detection = self.tracker.detect(frame)
        if not detection.faces:
            self.reset()  # the next face may be someone else
            return Tracked(detection, ())
        face = detection.faces[0]
        # The measurer runs its own model on this frame's pixels (while measuring): a new measurement either way.
        fit = self._estimator.update(frame, face) if self._estimator is not None else None
        measured = fit is not None and fit.frames_used >= MIN_FRAMES_FOR_TRUE_SCALE
        # No jump from fitted to true size: the average PD until the face's own is known.
        pd_mm = None if self._estimator is None else fit.pd_mm if measured and fit is not None else TYPICAL_PD_MM
        held = self._held
        if held is not None and held[0] is detection and held[1] == pd_mm:
            # The same face as the last frame (tryon.reuse found nothing changed): the same anchor, no
            # smoothing step (the filters take the longer time step at their next one), and so the
            # glasses' layers are blended again as they are.
            return Tracked(detection, ((face, held[2]),), fit)
        seconds = (timestamp_ms if timestamp_ms is not None else time.monotonic() * 1000) / 1000.0
        if self._scene is None or (detection.inferred and seconds - self._look_at >= LOOK_EVERY_S):
            raw = scene_anchor(frame, face, self.skin_reference)
            self._scene, self._look_at = raw, seconds
        elif detection.inferred:
            # The camera's noise and blur change slowly (exposure, focus): they are measured again once
            # a LOOK_EVERY_S, the light on every frame the model saw.
            light = estimate_light(frame, face, self.skin_reference)
            raw = replace(anchor_from_face(face), light=light, look=self._scene.look)
            self._scene = raw
        else:
            # A face carried over from the last inferred frame (tryon.reuse: unchanged, or moved a little):
            # where it is now, in the light and camera look measured then.
            raw = replace(anchor_from_face(face), light=self._scene.light, look=self._scene.look)
        anchor = raw
        if self._smoother is not None:
            anchor = self._smoother(anchor, seconds)
        anchor = replace(anchor, light=self._light(anchor.light, seconds), pd_mm=pd_mm)
        self._held = (detection, pd_mm, anchor)
        return Tracked(detection, ((face, anchor),), fit)

    def _draw(self, frame: np.ndarray, tracked: Tracked, products: Sequence[Product]) -> np.ndarray:
        """`draw`, with a layered product's layers kept: blended again where the anchor is the last
        frame's (a face that did not move), carried along where the face was moved without the model
        (tryon.reuse: a small rigid motion), built anew where the model saw the face."""
        output = frame.copy()
        kept_now = {}
        for product in in_layer_order(products):
            for index, (face, anchor) in enumerate(tracked.faces):
                if not isinstance(product, LayeredProduct):
                    product.render(output, face, anchor)
                    continue
                kept = self._layers.get((id(product), index))
                if kept is None or kept.product is not product or kept.shape != frame.shape:
                    kept = None
                if kept is not None and kept.shown is anchor:
                    layers = kept.shown_layers
                elif kept is not None and not tracked.detection.inferred:
                    motion = product.motion(kept.built, anchor)
                    moved = (layer.moved(motion, frame.shape) for layer in kept.built_layers)
                    layers = [layer for layer in moved if layer is not None]
                    kept = replace(kept, shown=anchor, shown_layers=layers)
                else:
                    layers = product.layers(frame.shape, face, anchor)
                    kept = _Kept(product, frame.shape, anchor, layers, anchor, layers)
                kept_now[id(product), index] = kept
                for layer in layers:
                    layer.blend(output)
        self._layers = kept_now
        return output

    def close(self) -> None:
        """Stop measuring (the trackers and the measurer are closed by their owner)."""
        if self._estimator is not None:
            self._estimator.close()

    def reset(self) -> None:
        """Forget the face: smoothing, light and measurements start again (a measured skin too)."""
        self._scene = self._held = self.skin_reference = None
        self._layers = {}
        if self._smoother is not None:
            self._smoother.reset()
        self._light.reset()
        if self._estimator is not None:
            self._estimator.reset()


def scene_anchor(frame: np.ndarray, face: Face, skin_reference: np.ndarray | None = None) -> FaceAnchor:
    """The face's anchor with the scene's light and the camera's look measured on it (the light
    against the shopper's own measured skin where it is known: `estimate_light`)."""
    light = estimate_light(frame, face, skin_reference)
    return replace(anchor_from_face(face), light=light, look=estimate_camera(frame, _face_box(face)))


def _face_box(face: Face) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the face's landmarks in the frame."""
    x, y, width, height = cv2.boundingRect(face.landmarks[:, :2].astype(np.float32))
    return int(x), int(y), int(width), int(height)
