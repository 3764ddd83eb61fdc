"""Products lit by the scene: a render on a relit photo equals the relit render of the original.

The photos are relit in linear sRGB (tests/support/conditions.py): half the exposure, a warm and a
cool white balance. A product that belongs in the picture changes exactly as the face around it
does, so on the product's interior pixels the two images must agree (mean CIE76 under 3).
"""

import cv2
import numpy as np
import pytest

from tests.conftest import load_face
from tests.support.conditions import LIGHTS, relight
from tryon.lighting import estimate_light
from tryon.makeup import landmarks as lm
from tryon.makeup.color import bgr_to_lab
from tryon.pipeline import PhotoEngine

FACES = ["009_neutral.jpg", "061_neutral.jpg", "132_neutral.jpg", "lisa3.jpg"]
PRODUCTS = ["smoky-eyes", "rosy-blush", "foundation-light", "ruby-matte", "aviator", "round"]


def delta_e76(first, second):
    lab = [bgr_to_lab(image.astype(np.float32) / 255.0) for image in (first, second)]
    return np.linalg.norm(lab[0] - lab[1], axis=-1)


def interior(before, after, face, iod):
    """Where the product changed the photo, away from its edges (where landmark noise moves it)."""
    changed = np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 2
    size = max(int(0.02 * iod), 1) * 2 + 1
    return cv2.erode(changed.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))) > 0


@pytest.fixture(scope="module")
def engine(still_tracker):
    return PhotoEngine(still_tracker)


@pytest.mark.parametrize("light", sorted(LIGHTS))
@pytest.mark.parametrize("name", FACES)
def test_products_change_with_the_light_as_the_face_does(engine, catalog, name, light):
    photo = load_face(name)
    relit_photo = relight(photo, LIGHTS[light])
    face = engine.track(photo).faces[0][0]
    worst = {}
    for sku in PRODUCTS:
        products = catalog.resolve([sku])
        relit_render = relight(engine.render(photo, products)[0], LIGHTS[light])
        render_relit = engine.render(relit_photo, products)[0]
        pixels = interior(relit_photo, render_relit, face, face.inter_ocular_px)
        assert pixels.sum() > 30, sku
        worst[sku] = float(delta_e76(relit_render, render_relit)[pixels].mean())
    assert max(worst.values()) < 3.0, worst


@pytest.mark.parametrize("name", FACES)
def test_the_light_estimate_follows_exposure_and_white_balance(still_tracker, name):
    photo = load_face(name)
    base = estimate_light(photo, still_tracker.detect(photo).primary).gains
    for gains_rgb in LIGHTS.values():
        relit = relight(photo, gains_rgb)
        ratio = estimate_light(relit, still_tracker.detect(relit).primary).gains / base
        assert np.allclose(ratio, gains_rgb[::-1], rtol=0.06), (ratio, gains_rgb)


def test_studio_faces_are_near_the_reference_light_and_webcam_faces_dim(still_tracker):
    """The reference is the studio light of the London set; the webcam shots are several times darker."""
    studio = [
        estimate_light(load_face(n), still_tracker.detect(load_face(n)).primary).exposure
        for n in ("009_neutral.jpg", "132_neutral.jpg", "103_neutral.jpg", "001_neutral.jpg")
    ]
    webcam = [
        estimate_light(load_face(n), still_tracker.detect(load_face(n)).primary).exposure
        for n in ("lisa1.jpg", "lisa3.jpg", "lisa4.jpg")
    ]
    assert 0.6 < np.median(studio) < 1.6
    assert max(webcam) < 0.5 * min(studio)


def test_lipstick_records_darker_in_dim_light(engine, catalog):
    photo = load_face("009_neutral.jpg")
    dim = relight(photo, LIGHTS["dim"])
    products = catalog.resolve(["ruby-matte"])
    face = engine.track(photo).faces[0][0]
    lips = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.rint(face.landmarks[list(lm.LIPS_OUTER), :2]).astype(np.int32)], 1)
    lips = cv2.erode(lips, np.ones((5, 5), np.uint8)) > 0
    studio_l = bgr_to_lab(engine.render(photo, products)[0].astype(np.float32) / 255)[..., 0][lips].mean()
    dim_l = bgr_to_lab(engine.render(dim, products)[0].astype(np.float32) / 255)[..., 0][lips].mean()
    assert dim_l < studio_l - 8
