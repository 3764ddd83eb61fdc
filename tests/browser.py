"""Headless Chromium for the end-to-end tests (Debian's chromium + chromium-driver, via Selenium)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
requires_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver (scripts/test.sh installs them)",
)


def browser(camera: Path | None = None, allow_camera: bool = True):
    """A headless Chromium; `camera` is a .y4m file it uses as its webcam."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for downloads
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(flag)
    if camera is not None:
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument(f"--use-file-for-fake-video-capture={camera}")
    options.add_argument("--use-fake-ui-for-media-stream" if allow_camera else "--deny-permission-prompts")
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def wait_for(driver, script: str, timeout: float = 30.0, args: tuple = ()):
    """Poll a JavaScript expression (a `return ...` body, given `args` as arguments) until it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.2)
    stats = driver.execute_script("return window.tryonWidget ? JSON.stringify(window.tryonWidget.stats) : null")
    raise AssertionError(f"timed out waiting for: {script}\nwidget: {json.dumps(stats)}")


VIEWPORTS = {"desktop": (1200, 900, False), "phone": (390, 844, True)}


def set_viewport(driver, name: str) -> None:
    """Emulate a desktop window or a phone (touch-sized viewport, the page's viewport meta applied)."""
    width, height, mobile = VIEWPORTS[name]
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


AXE_VERSION = "4"
AXE_CACHE = Path(os.environ.get("TRYON_AXE_DIR", Path.home() / ".cache" / "tryon-tests" / "axe"))


def axe_source() -> str:
    """axe-core's browser build, installed from npm into a cache folder the first time; the test is
    skipped where neither it nor npm is there."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if not npm:
            pytest.skip("axe-core is not installed and npm is missing")
        import subprocess

        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(AXE_CACHE), f"axe-core@{AXE_VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0 or not script.exists():
            pytest.skip(f"could not install axe-core: {(result.stderr or result.stdout)[-300:]}")
    return script.read_text()


def axe_violations(driver, source: str, context: str = "document") -> list[dict]:
    """Serious and critical accessibility violations axe-core finds in the current document (or frame)."""
    driver.execute_script(source)
    found = driver.execute_async_script(
        f"const done = arguments[arguments.length - 1];"
        f"axe.run({context}, {{resultTypes: ['violations']}}).then((r) => done(r.violations), (e) => done(String(e)));"
    )
    assert isinstance(found, list), found
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


KEY_CODES = {"Escape": 27, "Tab": 9}


def press(driver, key: str, shift: bool = False) -> None:
    """A real key press (DevTools input events) to whatever has the focus, in whichever frame: unlike
    WebDriver actions it does not wait on a frame that the key press itself removes."""
    event = {"key": key, "code": key, "windowsVirtualKeyCode": KEY_CODES[key], "modifiers": 8 if shift else 0}
    driver.execute_cdp_cmd("Input.dispatchKeyEvent", {"type": "rawKeyDown", **event})
    driver.execute_cdp_cmd("Input.dispatchKeyEvent", {"type": "keyUp", **event})


def tap(driver, x: float, y: float) -> None:
    """A real mouse click at viewport coordinates (DevTools input events)."""
    for kind in ("mousePressed", "mouseReleased"):
        driver.execute_cdp_cmd(
            "Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}
        )
