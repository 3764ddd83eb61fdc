"""A live try-on stream: one shopper, one tracker with its own smoothing, the products being tried.

Frames arrive as JPEG bytes and leave as JPEG bytes; they exist only in memory, for the time it
takes to render them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tryon.errors import InvalidImageError
from tryon.fit import FaceMeasurer
from tryon.imaging import decode_image, encode_image
from tryon.pipeline import StreamEngine
from tryon.products import Catalog, Product
from tryon.sizing import glasses_tried, glasses_widths, size_report
from tryon.tracking import FaceTracker

MAX_FRAME_PIXELS = 1920 * 1080


@dataclass
class FrameResult:
    """A rendered frame and what the client needs to know about it."""

    jpeg: bytes
    status: dict = field(default_factory=dict)


class StreamSession:
    """Renders one stream's frames with a VIDEO-mode tracker; close it when the stream ends."""

    def __init__(self, catalog: Catalog, model_path: Path, skus: list[str], quality: int = 80) -> None:
        self.catalog = catalog
        self.quality = quality
        self.skus: list[str] = []
        self.products: list[Product] = []
        self.set_products(skus)
        self._widths = glasses_widths(catalog)
        self._tracker = FaceTracker(model_path, video=True)
        self._measuring_tracker = FaceTracker(model_path)  # upright crops for PD and face width
        self._engine = StreamEngine.smoothed(self._tracker, FaceMeasurer(self._measuring_tracker))

    def set_products(self, skus: list[str]) -> None:
        """Switch what is being tried on; ProductError (nothing changed) for an unknown id."""
        products = self.catalog.resolve(skus)
        self.skus, self.products = list(skus), products
        self._glasses = glasses_tried(self.catalog, skus)

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
        output = encode_image(image, "jpeg", self.quality)
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
                "faces": len(tracked.faces),
                "eyes": eyes,
                "products": self.skus,
                "fit": size_report(tracked.fit, self._glasses, self._widths),
                "ms": {
                    "decode": _ms(started, decoded),
                    "render": _ms(decoded, rendered),
                    "encode": _ms(rendered, time.perf_counter()),
                },
            },
        )

    def close(self) -> None:
        self._tracker.close()
        self._measuring_tracker.close()


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000.0, 2)
