import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from tryon.config import PROJECT_ROOT
from tryon.errors import ProductError
from tryon.glasses import GlassesAsset, GlassesSpec, detect_lenses

STYLES = ["aviator", "cat-eye", "rectangular", "round"]


def test_four_builtin_styles(catalog):
    assert set(STYLES) <= set(catalog.ids())
    for style in STYLES:
        asset = catalog.get(style).asset
        assert asset.front.levels[0].shape[2] == 4 and asset.temple is not None
        assert 1.7 < asset.frame_width_px / asset.lens_distance_px < 2.4


@pytest.mark.parametrize("style", STYLES)
def test_lens_holes_are_detected_where_the_metadata_says(style):
    directory = PROJECT_ROOT / "assets" / "glasses" / style
    spec = GlassesSpec.model_validate_json((directory / "glasses.json").read_text())
    alpha = cv2.imread(str(directory / "front.png"), cv2.IMREAD_UNCHANGED)[..., 3]
    found = np.array([region.centre for region in detect_lenses(alpha)])
    given = np.array(spec.lens_centres_px)
    # Hole centroids match the designed optical centres (a teardrop's sits a little above its centroid).
    assert np.abs(found - given).max() < 0.03 * np.linalg.norm(given[1] - given[0])


def test_sunglasses_lenses_are_tinted_and_clear_lenses_nearly_transparent(catalog):
    for style, low, high in (("aviator", 150, 255), ("round", 0, 8)):  # clear: only edge and reflections show
        asset = catalog.get(style).asset
        x, y = asset.lens_centres[0].astype(int)
        assert low <= asset.front.levels[0][y, x, 3] <= high


def test_assets_are_reproducible_from_the_script(tmp_path):
    subprocess.run([sys.executable, str(PROJECT_ROOT / "scripts" / "generate_glasses.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    for style in STYLES:
        for image in ("front.png", "temple.png"):
            committed = cv2.imread(str(PROJECT_ROOT / "assets" / "glasses" / style / image), cv2.IMREAD_UNCHANGED)
            fresh = cv2.imread(str(tmp_path / style / image), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(committed, fresh), (style, image)
        assert json.loads((tmp_path / style / "glasses.json").read_text()) == json.loads(
            (PROJECT_ROOT / "assets" / "glasses" / style / "glasses.json").read_text())


def test_front_without_alpha_or_lenses_is_refused(tmp_path):
    spec = GlassesSpec(name="Plain")
    with pytest.raises(ProductError, match="alpha"):
        GlassesAsset(spec, np.zeros((100, 300, 3), np.uint8))
    opaque_bar = np.zeros((100, 300, 4), np.uint8)
    opaque_bar[40:60, :, 3] = 255
    with pytest.raises(ProductError, match="lens"):
        GlassesAsset(spec, opaque_bar)


@pytest.mark.parametrize("bad", [
    {"name": ""}, {"name": "x", "lens_tint": "red"}, {"name": "x", "lens_opacity": 2},
    {"name": "x", "front_image": "../../etc/passwd"}, {"name": "x", "unknown": 1},
])
def test_spec_validation(bad):
    with pytest.raises(ValueError):
        GlassesSpec.model_validate(bad)


def test_broken_asset_directory_gives_product_error(tmp_path):
    shutil.copytree(PROJECT_ROOT / "assets" / "glasses" / "round", tmp_path / "round")
    (tmp_path / "round" / "front.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(ProductError):
        GlassesAsset.load(tmp_path / "round")
