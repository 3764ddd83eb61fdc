"""The shade finder on real faces: steady under other light, following the skin, vanishing when worn.

For the 13 London studio faces (neutral), prints the shade found under studio light and under each
light of the lighting test (exposure x0.5, warm, cool; relit in linear sRGB), whether it is the same
or an adjacent shade, the skin's CIELAB and undertone; Spearman's rank correlation of the shade's L*
with the skin's L* as the studio photo records it and as the finder reads it (under the estimated
light); the mean CIE76 between the bare cheeks and the found shade worn (the project's foundation
renderer, at the shade's coverage); and the shades of lisa1-4 (one woman, dim warm webcam shots).

    .venv/bin/python bench/bench_shade.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.conditions import LIGHTS, relight  # noqa: E402
from tests.support.shades import cheek_delta_e, same_or_adjacent, spearman  # noqa: E402
from tryon.config import Settings  # noqa: E402
from tryon.lighting import REFERENCE_LIGHT  # noqa: E402
from tryon.model_file import resolve_model_path  # noqa: E402
from tryon.products import BuiltinCatalog  # noqa: E402
from tryon.shade import ShadeMatch, catalog_shades, find_shade  # noqa: E402
from tryon.tracking import FaceTracker  # noqa: E402

FACES = Path(__file__).resolve().parent.parent / "tests" / "data" / "faces"
STUDIO = sorted(path.name for path in FACES.glob("*_neutral.jpg"))
WEBCAM = [f"lisa{i}.jpg" for i in range(1, 5)]


def describe(found: ShadeMatch) -> str:
    lab = "/".join(f"{v:.0f}" for v in found.skin_lab)
    return f"{found.match.name:22s} Lab {lab:9s} {found.undertone:7s} dE00 {found.distance:4.1f}"


def main() -> None:
    catalog = BuiltinCatalog(Settings.from_env().assets_dir)
    shades = catalog_shades(catalog)
    print(f"{len(shades)} shades: {', '.join(shade.name for shade in shades)}\n")
    with FaceTracker(resolve_model_path()) as tracker:
        found: dict[tuple[str, str], ShadeMatch] = {}
        recorded_l, worn = [], []
        for name in STUDIO + WEBCAM:
            photo = cv2.imread(str(FACES / name))
            face = tracker.detect(photo).primary
            assert face is not None, name
            match = find_shade(photo, face, shades)
            assert match is not None, name
            found[name, "studio"] = match
            if name in WEBCAM:
                continue
            recorded = find_shade(photo, face, shades, light=REFERENCE_LIGHT)
            assert recorded is not None
            recorded_l.append(recorded.skin_lab[0])
            worn.append(cheek_delta_e(photo, face, catalog.get(match.match.sku)))
            for light, gains in LIGHTS.items():
                relit = relight(photo, gains)
                relit_face = tracker.detect(relit).primary
                assert relit_face is not None, (name, light)
                relit_match = find_shade(relit, relit_face, shades)
                assert relit_match is not None, (name, light)
                found[name, light] = relit_match

    steady = same = 0
    for name in STUDIO:
        base = found[name, "studio"]
        print(f"{name:16s} studio  {describe(base)}  worn dE76 {worn[STUDIO.index(name)]:.2f}")
        for light in LIGHTS:
            other = found[name, light]
            verdict = "same" if other.match == base.match else "adjacent" if same_or_adjacent(base, other) else "OTHER"
            same += other.match == base.match
            steady += same_or_adjacent(base, other)
            print(f"{'':16s} {light:7s} {describe(other)}  {verdict}")
    pairs = len(STUDIO) * len(LIGHTS)
    print(f"\nsame or adjacent shade under other light: {steady}/{pairs} ({100 * steady / pairs:.0f}%), same {same}")
    shade_l = [found[name, "studio"].match.lab[0] for name in STUDIO]
    read_l = [found[name, "studio"].skin_lab[0] for name in STUDIO]
    print(f"Spearman, shade L* vs skin L* as the finder reads it: {spearman(shade_l, read_l):.2f}")
    print(f"Spearman, shade L* vs skin L* as the studio photo records it: {spearman(shade_l, recorded_l):.2f}")
    print(f"found shade worn vs bare cheeks, CIE76: mean {np.mean(worn):.2f}, worst {max(worn):.2f}")
    print("\nwebcam (one person): shade, and which of the other shots get the same or an adjacent one")
    for name in WEBCAM:
        match = found[name, "studio"]
        agree = [other[:5] for other in WEBCAM if other != name and same_or_adjacent(match, found[other, "studio"])]
        print(f"{name:16s} {describe(match)}  {', '.join(agree) or 'none'}")


if __name__ == "__main__":
    main()
