"""Glasses that belong in the picture: the camera's noise and blur, scene light, lens reflections."""

import cv2
import numpy as np
import pytest

from tests.conftest import load_face
from tests.support.conditions import webcam_like
from tryon.camera import estimate_blur, estimate_camera
from tryon.compositing import warp_texture
from tryon.glasses import lens_sheen
from tryon.lighting import _cheek_polygons
from tryon.pipeline import PhotoEngine


def fine_detail(image, mask):
    """High-frequency energy: the spread of the grey image minus its 3x3 mean, inside `mask`."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float((gray - cv2.blur(gray, (3, 3)))[mask].std())


def frame_coverage(shape, renderer, anchor):
    height, width = shape[:2]
    placement = renderer.placement(anchor)
    return warp_texture(shape, renderer.asset.front, placement.front, region=(0, 0, width, height)).alpha


def erode(mask, pixels):
    return cv2.erode(mask.astype(np.uint8), np.ones((2 * pixels + 1,) * 2, np.uint8)) > 0


@pytest.mark.parametrize("name", ["009_neutral.jpg", "103_neutral.jpg"])
def test_the_frame_rim_is_as_grainy_and_soft_as_the_face(still_tracker, catalog, name):
    frame = webcam_like(load_face(name), blur_sigma=1.2, noise_sigma=4.0)
    engine = PhotoEngine(still_tracker)
    tracked = engine.track(frame)
    face, anchor = tracked.faces[0]
    glasses = catalog.get("rectangular")
    out = engine.draw(frame, tracked, [glasses])
    coverage = frame_coverage(frame.shape, glasses, anchor)
    rim = erode(coverage > 0.97, 1)
    assert rim.sum() > 100
    skin = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(skin, [np.rint(p).astype(np.int32) for p in _cheek_polygons(face)], 1)
    skin = (skin > 0) & ~cv2.dilate((coverage > 0.01).astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    ratio = fine_detail(out, rim) / fine_detail(out, skin)
    assert 0.7 < ratio < 1.3, ratio
    edges = cv2.dilate((coverage > 0.5).astype(np.uint8), np.ones((5, 5), np.uint8)) > erode(coverage > 0.5, 2)
    gray = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
    look = estimate_camera(frame, cv2.boundingRect(face.landmarks[:, :2].astype(np.float32)))
    rim_blur = estimate_blur(gray, edges, noise_sigma=0.67 * look.noise_sigma)
    assert abs(rim_blur - look.blur_sigma) < 0.35 * look.blur_sigma, (rim_blur, look)


def test_lens_reflection_slides_across_the_lens_as_the_head_turns(catalog):
    asset = catalog.get("aviator").asset
    height, width = asset.front.levels[0].shape[:2]
    v, u = np.mgrid[0:height, 0:width].astype(np.float32)
    row = int(asset.lens_centres[0, 1])

    def brightest_x(view):
        sheen = lens_sheen(u, v, asset.lens_centres, asset.lens_width_px, view)
        return int(np.argmax(sheen[row, : width // 2]))

    straight, turned = brightest_x((0.0, 0.0)), brightest_x((0.15, 0.0))
    assert abs(turned - straight) > 0.2 * asset.lens_width_px


def test_clear_lenses_are_nearly_invisible_but_for_their_edge(catalog):
    asset = catalog.get("round").asset
    alpha = asset.front.levels[0][..., 3].astype(np.float32) / 255
    lens = asset.lenses.levels[0] > 0
    middle = cv2.erode(lens.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    assert alpha[middle].mean() < 0.03
    edge = lens & ~middle & (asset.front.levels[0][..., 3] < 200)
    assert alpha[edge].max() > 0.15
