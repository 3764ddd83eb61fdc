"""Partial replies: only the rectangle the products changed travels back, and drawn over the client's
own copy of the frame it equals the whole rendered frame within JPEG noise."""

import struct

import cv2
import numpy as np
import pytest

from tests.conftest import load_face
from tests.support.motion import Motion, apply_transform, fit_to_canvas, motion_transforms
from tryon.imaging import decode_image, encode_image
from tryon.web.session import StreamSession, changed_rect


@pytest.fixture(scope="module")
def camera_frames():
    still = fit_to_canvas(load_face("lisa3.jpg"))
    return [apply_transform(still, transform)[0] for transform in motion_transforms(12, Motion(shift=(8.0, 4.0)))]


def composite(own: np.ndarray, reply: bytes) -> np.ndarray:
    """What the widget shows: its own frame with the reply's rectangle drawn over it."""
    x, y, width, height = struct.unpack(">4H", reply[:8])
    shown = own.copy()
    if width:
        shown[y : y + height, x : x + width] = decode_image(reply[8:])
    return shown


def test_partial_replies_compose_to_the_full_frame_and_are_much_smaller(catalog, model_path, camera_frames):
    full = StreamSession(catalog, model_path, ["aviator"])
    partial = StreamSession(catalog, model_path, ["aviator"], partial=True)
    try:
        full_bytes, partial_bytes = [], []
        for index, frame in enumerate(camera_frames):
            upload = encode_image(frame, "jpeg", 80)
            whole = full.process(upload, index).jpeg
            piece = partial.process(upload, index).jpeg
            full_bytes.append(len(whole))
            partial_bytes.append(len(piece))
            shown = composite(decode_image(upload), piece)
            assert np.abs(shown.astype(int) - decode_image(whole)).mean() < 2.0
        assert struct.unpack(">4H", piece[:8])[2] > 0  # the glasses were drawn
        assert np.mean(full_bytes) > 5 * np.mean(partial_bytes)
    finally:
        full.close()
        partial.close()


def test_no_face_sends_an_empty_rectangle(catalog, model_path):
    session = StreamSession(catalog, model_path, ["aviator"], partial=True)
    try:
        blank = encode_image(np.full((480, 640, 3), 120, np.uint8), "jpeg", 80)
        assert session.process(blank, 1).jpeg == struct.pack(">4H", 0, 0, 0, 0)
    finally:
        session.close()


def test_the_rectangle_covers_every_changed_pixel_on_jpeg_block_edges():
    before = np.zeros((480, 640, 3), np.uint8)
    after = before.copy()
    after[101:119, 203:297] = 9
    x, y, width, height = changed_rect(before, after, margin=4)
    assert (x, y) == (192, 96) and x % 8 == y % 8 == width % 8 == height % 8 == 0
    assert x <= 203 - 4 and y <= 101 - 4 and x + width >= 297 + 4 and y + height >= 119 + 4
    assert cv2.countNonZero(cv2.cvtColor(after, cv2.COLOR_BGR2GRAY)[y : y + height, x : x + width]) == 18 * 94
