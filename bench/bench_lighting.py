"""How well products follow the scene's light: render on a relit photo vs the relit render.

For each light (exposure x0.5, warm, cool; relit in linear sRGB) and product, over real faces,
prints the mean CIE76 colour difference on the product's interior pixels between the render of the
relit photo and the original render relit the same way (0 = the product changes exactly as the
face does), and the mean L* of the lips with ruby lipstick in each light.

    .venv/bin/python bench/bench_lighting.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.conditions import LIGHTS, relight  # noqa: E402
from tryon.config import Settings  # noqa: E402
from tryon.makeup.color import bgr_to_lab  # noqa: E402
from tryon.model_file import resolve_model_path  # noqa: E402
from tryon.pipeline import PhotoEngine  # noqa: E402
from tryon.products import BuiltinCatalog  # noqa: E402
from tryon.tracking import FaceTracker  # noqa: E402

FACES = Path(__file__).resolve().parent.parent / "tests" / "data" / "faces"
NAMES = [
    "001_neutral.jpg",
    "009_neutral.jpg",
    "061_neutral.jpg",
    "103_neutral.jpg",
    "132_neutral.jpg",
    "lisa1.jpg",
    "lisa3.jpg",
]
PRODUCTS = ["ruby-matte", "rose-satin", "aviator", "rectangular", "smoky-eyes", "rosy-blush", "foundation-light"]


def delta_e76(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    lab = [bgr_to_lab(image.astype(np.float32) / 255.0) for image in (first, second)]
    return np.linalg.norm(lab[0] - lab[1], axis=-1)


def interior(before: np.ndarray, after: np.ndarray, iod: float) -> np.ndarray:
    changed = (np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 2).astype(np.uint8)
    size = max(int(0.02 * iod), 1) * 2 + 1
    return cv2.erode(changed, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))) > 0


def main() -> None:
    catalog = BuiltinCatalog(Settings.from_env().assets_dir)
    with FaceTracker(resolve_model_path()) as tracker:
        engine = PhotoEngine(tracker)
        print(
            f"{'product':18s}" + "".join(f"{light:>14s}" for light in sorted(LIGHTS)) + "   (mean / worst face, CIE76)"
        )
        for sku in PRODUCTS:
            products = catalog.resolve([sku])
            row = f"{sku:18s}"
            for light in sorted(LIGHTS):
                errors = []
                for name in NAMES:
                    photo = cv2.imread(str(FACES / name))
                    tracked = engine.track(photo)
                    if not tracked.faces:
                        continue
                    iod = tracked.faces[0][0].inter_ocular_px
                    relit_photo = relight(photo, LIGHTS[light])
                    expected = relight(engine.draw(photo, tracked, products), LIGHTS[light])
                    got = engine.render(relit_photo, products)[0]
                    pixels = interior(relit_photo, got, iod)
                    if pixels.sum() > 30:
                        errors.append(float(delta_e76(expected, got)[pixels].mean()))
                row += f"{np.mean(errors):8.2f} /{max(errors):5.2f}"
            print(row)


if __name__ == "__main__":
    main()
