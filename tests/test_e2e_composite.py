"""The picture the widget shows is the server's full render: partial replies (only the rectangle the
products changed) composited in Chromium over the widget's own copy of the frame it sent equal a
full-frame render of the same camera frame, within JPEG noise."""

from __future__ import annotations

import base64
import json
import struct
import time

import cv2
import numpy as np
import pytest
import websocket

from tests.browser import browser, requires_browser, wait_for
from tests.conftest import load_face
from tests.support.motion import fit_to_canvas, write_y4m
from tests.support.server import local_server
from tryon.model_file import resolve_model_path

pytestmark = requires_browser

PIXELS = """
const after = document.getElementById('after'), video = document.getElementById('before');
const camera = document.createElement('canvas');
camera.width = video.videoWidth; camera.height = video.videoHeight;
camera.getContext('2d').drawImage(video, 0, 0);
return [after.toDataURL('image/png'), camera.toDataURL('image/png'), window.tryonWidget.stats.received];
"""


def png(data_url: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(base64.b64decode(data_url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)


def full_render(base: str, camera: np.ndarray, frames: int = 40) -> np.ndarray:
    """The server's whole-frame render of `camera` (a still: the stream settles, as the widget's did)."""
    ws = websocket.create_connection(f"{base.replace('http', 'ws', 1)}/api/v1/stream?products=round", timeout=30)
    try:
        assert json.loads(ws.recv())["type"] == "ready"
        jpeg = cv2.imencode(".jpg", camera, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes()
        for frame_id in range(frames):
            ws.send_binary(struct.pack(">I", frame_id) + jpeg)
            reply = ws.recv()
            ws.recv()  # its status
        return cv2.imdecode(np.frombuffer(reply[4:], np.uint8), cv2.IMREAD_COLOR)
    finally:
        ws.close()


@pytest.fixture(scope="module")
def server():
    with local_server({"TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _pid):
        yield base


def test_partial_replies_composite_into_the_full_render(server, tmp_path):
    camera = tmp_path / "still.y4m"
    write_y4m(str(camera), [fit_to_canvas(load_face("009_neutral.jpg"))] * 10)
    driver = browser(camera)
    try:
        driver.get(f"{server}/embed/round")
        wait_for(driver, "const s = window.tryonWidget && window.tryonWidget.stats; return s && s.received > 40;", 60)
        time.sleep(1.0)  # the pose and the fit settled on the still face
        shown_url, camera_url, received = driver.execute_script(PIXELS)
    finally:
        driver.quit()
    shown, frame = png(shown_url), png(camera_url)
    assert received > 40 and shown.shape == frame.shape
    reference = full_render(server, frame)
    drawn = np.abs(reference.astype(int) - frame).max(axis=2) > 10  # where the glasses are (a thin metal frame)
    assert drawn.mean() > 0.005, "the reference shows no glasses"
    difference = np.abs(shown.astype(int) - reference).max(axis=2)
    # Two JPEG passes and two sessions' own smoothing apart: a few levels, edges a little more.
    assert difference[drawn].mean() < 8 and np.percentile(difference[drawn], 90) < 20, (
        difference[drawn].mean(),
        np.percentile(difference[drawn], 90),
    )
    assert difference[~drawn].mean() < 3  # and the rest of the picture is the camera's own
