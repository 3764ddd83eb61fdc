"""End to end in real headless Chromium: the demo store embeds the widget, a fake webcam plays a
video of a real face, frames stream through the server and come back with the product on."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import websocket

from tests.browser import browser, requires_browser, wait_for
from tests.conftest import load_face
from tests.support.motion import Motion, apply_transform, fit_to_canvas, motion_transforms, write_y4m
from tests.support.server import local_server
from tryon.model_file import resolve_model_path

pytestmark = requires_browser


@pytest.fixture(scope="module")
def server():
    with local_server({"TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _pid):
        yield base


@pytest.fixture(scope="module")
def face_video(tmp_path_factory) -> Path:
    canvas = fit_to_canvas(load_face("009_neutral.jpg"))
    frames = [apply_transform(canvas, p)[0] for p in motion_transforms(90, Motion((12, 6), 4, 0.04))]
    path = tmp_path_factory.mktemp("camera") / "face.y4m"
    write_y4m(str(path), frames)
    return path


@pytest.fixture(scope="module")
def empty_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("camera") / "empty.y4m"
    write_y4m(str(path), [np.full((480, 640, 3), 140, np.uint8)] * 10)
    return path


def open_widget(driver, base: str, product_index: int = 0) -> None:
    driver.get(f"{base}/static/demo.html")
    driver.execute_script("""
        window.__events = [];
        for (const type of ['product_tried', 'snapshot_taken', 'add_to_cart'])
          document.addEventListener('tryon:' + type, (e) => window.__events.push([type, e.detail.product]));
    """)
    driver.find_elements("css selector", ".tryon-button")[product_index].click()
    driver.switch_to.frame(driver.find_element("css selector", ".tryon-overlay iframe"))


GRAB = """
const [source, eyes] = arguments;
const element = source === 'after' ? document.getElementById('after') : document.getElementById('before');
const canvas = document.createElement('canvas');
canvas.width = 640; canvas.height = 480;
canvas.getContext('2d').drawImage(element, 0, 0, 640, 480);
return canvas.toDataURL('image/png');
"""


def grab(driver, source: str) -> np.ndarray:
    data = driver.execute_script(GRAB, source, None).split(",", 1)[1]
    return cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)


def eye_box(driver) -> tuple[slice, slice]:
    eyes = np.array(driver.execute_script("return window.tryonWidget.stats.lastStatus.eyes")) * (640, 480)
    distance = np.linalg.norm(eyes[1] - eyes[0])
    (x0, y0), (x1, y1) = eyes.min(axis=0), eyes.max(axis=0)
    return (
        slice(int(y0 - 0.25 * distance), int(y1 + 0.25 * distance)),
        slice(int(x0 - 0.35 * distance), int(x1 + 0.35 * distance)),
    )


def test_live_try_on_in_chromium(server, face_video, artifacts):
    driver = browser(face_video)
    try:
        open_widget(driver, server)
        wait_for(
            driver,
            "const s = window.tryonWidget && window.tryonWidget.stats;"
            "return s && s.received > 15 && s.lastStatus && s.lastStatus.status === 'ok';",
        )
        assert driver.execute_script("return document.getElementById('message').textContent") == ""
        # Camera-paced: never more frames sent than the (30 fps fake) camera produced.
        camera, sent = driver.execute_script("const s = window.tryonWidget.stats; return [s.camera, s.sent];")
        assert 0 < sent <= camera

        # The returned frames carry the glasses: the eye region differs from the camera's, the rest does not.
        eyes = eye_box(driver)
        rendered, camera = grab(driver, "after").astype(int), grab(driver, "before").astype(int)
        assert np.abs(rendered - camera)[eyes].mean() > 12
        assert np.abs(rendered - camera)[:80, :80].mean() < 6

        # Before/after: the split slider shows the camera on one side and the try-on on the other.
        stage = driver.find_element("css selector", ".stage")
        driver.find_element("id", "compare").click()
        set_split = (
            "const s = document.getElementById('split'); s.value = arguments[0]; s.dispatchEvent(new Event('input'));"
        )
        driver.execute_script(set_split, 0)
        after_only = cv2.imdecode(np.frombuffer(stage.screenshot_as_png, np.uint8), cv2.IMREAD_COLOR)
        driver.execute_script(set_split, 100)
        before_only = cv2.imdecode(np.frombuffer(stage.screenshot_as_png, np.uint8), cv2.IMREAD_COLOR)
        changed = np.abs(after_only.astype(int) - before_only.astype(int)).max(axis=2) > 40
        assert changed.sum() > 300
        driver.execute_script(set_split, 50)

        # Switching product: the aviators' dark lenses darken the eye region of the returned frames.
        driver.find_element("css selector", "#products button[data-sku='aviator']").click()
        wait_for(
            driver,
            "const s = window.tryonWidget.stats.lastStatus;"
            "return s && s.products.length === 1 && s.products[0] === 'aviator';",
        )
        wait_for(driver, "return window.tryonWidget.stats.received > 0;")
        time.sleep(0.5)
        eyes = eye_box(driver)
        sunglasses, camera = grab(driver, "after").astype(int), grab(driver, "before").astype(int)
        assert sunglasses[eyes].mean() < camera[eyes].mean() - 25

        driver.find_element("id", "cart").click()
        driver.find_element("id", "snapshot").click()
        time.sleep(0.5)
        driver.save_screenshot(str(artifacts / "e2e_widget_split.png"))
        latencies = driver.execute_script("return window.tryonWidget.stats.latencies")
        assert len(latencies) > 10
        driver.switch_to.default_content()
        events = driver.execute_script("return window.__events")
        assert ["product_tried", "aviator"] in events
        assert events.count(["add_to_cart", "aviator"]) == 1  # once, though the page has eight snippets
        assert ["snapshot_taken", "aviator"] in events
        driver.save_screenshot(str(artifacts / "e2e_store.png"))
    finally:
        driver.quit()


def test_no_face_in_view_is_explained(server, empty_video):
    driver = browser(empty_video)
    try:
        open_widget(driver, server, product_index=4)  # a lipstick
        wait_for(driver, "const s = window.tryonWidget.stats.lastStatus; return s && s.status === 'no_face';")
        wait_for(driver, "return document.getElementById('message').textContent.includes(\"can't see your face\");")
    finally:
        driver.quit()


def test_denied_camera_is_explained(server, face_video):
    driver = browser(face_video, allow_camera=False)
    try:
        open_widget(driver, server)
        wait_for(driver, "return document.getElementById('message').textContent.includes('Camera access was denied');")
        assert driver.execute_script("return window.tryonWidget.stats.sent") == 0
    finally:
        driver.quit()


def test_size_advice_appears_in_the_widget(server, face_video):
    driver = browser(face_video)
    try:
        open_widget(driver, server)  # round glasses
        wait_for(driver, "const s = window.tryonWidget.stats.lastStatus; return s && s.fit && s.fit.frames_used >= 5;")
        wait_for(driver, "return !document.getElementById('size').hidden;")
        verdict = driver.find_element("id", "size-verdict").text
        assert verdict in ("This frame fits you", "This frame may be narrow for you", "This frame may be wide for you")
        detail = driver.find_element("id", "size-detail").text
        assert detail.startswith("Frame 136 mm wide · your face") and "mm" in detail
        assert driver.find_element("id", "size-pd").text.startswith("Your PD: ")
        assert "optician" in driver.find_element("id", "size-statement").text
        assert driver.find_element("id", "size-fitting").text
    finally:
        driver.quit()


def test_a_full_server_shows_busy_and_tries_again_later(face_video):
    """At capacity the shopper reads a clear "busy" message (not "connection lost"), and the widget
    backs off instead of hammering the server."""
    env = {"TRYON_MODEL_PATH": str(resolve_model_path()), "TRYON_MAX_STREAMS": "1"}
    with local_server(env) as (base, _pid):
        holder = websocket.create_connection(
            f"{base.replace('http', 'ws', 1)}/api/v1/stream?products=round", timeout=10
        )
        try:
            assert json.loads(holder.recv())["type"] == "ready"  # the one slot is taken
            driver = browser(face_video)
            try:
                open_widget(driver, base)
                wait_for(driver, "return document.getElementById('message').textContent.includes('Lots of shoppers');")
                time.sleep(3)
                closes = driver.execute_script("return window.tryonWidget.stats.closes")
                assert closes and set(closes) == {1013} and len(closes) <= 2  # backed off, not every 1.5 s
            finally:
                driver.quit()
        finally:
            holder.close()
