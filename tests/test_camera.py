"""The camera's look on real photos: noise and blur read back as applied, an overlay made to match.

Studio faces are scaled to a webcam's 480 rows and degraded with known blur and noise
(tests/support/conditions.py). A photo has noise and softness of its own, so each clean photo is
measured first and the expectation is that floor combined with what was added, in quadrature
(independent noise and Gaussian blurs add in variance). The lisa shots are a real laptop webcam.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from tests.conftest import load_face
from tests.support import conditions
from tryon.camera import (
    SHARP,
    CameraLook,
    add_noise,
    estimate_blur,
    estimate_camera,
    estimate_noise,
    extra_blur,
    soften,
)

STUDIO_FACES = [
    "001_neutral.jpg",
    "009_neutral.jpg",
    "061_neutral.jpg",
    "103_neutral.jpg",
    "132_neutral.jpg",
    "009_smiling.jpg",
    "027_smiling.jpg",
    "092_smiling.jpg",
    "103_smiling.jpg",
]
WEBCAM_SHOTS = ["lisa1.jpg", "lisa2.jpg", "lisa3.jpg", "lisa4.jpg"]
WEBCAM_ROWS = 480


def face_box(tracker, image: np.ndarray) -> tuple[int, int, int, int]:
    """The bounding box of the tracked face's landmarks, as the renderer has it."""
    face = tracker.detect(image).primary
    assert face is not None
    x, y, w, h = cv2.boundingRect(face.landmarks[:, :2].astype(np.float32))
    return x, y, w, h


@pytest.fixture(scope="module")
def studio(still_tracker) -> dict[str, tuple[np.ndarray, tuple[int, int, int, int]]]:
    """Studio faces at webcam scale (480 rows, area-sampled) with their face boxes."""
    faces = {}
    for name in STUDIO_FACES:
        image = load_face(name)
        scale = WEBCAM_ROWS / image.shape[0]
        small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        faces[name] = small, face_box(still_tracker, small)
    return faces


def within(value: float, expected: float, relative: float, absolute: float = 0.0) -> bool:
    return abs(value - expected) <= max(relative * expected, absolute)


@pytest.mark.parametrize("name", STUDIO_FACES)
def test_noise_reads_back_as_added(studio, name):
    image, box = studio[name]
    base = conditions.blur(image, 1.0)  # takes out the JPEG's own grain; rounding to 8 bits stays
    floor = estimate_camera(base, box).noise_sigma
    assert floor < 0.6
    for sigma in (2.0, 4.0, 8.0):
        estimate = estimate_camera(conditions.add_noise(base, sigma, seed=int(sigma)), box).noise_sigma
        expected = math.hypot(floor, sigma)
        print(f"{name} noise: added {sigma:.0f}, floor {floor:.2f}, expected {expected:.2f}, read {estimate:.2f}")
        assert within(estimate, expected, 0.25)


@pytest.mark.parametrize("name", STUDIO_FACES)
def test_blur_reads_back_as_added_and_grows_with_it(studio, name):
    image, box = studio[name]
    own = estimate_camera(image, box).blur_sigma
    assert own < 1.2  # a downscaled studio photo is close to pixel-sharp
    clean, noisy = [], []
    for sigma in (0.8, 1.5, 2.5):
        blurred = conditions.blur(image, sigma)
        clean.append(estimate_camera(blurred, box).blur_sigma)
        noisy.append(estimate_camera(conditions.add_noise(blurred, 4.0), box).blur_sigma)
        expected = math.hypot(own, sigma)
        print(
            f"{name} blur: added {sigma}, own {own:.2f}, expected {expected:.2f}, "
            f"read {clean[-1]:.2f}, with noise 4 {noisy[-1]:.2f}"
        )
        assert within(clean[-1], expected, 0.3, 0.4)
        assert within(noisy[-1], expected, 0.3, 0.4)
    assert clean == sorted(clean) and noisy == sorted(noisy)


@pytest.mark.parametrize("name", STUDIO_FACES[:5])
def test_webcam_like_frame_reads_as_made(studio, name):
    """Dim warm light, blur 1.2 and noise 4, as `conditions.webcam_like` makes a laptop webcam."""
    image, box = studio[name]
    relit = conditions.relight(image, (0.55, 0.45, 0.32))
    own = estimate_camera(relit, box).blur_sigma
    look = estimate_camera(conditions.webcam_like(image), box)
    print(f"{name} webcam-like: {look}, expected noise 4, blur {math.hypot(own, 1.2):.2f}")
    assert within(look.noise_sigma, 4.0, 0.25)
    assert within(look.blur_sigma, math.hypot(own, 1.2), 0.3, 0.4)


def test_real_webcam_shots_read_plausibly_and_alike(still_tracker):
    """Four shots from one laptop webcam in one dim room: soft, lightly (after its denoising)
    noisy, and about the same look each time."""
    looks = []
    for name in WEBCAM_SHOTS:
        image = load_face(name)
        looks.append(estimate_camera(image, face_box(still_tracker, image)))
        print(f"{name} {image.shape[1]}x{image.shape[0]}: {looks[-1]}")
    noise = [look.noise_sigma for look in looks]
    blur = [look.blur_sigma for look in looks]
    assert all(0.3 < value < 4.0 for value in noise) and all(0.6 < value < 2.5 for value in blur)
    assert max(noise) / min(noise) < 1.4 and max(blur) / min(blur) < 1.4


def rim_overlay(frame_size: tuple[int, int], box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """A dark, opaque rectangular rim (a glasses frame's front) as premultiplied float32 BGRA,
    warped onto the cheek under the image-left eye, slightly turned, with bilinear sampling as the
    renderer warps its textures; and the rim's opening, where the skin shows."""
    x, y, w, h = box
    width, height, bar = int(0.4 * w), int(0.3 * h), max(int(0.08 * w), 8)
    rim = np.zeros((height, width, 4), np.float32)
    rim[..., :3] = (30.0, 35.0, 45.0)
    rim[..., 3] = 255.0
    rim[bar:-bar, bar:-bar] = 0.0
    opening = np.zeros((height, width), np.float32)
    opening[bar:-bar, bar:-bar] = 1.0
    centre = (x + 0.25 * w, y + 0.62 * h)
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 4.0, 1.0)
    turn[:, 2] += (centre[0] - width / 2 + 0.37, centre[1] - height / 2 + 0.21)
    warp = {"dsize": frame_size, "flags": cv2.INTER_LINEAR, "borderMode": cv2.BORDER_CONSTANT}
    return cv2.warpAffine(rim, turn, **warp), cv2.warpAffine(opening, turn, **warp) > 0.999


def composite(frame: np.ndarray, overlay: np.ndarray, look: CameraLook | None) -> tuple[np.ndarray, np.ndarray]:
    """The overlay over the frame (premultiplied), with a look softened before and given the camera's
    noise after, as the renderer is to do; the 8-bit result and the overlay's coverage."""
    if look is not None:
        overlay = soften(overlay, look)
    coverage = overlay[..., 3] / 255.0
    blended = frame.astype(np.float32) * (1.0 - coverage[..., None]) + overlay[..., :3]
    if look is not None:
        add_noise(blended, coverage, look, np.random.default_rng(7))
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8), coverage


def high_frequency(image: np.ndarray, mask: np.ndarray) -> float:
    """Fine detail: the spread of the image less its 3x3 box blur, RMS over the colour channels."""
    detail = image.astype(np.float32) - cv2.blur(image.astype(np.float32), (3, 3))
    return float(np.sqrt(np.mean([detail[..., c][mask].var() for c in range(3)])))


@pytest.mark.parametrize("name", ["001_neutral.jpg", "061_neutral.jpg", "103_smiling.jpg"])
def test_overlay_gets_the_frames_grain_and_softness(studio, name):
    """Drawn as is, a rim on a soft, noisy frame has no grain and near pixel-sharp edges (pasted
    on); softened and noised, its grain is the skin's beside it and its edges are as wide as the
    face's, both measured the same way."""
    image, box = studio[name]
    frame = conditions.add_noise(conditions.blur(image, 1.5), 4.0)
    look = estimate_camera(frame, box)
    overlay, opening = rim_overlay((frame.shape[1], frame.shape[0]), box)
    pasted, _ = composite(frame, overlay, None)
    matched, coverage = composite(frame, overlay, look)
    kernel = np.ones((3, 3), np.uint8)
    solid = cv2.erode((coverage > 0.98).astype(np.uint8), kernel).astype(bool)
    skin = cv2.erode((opening & (coverage < 0.001)).astype(np.uint8), kernel).astype(bool)
    assert solid.sum() > 300 and skin.sum() > 300

    skin_detail = high_frequency(matched, skin)
    print(
        f"{name} look {look}; fine detail: skin {skin_detail:.2f}, pasted rim {high_frequency(pasted, solid):.2f}, "
        f"matched rim {high_frequency(matched, solid):.2f}"
    )
    assert high_frequency(pasted, solid) < 0.3 * skin_detail
    assert within(high_frequency(matched, solid), skin_detail, 0.3)

    edges = cv2.dilate(((coverage > 0.02) & (coverage < 0.98)).astype(np.uint8), kernel, iterations=2).astype(bool)
    widths = {}
    for label, result in (("pasted", pasted), ("matched", matched)):
        gray = cv2.cvtColor(result, cv2.COLOR_BGR2GRAY)
        widths[label] = estimate_blur(gray, edges, estimate_noise(gray, solid))
    print(
        f"edge blur: frame {look.blur_sigma:.2f}, pasted rim {widths['pasted']:.2f}, "
        f"matched rim {widths['matched']:.2f}"
    )
    assert widths["pasted"] < 0.7 * look.blur_sigma
    assert within(widths["matched"], look.blur_sigma, 0.25)


def test_soften_adds_only_the_blur_the_warp_lacks():
    assert extra_blur(CameraLook(0.0, 1.3), own_blur=0.5) == pytest.approx(1.2)
    assert extra_blur(CameraLook(0.0, 0.4), own_blur=0.5) == 0.0
    region = np.zeros((40, 40, 4), np.uint8)
    region[15:25, 15:25] = (40, 80, 120, 200)  # premultiplied colour (50, 100, 150) at alpha 200
    assert soften(region, CameraLook(3.0, 0.25)) is region  # the warp is as soft already
    softened = soften(region, CameraLook(3.0, 2.0))
    assert softened.dtype == np.uint8 and softened.shape == region.shape
    assert int(softened[..., 3].sum()) == pytest.approx(int(region[..., 3].sum()), rel=0.01)
    seen = softened[..., 3] > 40  # colour over alpha stays the overlay's: no dark fringe
    colour = softened[..., :3][seen].astype(np.float32) / softened[..., 3][seen, None] * 255
    assert np.abs(colour - (50, 100, 150)).max() < 6


def test_noise_goes_where_the_overlay_covers():
    region = np.full((200, 200, 3), 100.0, np.float32)
    coverage = np.zeros((200, 200), np.float32)
    coverage[:, 100:] = 1.0
    add_noise(region, coverage, CameraLook(5.0, 1.0), np.random.default_rng(0))
    assert (region[:, :100] == 100.0).all()
    assert region[:, 100:].std() == pytest.approx(5.0, rel=0.05)
    untouched = region.copy()
    add_noise(region, coverage, SHARP, np.random.default_rng(0))
    assert np.array_equal(region, untouched)


def test_featureless_or_missing_faces_read_as_sharp():
    flat = np.full((480, 640, 3), 128, np.uint8)
    assert estimate_camera(flat, (200, 100, 200, 250)) == SHARP
    assert estimate_camera(flat, (700, 100, 200, 250)) == SHARP
    assert estimate_noise(flat[..., 0]) == 0.0 and estimate_blur(flat[..., 0]) == 0.0
