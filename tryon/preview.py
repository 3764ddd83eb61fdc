"""Product previews on sample faces: what a merchant sees before publishing, in studio and webcam light.

The faces (assets/sample-faces) are tracked once; a preview draws the products on each and puts
the face crops side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tryon.imaging import decode_image
from tryon.pipeline import PhotoEngine, Tracked, TryOnEngine
from tryon.products import Product
from tryon.tracking import FaceTracker

TILE_PX = 320


class SampleFaces:
    """The sample photos of a directory and what was tracked on each (faces without one are left out)."""

    def __init__(self, directory: Path, model_path: Path) -> None:
        samples = []
        with FaceTracker(model_path) as tracker:
            engine = PhotoEngine(tracker)
            for path in sorted(Path(directory).glob("*.jpg")):
                image = decode_image(path.read_bytes())
                samples.append((image, engine.track(image)))
        self.samples = [(image, tracked) for image, tracked in samples if tracked.faces]

    def preview(self, products: Sequence[Product]) -> np.ndarray:
        """The products on every sample face, as one row of square face crops (BGR)."""
        return np.hstack(
            [crop_face(TryOnEngine.draw(image, tracked, products), tracked) for image, tracked in self.samples]
        )


def crop_face(image: np.ndarray, tracked: Tracked, size: int = TILE_PX) -> np.ndarray:
    """A square crop around the first tracked face, scaled to `size` pixels."""
    face = tracked.faces[0][0]
    centre = face.landmarks[:, :2].mean(axis=0)
    half = int(1.6 * face.inter_ocular_px)
    x0, y0 = (np.maximum(centre - half, 0)).astype(int)
    crop = image[y0 : y0 + 2 * half, x0 : x0 + 2 * half]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
