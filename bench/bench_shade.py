"""The shade finder on real faces: steady under other light, following the skin, vanishing when worn.

For the 13 London studio faces (neutral), prints the shade found under studio light and under each
light of the lighting test (exposure x0.5, warm, cool; relit in linear sRGB), whether it is the same
or an adjacent shade, the skin's CIELAB and undertone: from the face alone, then with a white card
on the forehead (composites: tests/support/cards.py; the light read on the card, tryon.white_card).
Then Spearman's rank correlation of the shade's L* with the skin's L* as the studio photo records it
and as the finder reads it (under the light it was found in); the mean CIE76 between the bare
cheeks and the found shade worn (the project's foundation renderer, at the shade's coverage, lit as
the stream lights it: estimated on the face, or against the skin the card measured); and the shades
of lisa1-4 (one woman, dim warm webcam shots).

    .venv/bin/python bench/bench_shade.py
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.cards import on_forehead  # noqa: E402
from tests.support.conditions import LIGHTS, relight  # noqa: E402
from tests.support.shades import cheek_delta_e, same_or_adjacent, spearman  # noqa: E402
from tryon.config import Settings  # noqa: E402
from tryon.lighting import REFERENCE_LIGHT, cheek_linear  # noqa: E402
from tryon.model_file import resolve_model_path  # noqa: E402
from tryon.products import BuiltinCatalog  # noqa: E402
from tryon.shade import ShadeMatch, ShadeSpec, catalog_shades, find_shade  # noqa: E402
from tryon.tracking import FaceTracker  # noqa: E402
from tryon.white_card import WHITE_CARD, read_white_card  # noqa: E402

FACES = Path(__file__).resolve().parent.parent / "tests" / "data" / "faces"
STUDIO = sorted(path.name for path in FACES.glob("*_neutral.jpg"))
WEBCAM = [f"lisa{i}.jpg" for i in range(1, 5)]


def describe(found: ShadeMatch) -> str:
    lab = "/".join(f"{v:.0f}" for v in found.skin_lab)
    return f"{found.match.name:22s} Lab {lab:9s} {found.undertone:7s} dE00 {found.distance:4.1f}"


def summary(
    title: str, found: Mapping[tuple[str, str], ShadeMatch | None], recorded_l: list[float], worn: list[float]
) -> None:
    """Per face the studio shade and each relit one (same, adjacent or other), then the figures."""
    print(f"\n{title}")
    steady = same = 0
    for name, worn_e in zip(STUDIO, worn, strict=True):
        base = found[name, "studio"]
        if base is None:
            print(f"{name:16s} studio  (no reading)")
            continue
        print(f"{name:16s} studio  {describe(base)}  worn dE76 {worn_e:.2f}")
        for light in LIGHTS:
            other = found[name, light]
            if other is None:
                print(f"{'':16s} {light:7s} (no reading)")
                continue
            verdict = "same" if other.match == base.match else "adjacent" if same_or_adjacent(base, other) else "OTHER"
            same += other.match == base.match
            steady += same_or_adjacent(base, other)
            print(f"{'':16s} {light:7s} {describe(other)}  {verdict}")
    pairs = len(STUDIO) * len(LIGHTS)
    print(f"same or adjacent shade under other light: {steady}/{pairs} ({100 * steady / pairs:.0f}%), same {same}")
    studio = [(found[name, "studio"], lightness) for name, lightness in zip(STUDIO, recorded_l, strict=True)]
    shade_l = [match.match.lab[0] for match, _ in studio if match]
    read_l = [match.skin_lab[0] for match, _ in studio if match]
    recorded = [lightness for match, lightness in studio if match]
    print(f"Spearman, shade L* vs skin L* as the finder reads it: {spearman(shade_l, read_l):.2f}")
    print(f"Spearman, shade L* vs skin L* as the studio photo records it: {spearman(shade_l, recorded):.2f}")
    print(f"found shade worn vs bare cheeks, CIE76: mean {np.nanmean(worn):.2f}, worst {np.nanmax(worn):.2f}")


def with_white_card(
    tracker: FaceTracker, catalog: BuiltinCatalog, shades: list[ShadeSpec]
) -> tuple[dict[tuple[str, str], ShadeMatch | None], list[float]]:
    """The shades found with a white card's light (tryon.white_card) on composites of the studio faces,
    studio and relit, and each studio shade worn on the bare photo against its cheeks (CIE76)."""
    found: dict[tuple[str, str], ShadeMatch | None] = {}
    worn = []
    for index, name in enumerate(STUDIO):
        image = on_forehead(tracker, name, white=WHITE_CARD, seed=index)
        skin = None
        for light, frame in [("studio", image)] + [(light, relight(image, gains)) for light, gains in LIGHTS.items()]:
            face = tracker.detect(frame).primary
            reading = read_white_card(frame, face) if face is not None else None
            found[name, light] = None
            if face is not None and reading is not None and reading.light is not None:
                found[name, light] = find_shade(frame, face, shades, reading.light)
                if light == "studio":
                    skin = reading.light.reflectance(cheek_linear(frame, face))
        photo = cv2.imread(str(FACES / name))
        match = found[name, "studio"]
        bare = tracker.detect(photo).primary
        worn.append(cheek_delta_e(photo, bare, catalog.get(match.match.sku), skin) if match else np.nan)
    return found, worn


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
        carded, carded_worn = with_white_card(tracker, catalog, shades)

    summary("from the face alone", found, recorded_l, worn)
    summary("with a white card on the forehead", carded, recorded_l, carded_worn)
    print("\nwebcam (one person): shade, and which of the other shots get the same or an adjacent one")
    for name in WEBCAM:
        match = found[name, "studio"]
        agree = [other[:5] for other in WEBCAM if other != name and same_or_adjacent(match, found[other, "studio"])]
        print(f"{name:16s} {describe(match)}  {', '.join(agree) or 'none'}")


if __name__ == "__main__":
    main()
