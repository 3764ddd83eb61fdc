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
    assert set(STYLES) <= set(catalog.skus())
    for style in STYLES:
        asset = catalog.get(style).asset
        assert asset.front.levels[0].shape[2] == 4 and asset.temple is not None
        assert 1.7 < asset.front_width_px / asset.lens_distance_px < 2.4


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
    subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "generate_glasses.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for style in STYLES:
        for image in ("front.png", "temple.png"):
            committed = cv2.imread(str(PROJECT_ROOT / "assets" / "glasses" / style / image), cv2.IMREAD_UNCHANGED)
            fresh = cv2.imread(str(tmp_path / style / image), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(committed, fresh), (style, image)
        assert json.loads((tmp_path / style / "glasses.json").read_text()) == json.loads(
            (PROJECT_ROOT / "assets" / "glasses" / style / "glasses.json").read_text()
        )


def test_front_without_alpha_or_lenses_is_refused(tmp_path):
    spec = GlassesSpec(name="Plain")
    with pytest.raises(ProductError, match="alpha"):
        GlassesAsset(spec, np.zeros((100, 300, 3), np.uint8))
    opaque_bar = np.zeros((100, 300, 4), np.uint8)
    opaque_bar[40:60, :, 3] = 255
    with pytest.raises(ProductError, match="lens"):
        GlassesAsset(spec, opaque_bar)


@pytest.mark.parametrize(
    "bad",
    [
        {"name": ""},
        {"name": "x", "lens_tint": "red"},
        {"name": "x", "lens_opacity": 2},
        {"name": "x", "front_image": "../../etc/passwd"},
        {"name": "x", "unknown": 1},
    ],
)
def test_spec_validation(bad):
    with pytest.raises(ValueError):
        GlassesSpec.model_validate(bad)


def test_broken_asset_directory_gives_product_error(tmp_path):
    shutil.copytree(PROJECT_ROOT / "assets" / "glasses" / "round", tmp_path / "round")
    (tmp_path / "round" / "front.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(ProductError):
        GlassesAsset.load(tmp_path / "round")


def front_and_lenses(style):
    """A built-in style's front image (BGRA), spec, and lens holes (image left, then right)."""
    directory = PROJECT_ROOT / "assets" / "glasses" / style
    front = cv2.imread(str(directory / "front.png"), cv2.IMREAD_UNCHANGED)
    spec = GlassesSpec.model_validate_json((directory / "glasses.json").read_text())
    return front, spec, detect_lenses(front[..., 3])


def hole_pixels(lens, outward):
    """Rows of a hole's pixels and how far across it each lies, 0 at the nose side to 1 at the temple."""
    ys, xs = np.nonzero(lens.mask)
    across = (xs - xs.min()) / (xs.max() - xs.min())
    return ys, (across if outward > 0 else 1 - across)


def test_cat_eye_top_line_sweeps_up_into_a_wing():
    """Each lens is highest in its outer third, well above its inner top; the frame's highest point
    is the wing tip at the outer edge."""
    front, _, lenses = front_and_lenses("cat-eye")
    for lens, outward in zip(lenses, (-1, 1)):
        ys, across = hole_pixels(lens, outward)
        assert across[ys == ys.min()].mean() > 2 / 3
        assert ys[across < 1 / 3].min() - ys.min() > 0.05 * (ys.max() - ys.min())
    rows, cols = np.nonzero(front[..., 3] > 128)
    tips = cols[rows == rows.min()]
    assert np.all(np.minimum(tips - cols.min(), cols.max() - tips) < 0.05 * (cols.max() - cols.min()))


def test_aviator_lenses_are_teardrops():
    """Wide at the top and narrow below, nearly straight along the top, lowest on the nose side."""
    _, _, lenses = front_and_lenses("aviator")
    for lens, outward in zip(lenses, (-1, 1)):
        ys, across = hole_pixels(lens, outward)
        top, height = ys.min(), ys.max() - ys.min()
        widths = np.bincount(ys - top)
        assert widths[int(0.25 * height)] > 1.2 * widths[int(0.75 * height)]
        top_line = [ys[np.abs(across - a) < 0.01].min() for a in np.linspace(0.25, 0.75, 11)]
        assert np.ptp(top_line) < 0.04 * height
        assert across[ys == ys.max()].mean() < across.mean() - 0.05


@pytest.mark.parametrize("style", ["aviator", "round"])
def test_metal_frames_have_nose_pads(style):
    """Below the lens centres, between the lenses and clear of their rims, there are pads on arms."""
    front, _, (left, right) = front_and_lenses(style)
    lens_distance = right.centre[0] - left.centre[0]
    clearance, centre_y = int(0.035 * lens_distance), int((left.centre[1] + right.centre[1]) / 2)
    seen = 0
    for y in range(centre_y, centre_y + int(0.17 * lens_distance)):
        start, stop = np.nonzero(left.mask[y])[0].max() + clearance, np.nonzero(right.mask[y])[0].min() - clearance
        seen += int((front[y, start:stop, 3] > 60).sum())
    assert seen > 0.001 * lens_distance**2


@pytest.mark.parametrize("style", STYLES)
def test_end_pieces_darken_as_they_turn_back(style):
    """At hinge height, the outermost millimetre (turning away towards the temple) is darker than the
    front a few millimetres in: no flat tabs sticking out sideways."""
    front, spec, _ = front_and_lenses(style)
    mm = round(np.ptp(np.nonzero(front[..., 3])[1]) / spec.width_mm)  # pixels per millimetre
    hinge = int(spec.hinge_y_px)
    for image in (front, front[:, ::-1]):  # the image-left end, then the right one
        opaque = image[..., 3] > 200
        grey = cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_BGR2GRAY).astype(np.float64)
        edge, inside = [], []
        for y in range(hinge - 3 * mm // 2, hinge + 3 * mm // 2 + 1):
            x = np.nonzero(opaque[y])[0].min()
            edge += list(grey[y, x : x + mm][opaque[y, x : x + mm]])
            inside += list(grey[y, x + 3 * mm : x + 5 * mm][opaque[y, x + 3 * mm : x + 5 * mm]])
        assert np.mean(edge) < 0.9 * np.mean(inside)


def test_the_old_name_of_the_front_width_is_still_accepted():
    spec = GlassesSpec.model_validate({"name": "Old", "frame_width_mm": 138})
    assert spec.width_mm == 138 and "frame_width_mm" not in spec.model_dump()
