"""End to end in real headless Chromium: a store page embeds the widget, a fake webcam plays a video
of a real face, frames stream through the server and come back with the products on; every dead end
(refused site, unpublished product, blocked camera, busy server, photo mode, two people) ends in a
plain message and a dialog that closes with Escape and with its backdrop, at desktop and phone sizes;
the face is framed whole on a phone; axe-core finds no serious accessibility problem."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
import websocket

from tests.browser import axe_source, axe_violations, browser, press, requires_browser, set_viewport, tap, wait_for
from tests.conftest import FACES, load_face
from tests.support.host_page import host_pages
from tests.support.motion import Motion, apply_transform, fit_to_canvas, motion_transforms, write_y4m
from tests.support.server import local_server, new_merchant
from tryon.model_file import resolve_model_path

pytestmark = requires_browser


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """The server, with the demo store and a merchant of its own ("fjord": a published lipstick)."""
    data = tmp_path_factory.mktemp("widget-data")
    key = new_merchant(data, "fjord", "Fjord Optikk")
    with local_server({"TRYON_DATA_DIR": str(data), "TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _):
        lipstick = {
            "sku": "rouge",
            "name": "Rouge",
            "kind": "lipstick",
            "spec": {"colour": "#aa1133"},
            "published": True,
        }
        merchant_call(base, key, "POST", "/products", lipstick)
        yield base, key


@pytest.fixture(scope="module")
def server(shop):
    return shop[0]


@pytest.fixture(scope="module")
def host(server):
    with host_pages(server) as base:
        yield base


def merchant_call(base, key, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}/api/v1/merchant{path}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def video(tmp_path_factory, name: str, frames: list[np.ndarray]) -> Path:
    path = tmp_path_factory.mktemp("camera") / f"{name}.y4m"
    write_y4m(str(path), frames)
    return path


@pytest.fixture(scope="module")
def face_video(tmp_path_factory) -> Path:
    canvas = fit_to_canvas(load_face("009_neutral.jpg"))
    return video(
        tmp_path_factory,
        "face",
        [apply_transform(canvas, p)[0] for p in motion_transforms(90, Motion((12, 6), 4, 0.04))],
    )


@pytest.fixture(scope="module")
def live(face_video):
    """One browser with the moving face as its camera, shared by the tests that need a face."""
    driver = browser(face_video)
    yield driver
    driver.quit()


# --- helpers --------------------------------------------------------------------------------------
LISTEN = """
if (!window.__events) {
  window.__events = [];
  for (const type of ['product_tried', 'snapshot_taken', 'add_to_cart'])
    document.addEventListener('tryon:' + type, (e) => window.__events.push([type, e.detail.sku]));
}
"""


def open_dialog(driver, url: str | None, index: int = 0) -> None:
    """Load the store page (unless `url` is None: the page as it is) and open the try-on of its
    `index`-th button (the host page's context)."""
    driver.switch_to.default_content()
    if url is not None:
        driver.get(url)
        driver.execute_script(LISTEN)
    wait_for(driver, f"return document.querySelectorAll('.tryon-button').length > {index};")
    button = driver.find_elements("css selector", ".tryon-button")[index]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()
    wait_for(driver, "return document.querySelector('.tryon-overlay') !== null;")


def enter_widget(driver) -> None:
    """Enter the open dialog's try-on frame once it is up (focus moved into it)."""
    wait_for(driver, "return document.activeElement && document.activeElement.tagName === 'IFRAME';")
    driver.switch_to.frame(driver.find_element("css selector", ".tryon-overlay iframe"))


def open_widget(driver, url: str, index: int = 0) -> None:
    """Open the dialog and enter the try-on's frame."""
    open_dialog(driver, url, index)
    enter_widget(driver)


def widget_says(driver, text: str) -> None:
    """Wait until the try-on shows `text` (in its notice or its hint), visibly."""
    wait_for(
        driver,
        "const [t] = arguments; return ['message', 'hint'].some((id) => { const e = document.getElementById(id);"
        " return e.textContent.includes(t) && e.getClientRects().length > 0; });",
        timeout=30,
        args=(text,),
    )


def assert_modal(driver) -> None:
    """The dialog is modal: the page behind is inert and does not scroll; it is an aria-modal dialog."""
    assert driver.execute_script(
        "const overlay = document.querySelector('.tryon-overlay');"
        "const others = [...document.body.children].filter((e) => e !== overlay);"
        "const box = overlay.querySelector('[role=dialog]');"
        "return others.every((e) => e.inert) && getComputedStyle(document.documentElement).overflow === 'hidden'"
        " && box.getAttribute('aria-modal') === 'true' && !!box.getAttribute('aria-label');"
    )


def press_escape(driver) -> None:
    press(driver, "Escape")


def click_backdrop(driver) -> None:
    """A tap on the dimmed page around the dialog (the strip above it on a phone)."""
    driver.switch_to.default_content()
    tap(driver, 10, 10)


def assert_closed(driver) -> None:
    driver.switch_to.default_content()
    wait_for(driver, "return document.querySelector('.tryon-overlay') === null;", timeout=5)
    assert driver.execute_script(
        "return [...document.body.children].every((e) => !e.inert) && document.documentElement.style.overflow === ''"
        " && document.activeElement.classList.contains('tryon-button');"
    )


def check_dead_end(driver, url: str | None, show, index: int = 0) -> None:
    """Open the dialog, see the message (`show(driver)`), close with Escape; again, close with the backdrop
    (`url` None: on the page as it is loaded)."""
    for close in (press_escape, click_backdrop):
        open_dialog(driver, url, index)
        assert_modal(driver)
        show(driver)
        close(driver)
        assert_closed(driver)


def in_widget(text: str):
    def show(driver) -> None:
        enter_widget(driver)
        widget_says(driver, text)

    return show


def in_host_dialog(text: str):
    def show(driver) -> None:
        wait_for(
            driver,
            "const f = document.querySelector('.tryon-failure'); return f && f.textContent.includes(arguments[0]);",
            args=(text,),
        )
        assert driver.switch_to.active_element.text in ("Lukk", "Close")  # focus on the way out

    return show


GRAB = """
const element = document.getElementById(arguments[0]);
const canvas = document.createElement('canvas');
canvas.width = 640; canvas.height = 480;
canvas.getContext('2d').drawImage(element, 0, 0, 640, 480);
return canvas.toDataURL('image/png');
"""


def grab(driver, source: str) -> np.ndarray:
    data = driver.execute_script(GRAB, source).split(",", 1)[1]
    return cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)


def eye_box(driver) -> tuple[slice, slice]:
    eyes = np.array(driver.execute_script("return window.tryonWidget.stats.lastStatus.eyes")) * (640, 480)
    distance = np.linalg.norm(eyes[1] - eyes[0])
    (x0, y0), (x1, y1) = eyes.min(axis=0), eyes.max(axis=0)
    return (
        slice(int(y0 - 0.25 * distance), int(y1 + 0.25 * distance)),
        slice(int(x0 - 0.35 * distance), int(x1 + 0.35 * distance)),
    )


def wait_streaming(driver, frames: int = 15) -> None:
    wait_for(
        driver,
        "const s = window.tryonWidget && window.tryonWidget.stats;"
        f"return s && s.received > {frames} && s.lastStatus && s.lastStatus.status === 'ok';",
    )


def wear(driver, group: str, sku: str) -> None:
    driver.find_element("id", f"tab-{group}").click()
    driver.find_element("css selector", f".chip[data-sku='{sku}']").click()


def wait_products(driver, skus: list[str]) -> None:
    wait_for(
        driver,
        "const s = window.tryonWidget.stats.lastStatus; return s && JSON.stringify(s.products) === arguments[0];",
        args=(json.dumps(skus, separators=(",", ":")),),
    )


# --- the live try-on --------------------------------------------------------------------------------
def test_live_try_on_in_chromium(live, server, artifacts):
    driver = live
    set_viewport(driver, "desktop")
    open_widget(driver, f"{server}/static/demo.html")
    stage_height = driver.execute_script("return document.getElementById('stage').getBoundingClientRect().height")
    wait_streaming(driver)
    assert driver.execute_script("return document.getElementById('hint').textContent") == ""
    # Camera-paced: never more frames sent than the (30 fps fake) camera produced.
    camera, sent = driver.execute_script("const s = window.tryonWidget.stats; return [s.camera, s.sent];")
    assert 0 < sent <= camera

    # The returned frames carry the glasses: the eye region differs from the camera's, the rest does not.
    eyes = eye_box(driver)
    rendered, camera = grab(driver, "after").astype(int), grab(driver, "before").astype(int)
    assert np.abs(rendered - camera)[eyes].mean() > 12
    assert np.abs(rendered - camera)[:80, :80].mean() < 6

    # Before/after: the split shows the camera on one side and the try-on on the other.
    stage = driver.find_element("id", "stage")
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
    wear(driver, "glasses", "aviator")
    wait_products(driver, ["aviator"])
    time.sleep(0.5)
    eyes = eye_box(driver)
    sunglasses, camera = grab(driver, "after").astype(int), grab(driver, "before").astype(int)
    assert sunglasses[eyes].mean() < camera[eyes].mean() - 25

    driver.find_element("id", "cart").click()
    wait_for(driver, "return document.getElementById('toast').textContent.includes('Aviator sunglasses');")
    driver.find_element("id", "snapshot").click()
    time.sleep(0.5)
    driver.save_screenshot(str(artifacts / "e2e_widget_split.png"))

    # Combinations: a lipstick with the glasses; a look takes the lipstick's place, the glasses stay.
    wear(driver, "lips", "ruby-matte")
    wait_products(driver, ["aviator", "ruby-matte"])
    wear(driver, "looks", "evening")
    wait_products(driver, ["aviator", "evening"])
    assert driver.execute_script("return document.querySelectorAll('.chip[aria-pressed=true]').length") == 2
    # The stage kept its size while the size guide came and went.
    assert (
        driver.execute_script("return document.getElementById('stage').getBoundingClientRect().height") == stage_height
    )
    assert len(driver.execute_script("return window.tryonWidget.stats.latencies")) > 10
    driver.switch_to.default_content()
    events = driver.execute_script("return window.__events")
    assert ["product_tried", "aviator"] in events and ["product_tried", "evening"] in events
    assert events.count(["add_to_cart", "aviator"]) == 1  # once, though the page has eight snippets
    assert ["snapshot_taken", "aviator"] in events
    driver.save_screenshot(str(artifacts / "e2e_store.png"))


def test_size_advice_appears_in_the_widget(live, server):
    driver = live
    open_widget(driver, f"{server}/static/demo.html")  # round glasses
    wait_for(driver, "const s = window.tryonWidget.stats.lastStatus; return s && s.fit && s.fit.frames_used >= 5;")
    wait_for(driver, "return !document.getElementById('size').hidden;")
    verdict = driver.find_element("id", "size-verdict").text
    assert verdict in ("This frame fits you", "This frame may be narrow for you", "This frame may be wide for you")
    detail = driver.find_element("id", "size-detail").text
    assert detail.startswith("Frame 136 mm wide · your face") and "mm" in detail
    assert driver.find_element("id", "size-pd").text.startswith("Your PD: ")
    assert "optician" in driver.find_element("id", "size-statement").text
    assert driver.find_element("id", "size-fitting").text


def test_norwegian_store_and_keyboard(live, host):
    """A Norwegian page gets the try-on in Bokmål; Tab never leaves the open dialog; axe-core finds no
    serious or critical problem in the dialog or the try-on."""
    driver = live
    set_viewport(driver, "phone")
    url = f"{host}/?merchant=demo&sku=ruby-matte&lang=nb"
    open_widget(driver, url)
    wait_streaming(driver, 3)
    assert driver.find_element("id", "cart").text == "Legg i handlekurven"
    assert driver.find_element("id", "tab-lips").get_attribute("aria-selected") == "true"
    assert driver.find_element("tag name", "html").get_attribute("lang") == "nb"
    # The worn chip is in view in its row.
    assert driver.execute_script(
        "const c = document.querySelector('.chip[aria-pressed=true]'), row = c.parentElement.getBoundingClientRect(),"
        " box = c.getBoundingClientRect(); return box.left >= row.left - 1 && box.right <= row.right + 1;"
    )
    axe = axe_source()
    widget_problems = axe_violations(driver, axe)
    driver.switch_to.default_content()
    assert driver.find_element("css selector", ".tryon-close").get_attribute("aria-label") == "Lukk"
    for _ in range(14):
        press(driver, "Tab")
        assert driver.execute_script(
            "return document.querySelector('.tryon-overlay').contains(document.activeElement);"
        ), "focus left the dialog"
    dialog_problems = axe_violations(driver, axe, "document.querySelector('.tryon-overlay')")
    assert not widget_problems and not dialog_problems, (widget_problems, dialog_problems)


# --- dead ends ------------------------------------------------------------------------------------
def test_refused_site_and_unpublished_product(shop, host):
    """No button where the try-on cannot work; when it stops working after the page loaded, the dialog
    says so and closes; the merchant sees where the snippet was seen."""
    base, key = shop
    driver = browser()
    try:
        url = f"{host}/?merchant=fjord&sku=rouge&lang=nb"
        driver.get(url)
        wait_for(driver, "return performance.getEntriesByType('resource').some((e) => e.name.includes('/embeddable'));")
        time.sleep(0.5)
        assert driver.find_elements("css selector", ".tryon-button") == []  # the site is not allowed yet
        seen = merchant_call(base, key, "GET", "/embedding")["last_seen"]
        assert seen["origin"] == host and seen["allowed"] is False

        merchant_call(base, key, "PUT", "/origins", {"origins": [host]})
        assert merchant_call(base, key, "GET", "/embedding")["last_seen"]["allowed"] is True
        driver.get(url)
        wait_for(driver, "return document.querySelector('.tryon-button') !== null;")
        assert driver.find_element("css selector", ".tryon-button").text == "Prøv på"

        refused = "Prøvingen kunne ikke åpnes"
        set_viewport(driver, "phone")
        merchant_call(base, key, "PUT", "/origins", {"origins": []})  # refused after the page loaded
        check_dead_end(driver, None, in_host_dialog(refused))

        merchant_call(base, key, "PUT", "/origins", {"origins": [host]})
        merchant_call(base, key, "PATCH", "/products/rouge", {"published": False})
        set_viewport(driver, "desktop")
        driver.get(url)
        wait_for(driver, "return performance.getEntriesByType('resource').some((e) => e.name.includes('/embeddable'));")
        time.sleep(0.5)
        assert driver.find_elements("css selector", ".tryon-button") == []  # not published
        merchant_call(base, key, "PATCH", "/products/rouge", {"published": True})
        driver.get(url)
        wait_for(driver, "return document.querySelector('.tryon-button') !== null;")
        merchant_call(base, key, "PATCH", "/products/rouge", {"published": False})  # withdrawn meanwhile
        check_dead_end(driver, None, in_host_dialog(refused))
    finally:
        merchant_call(base, key, "PATCH", "/products/rouge", {"published": True})
        driver.quit()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_denied_camera_is_explained(server, host, face_video, viewport, request):
    driver = request.getfixturevalue("denied_browser")
    set_viewport(driver, viewport)
    check_dead_end(driver, f"{host}/?merchant=demo&sku=round&lang=nb", in_widget("Kameraet er blokkert"))
    open_widget(driver, f"{host}/?merchant=demo&sku=round&lang=en")
    widget_says(driver, "The camera is blocked")
    assert driver.find_element("css selector", "#notice-actions button").text == "Use a photo"
    assert driver.execute_script("return window.tryonWidget.stats.sent") == 0


@pytest.fixture(scope="module")
def denied_browser(face_video):
    driver = browser(face_video, allow_camera=False)
    yield driver
    driver.quit()


def test_no_face_in_view_is_explained(server, tmp_path_factory):
    driver = browser(video(tmp_path_factory, "empty", [np.full((480, 640, 3), 140, np.uint8)] * 10))
    try:
        open_widget(driver, f"{server}/static/demo.html", index=4)  # a lipstick
        wait_for(driver, "const s = window.tryonWidget.stats.lastStatus; return s && s.status === 'no_face';")
        widget_says(driver, "can't see your face")
    finally:
        driver.quit()


def test_photo_mode_follows_the_products_and_returns_to_the_camera(live, server, tmp_path):
    driver = live
    set_viewport(driver, "phone")
    url = f"{server}/static/demo.html"
    open_widget(driver, url)  # round glasses
    wait_streaming(driver, 3)
    photo_input = "const i = document.getElementById('photo'); i.hidden = false; return i;"
    driver.execute_script(photo_input).send_keys(str(FACES / "001_neutral.jpg"))
    wait_for(driver, "const w = window.tryonWidget; return w.mode === 'photo' && w.stats.photos === 1;")
    assert driver.find_element("id", "camera-button").is_displayed()
    round_glasses = grab(driver, "after").astype(int)
    wear(driver, "glasses", "aviator")
    wait_for(driver, "return window.tryonWidget.stats.photos === 2;")
    aviators = grab(driver, "after").astype(int)
    centre = (slice(150, 260), slice(200, 440))  # the eyes of the London set's portraits
    assert aviators[centre].mean() < round_glasses[centre].mean() - 15  # re-rendered with the new product
    received = driver.execute_script("return window.tryonWidget.stats.received")
    driver.find_element("id", "camera-button").click()
    wait_for(
        driver, f"return window.tryonWidget.mode === 'camera' && window.tryonWidget.stats.received > {received} + 5;"
    )
    wait_products(driver, ["aviator"])

    # A photo without a face says so; the dialog still closes both ways.
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((480, 640, 3), 200, np.uint8))

    def photo_without_face(driver) -> None:
        enter_widget(driver)
        # The try-on's script has run (its file input listens) and the camera is streaming: a file
        # chosen before that would be missed.
        wait_for(driver, "const w = window.tryonWidget; return w && w.mode === 'camera' && w.stats.received > 0;")
        driver.execute_script(photo_input).send_keys(str(blank))
        widget_says(driver, "couldn't find a face")

    check_dead_end(driver, url, photo_without_face)


def test_two_people_in_view_are_told(server, tmp_path_factory):
    left, right = fit_to_canvas(load_face("009_neutral.jpg")), fit_to_canvas(load_face("103_neutral.jpg"))
    pair = np.hstack([left[:, 160:480], right[:, 160:480]])
    driver = browser(video(tmp_path_factory, "two", [pair] * 10))
    try:
        url = f"{server}/static/demo.html"
        open_widget(driver, url)
        wait_streaming(driver, 3)
        check_dead_end(driver, url, in_widget("More than one person"))
    finally:
        driver.quit()


def test_a_full_server_shows_busy_and_tries_again_later(face_video):
    """At capacity the shopper reads a clear "busy" message (not "connection lost") over their own camera
    picture, the widget backs off instead of hammering the server, and the dialog closes as always."""
    env = {"TRYON_MODEL_PATH": str(resolve_model_path()), "TRYON_MAX_STREAMS": "1"}
    with local_server(env) as (base, _pid):
        holder = websocket.create_connection(
            f"{base.replace('http', 'ws', 1)}/api/v1/stream?products=round", timeout=10
        )
        try:
            assert json.loads(holder.recv())["type"] == "ready"  # the one slot is taken
            driver = browser(face_video)
            try:
                set_viewport(driver, "phone")
                open_widget(driver, f"{base}/static/demo.html")
                widget_says(driver, "Lots of shoppers")
                # The shopper's own picture, at once, though no rendered frame came.
                assert driver.execute_script(
                    "const w = window.tryonWidget; return document.getElementById('after').width > 0"
                    " && document.getElementById('loading').hidden && w.stats.received === 0;"
                )
                time.sleep(3)
                closes = driver.execute_script("return window.tryonWidget.stats.closes")
                assert closes and set(closes) == {1013} and len(closes) <= 2  # backed off, not every 1.5 s
                press_escape(driver)
                assert_closed(driver)
                open_dialog(driver, f"{base}/static/demo.html")
                in_widget("Lots of shoppers")(driver)
                click_backdrop(driver)
                assert_closed(driver)
            finally:
                driver.quit()
        finally:
            holder.close()


# --- framing ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("share", [0.3, 0.7])
def test_the_whole_face_is_on_a_phone_stage(server, tmp_path_factory, still_tracker, share, artifacts):
    """A face filling `share` of the camera frame's height is shown whole (chin to brow, cheek to cheek)."""
    face = load_face("009_neutral.jpg")
    points = still_tracker.detect(face).primary.landmarks[:, :2]
    top, bottom = points[:, 1].min(), points[:, 1].max()
    scale = share * 480 / (bottom - top)
    small = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 150, np.uint8)
    cx, cy = points[:, 0].mean() * scale, (top + bottom) / 2 * scale  # the face's centre, to the frame's centre
    ox, oy = int(320 - cx), int(240 - cy)
    ys, xs = slice(max(0, oy), min(480, oy + small.shape[0])), slice(max(0, ox), min(640, ox + small.shape[1]))
    frame[ys, xs] = small[ys.start - oy : ys.stop - oy, xs.start - ox : xs.stop - ox]
    box = still_tracker.detect(frame).primary.landmarks[:, :2]
    (x0, y0), (x1, y1) = box.min(axis=0) / (640, 480), box.max(axis=0) / (640, 480)

    driver = browser(video(tmp_path_factory, f"face-{share}", [frame] * 10))
    try:
        set_viewport(driver, "phone")
        open_widget(driver, f"{server}/static/demo.html", index=4)  # a lipstick: the mouth matters
        wait_streaming(driver, 30)
        time.sleep(1.5)  # the framing eases in
        shown = driver.execute_script(
            "const v = document.getElementById('view').getBoundingClientRect(), s = document.getElementById('stage')"
            ".getBoundingClientRect(); return [[v.left, v.top, v.width, v.height], [s.left, s.top, s.right, s.bottom]];"
        )
        (left, top_, width, height), (s0, t0, s1, t1) = shown
        # Mirrored: the frame's x shows at the view's right edge minus x.
        screen = [(left + (1 - x) * width, top_ + y * height) for x in (x0, x1) for y in (y0, y1)]
        inside = all(s0 - 0.5 <= sx <= s1 + 0.5 and t0 - 0.5 <= sy <= t1 + 0.5 for sx, sy in screen)
        driver.switch_to.default_content()
        driver.save_screenshot(str(artifacts / f"e2e_phone_face_{int(share * 100)}.png"))
        assert inside, f"face {screen} outside the stage {(s0, t0, s1, t1)}"
        assert (s1 - s0) * (t1 - t0) > 0.3 * 390 * 844  # and the stage is a good part of the screen
    finally:
        driver.quit()
