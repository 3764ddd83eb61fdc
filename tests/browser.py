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


def wait_for(driver, script: str, timeout: float = 30.0):
    """Poll a JavaScript expression (a `return ...` body) until it is truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    stats = driver.execute_script("return window.tryonWidget ? JSON.stringify(window.tryonWidget.stats) : null")
    raise AssertionError(f"timed out waiting for: {script}\nwidget: {json.dumps(stats)}")
