"""A live try-on stream: one shopper, one tracker with its own smoothing, the products being tried.

Frames arrive as JPEG bytes and leave as JPEG bytes; they exist only in memory, for the time it
takes to render them. A partial session (the widget asks for one) answers each frame with only the
rectangle the products changed, `[uint16 x, y, width, height][JPEG of it]`, which the client draws
over its own copy of the frame it sent: the downlink carries the glasses, not the whole picture.
A rectangle of width 0 means nothing was drawn (no face): the client shows its own frame.
"""

from __future__ import annotations

import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tryon.calibration import Calibration
from tryon.card import CardMeasurement
from tryon.errors import InvalidImageError
from tryon.fit import FaceMeasurer
from tryon.imaging import decode_image, encode_image
from tryon.makeup.color import delta_e_2000
from tryon.pipeline import StreamEngine, Tracked
from tryon.products import Catalog, Product
from tryon.reuse import ReusingTracker, policy_for
from tryon.shade import ShadeMatch, ShadeSpec, catalog_shades, closest_shade, linear_to_lab, skin_reflectance
from tryon.sizing import FittingGlasses, glasses_tried, size_report
from tryon.tracking import Face, FaceCounter, FaceTracker
from tryon.white_card import WhiteCardMeasurement

MAX_FRAME_PIXELS = 1920 * 1080
FACES_EVERY = 15  # frames between looks for other people in view (half a second at 30 fps)
RECT_MARGIN_PX = 4  # unchanged pixels around the changed ones: the seam falls where both pictures agree


@dataclass
class FrameResult:
    """A rendered frame and what the client needs to know about it."""

    jpeg: bytes
    status: dict = field(default_factory=dict)


class StreamSession:
    """Renders one stream's frames with a VIDEO-mode tracker; close it when the stream ends.

    reuse: run the landmark model only on frames where the face changed (`tryon.reuse`); off, on
    every frame. The measuring graph is open only while the face is being measured.
    on_fitting: told the glasses that fit each time that list changes (the store may ask for it).
    """

    def __init__(
        self,
        catalog: Catalog,
        model_path: Path,
        skus: list[str],
        quality: int = 80,
        *,
        partial: bool = False,
        reuse: bool = True,
        on_fitting: Callable[[FittingGlasses], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.quality = quality
        self.partial = partial
        self.skus: list[str] = []
        self.products: list[Product] = []
        catalog.resolve(skus)  # an unknown id fails here, before any graph is opened
        self._widths = catalog.glasses_widths()
        self._on_fitting = on_fitting
        self._fitting: FittingGlasses | None = None
        self._shade = ShadeFinder(catalog)
        self._card: Calibration[CardMeasurement] | None = None
        self._white_card: Calibration[WhiteCardMeasurement] | None = None
        # One face followed by the landmark model (its detector then runs only when the face is lost:
        # following a second costs a detection on every call, about 20% more); the shopper is told
        # when someone else is in view by the face detector alone, every FACES_EVERY frames.
        tracker = FaceTracker(model_path, video=True)
        self._tracker: FaceTracker | ReusingTracker = ReusingTracker(tracker) if reuse else tracker
        self._counter = FaceCounter(model_path)
        self._faces_in_view = 0
        self._since_count = FACES_EVERY
        self.set_products(skus)
        self._measurer = FaceMeasurer(model_path=model_path)  # upright crops for PD and face width
        self._engine = StreamEngine.smoothed(self._tracker, self._measurer, background=True)

    def measure_with_card(self) -> None:
        """Start a card calibration: the next frames look for a card on the forehead (tryon.card)."""
        self._card = Calibration(CardMeasurement([]))

    def calibrate_with_white_card(self) -> None:
        """Start a light calibration: the next frames look for a white card on the forehead
        (tryon.white_card). Once measured, the shopper's own skin is the light's reference while
        their face stays in view (products are lit by it, the shade is matched to it)."""
        self._white_card = Calibration(WhiteCardMeasurement([]))

    def set_products(self, skus: list[str]) -> None:
        """Switch what is being tried on; ProductError (nothing changed) for an unknown id."""
        products = self.catalog.resolve(skus)
        self.skus, self.products = list(skus), products
        self._glasses = glasses_tried(self.catalog, skus)
        if isinstance(self._tracker, ReusingTracker):  # glasses alone need no model call when the mouth moves
            self._tracker.policy = policy_for(product.category for product in products)

    def process(self, jpeg: bytes, frame_id: int) -> FrameResult:
        """Render one camera frame. A frame that cannot be decoded gives a status, not an exception."""
        started = time.perf_counter()
        try:
            frame = decode_image(jpeg, max_pixels=MAX_FRAME_PIXELS)
        except InvalidImageError as exc:
            return FrameResult(b"", {"type": "frame", "id": frame_id, "status": "invalid_frame", "message": str(exc)})
        decoded = time.perf_counter()
        image, tracked = self._engine.render(frame, self.products, timestamp_ms=int(started * 1000))
        rendered = time.perf_counter()
        output = self._encode(frame, image, tracked)
        height, width = frame.shape[:2]
        eyes = (
            [[round(float(x) / width, 4), round(float(y) / height, 4)] for x, y in tracked.faces[0][0].iris_centres]
            if tracked.faces
            else []
        )
        return FrameResult(
            output,
            {
                "type": "frame",
                "id": frame_id,
                "status": tracked.detection.status.value,
                "faces": self._count_faces(frame, tracked),  # all in view; the products are on the one followed
                "eyes": eyes,
                "products": self.skus,
                "fit": self._report(frame, tracked),
                "shade": self._shade_report(frame, tracked),
                "card": self._card.state if self._card is not None else None,
                "white_card": self._white_card.state if self._white_card is not None else None,
                "ms": {
                    "decode": _ms(started, decoded),
                    "render": _ms(decoded, rendered),
                    "encode": _ms(rendered, time.perf_counter()),
                },
            },
        )

    def _count_faces(self, frame: np.ndarray, tracked: Tracked) -> int:
        """The faces in view: the one followed, and others the face detector saw at its last look."""
        if not tracked.faces:
            self._faces_in_view, self._since_count = 0, FACES_EVERY
            return 0
        self._since_count += 1
        if self._since_count >= FACES_EVERY:
            self._faces_in_view, self._since_count = self._counter.count(frame), 0
        return max(self._faces_in_view, 1)

    def _report(self, frame: np.ndarray, tracked: Tracked) -> dict | None:
        """The size guide's report for this frame (the PD a card gave, once it did); a changed list of
        fitting glasses is passed on."""
        report = size_report(tracked.fit, self._glasses, self._widths)
        card = self._card
        if card is not None:
            card.update(frame, _followed(tracked), tracked.fit.pd_mm if tracked.fit is not None else None)
        measured = card.measurement.result if card is not None else None
        if report is not None and measured is not None:
            report.update(measured, method="card")
        if report is not None and self._on_fitting is not None:
            fitting = FittingGlasses(tuple(report["fitting"]), report["ideal_glasses_width_mm"])
            if fitting != self._fitting:
                self._fitting = fitting
                self._on_fitting(fitting)
        return report

    def _shade_report(self, frame: np.ndarray, tracked: Tracked) -> dict | None:
        """The shade finder's report for this frame. A white card's measurement, once there is one,
        becomes the light's reference and the shade is found again in that light; both are
        forgotten with the face (the engine's reset: the next face may be someone else's)."""
        calibration = self._white_card
        if calibration is not None and calibration.measurement.measured is not None and not tracked.faces:
            self._white_card = calibration = None
        if calibration is not None and calibration.measurement.measured is None:
            calibration.update(frame, _followed(tracked), None)
            measured = calibration.measurement.measured
            if measured is not None:
                skin, reference = measured
                self._engine.calibrate_light(reference)
                self._shade.calibrated(skin)
        return self._shade.update(frame, tracked)

    def _encode(self, frame: np.ndarray, image: np.ndarray, tracked: Tracked) -> bytes:
        """The rendered frame as the client asked for it: whole, or the changed rectangle with its place."""
        if not self.partial:
            return encode_image(image, "jpeg", self.quality)
        if not tracked.faces:
            return struct.pack(">4H", 0, 0, 0, 0)
        x, y, width, height = changed_rect(frame, image, RECT_MARGIN_PX, around=tracked.faces[0][0])
        if width == 0:
            return struct.pack(">4H", 0, 0, 0, 0)
        crop = encode_image(image[y : y + height, x : x + width], "jpeg", self.quality)
        return struct.pack(">4H", x, y, width, height) + crop

    def close(self) -> None:
        self._engine.close()
        self._tracker.close()
        self._counter.close()
        self._measurer.close()


class ShadeFinder:
    """The foundation of the catalogue that matches the shopper, from the bare frames of a stream: the
    skin read on frames the model ran on (a new look at the face), at most every SHADE_EVERY frames,
    the median of the last SHADE_READINGS readings matched (`tryon.shade`). Nothing is kept beyond
    those few colour readings, and they go with the session."""

    SHADE_EVERY = 10
    SHADE_READINGS = 9
    SHADE_HYSTERESIS = 1.0  # CIEDE2000: about the smallest difference one sees side by side

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._shades: list[ShadeSpec] | None = None  # read from the catalogue at the first face
        self._readings: deque[np.ndarray] = deque(maxlen=self.SHADE_READINGS)
        self._since = self.SHADE_EVERY
        self._report: dict | None = None
        self._method = "face"

    def calibrated(self, skin: np.ndarray) -> None:
        """Start again from the skin a white card measured (linear BGR (3,), reference light): the
        light is now known, and the next readings are taken in it."""
        self._readings.clear()
        self._since, self._report, self._method = 0, None, "white_card"
        self._add(linear_to_lab(skin))

    def update(self, frame: np.ndarray, tracked: Tracked) -> dict | None:
        """The shade report for this frame: {"sku", "name", "undertone", "lighter", "darker", "method"}
        or None; method: how the light was known, "face" (estimated on it) or "white_card"."""
        self._since += 1
        if not tracked.faces:
            self._readings.clear()  # the next face may be someone else
            self._report, self._method = None, "face"
            return None
        if self._since < self.SHADE_EVERY or not tracked.detection.inferred:
            return self._report
        self._since = 0
        face, anchor = tracked.faces[0]
        reflectance = skin_reflectance(frame, face, anchor.light)
        if reflectance is not None:
            self._add(linear_to_lab(reflectance))
        return self._report

    def _add(self, skin_lab: np.ndarray) -> None:
        """Take a reading (CIELAB (3,)) and match the median of the last few, unless the shade shown
        is nearly as close (no flicker between neighbours)."""
        if self._shades is None:
            self._shades = catalog_shades(self._catalog)
        if not self._shades:
            return
        self._readings.append(skin_lab)
        match = closest_shade(np.median(np.array(self._readings), axis=0), self._shades)
        if self._report is not None and match.match.sku != self._report["sku"] and match.distance > self._held(match):
            return
        self._report = {
            "sku": match.match.sku,
            "name": match.match.name,
            "undertone": match.undertone,
            "lighter": match.lighter.sku if match.lighter else None,
            "darker": match.darker.sku if match.darker else None,
            "method": self._method,
        }

    def _held(self, match: ShadeMatch) -> float:
        """How close (CIEDE2000) a new match must be to replace the shade shown: that shade's own
        distance to the skin, less SHADE_HYSTERESIS."""
        assert self._report is not None and self._shades is not None
        shown = next(shade for shade in self._shades if shade.sku == self._report["sku"])
        skin = np.array(match.skin_lab)
        return float(delta_e_2000(np.array([shown.lab]), skin[None])[0]) - self.SHADE_HYSTERESIS


def _followed(tracked: Tracked) -> Face | None:
    """The face the products are on, or None."""
    return tracked.faces[0][0] if tracked.faces else None


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000.0, 2)


def changed_rect(
    before: np.ndarray, after: np.ndarray, margin: int, around: Face | None = None
) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the pixels that differ, grown by `margin` and clipped; width 0 if none.

    around: the face the products were drawn on: only its neighbourhood (its landmarks' box, half
    as large again each way: glasses and their temples stay inside) is compared, which is most of
    the cost saved. Edges are rounded out to multiples of 8, the JPEG block size, so the crop's
    blocks line up with the picture's and compress as they would in the full frame.
    """
    height, width = before.shape[:2]
    left, top, right, bottom = 0, 0, width, height
    if around is not None:
        points = around.landmarks[:, :2]
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        grow_x, grow_y = 0.5 * (x1 - x0), 0.5 * (y1 - y0)
        left, top = max(int(x0 - grow_x), 0), max(int(y0 - grow_y), 0)
        right, bottom = min(int(x1 + grow_x) + 1, width), min(int(y1 + grow_y) + 1, height)
        if right <= left or bottom <= top:
            return 0, 0, 0, 0
    region = cv2.absdiff(before[top:bottom, left:right], after[top:bottom, left:right])
    region = region.reshape(bottom - top, -1)
    rows = np.flatnonzero(region.max(axis=1)) + top  # numpy's reductions: 10-50x OpenCV's reduce here
    columns = np.flatnonzero(region.max(axis=0).reshape(right - left, -1).max(axis=1)) + left
    if rows.size == 0:
        return 0, 0, 0, 0
    x0, y0 = max(int(columns[0]) - margin, 0) // 8 * 8, max(int(rows[0]) - margin, 0) // 8 * 8
    x1 = min(-(-(int(columns[-1]) + 1 + margin) // 8) * 8, width)
    y1 = min(-(-(int(rows[-1]) + 1 + margin) // 8) * 8, height)
    return x0, y0, x1 - x0, y1 - y0
