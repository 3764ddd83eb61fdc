"""The merchant dashboard in headless Chromium: sign in, add a makeup shade with its live preview,
upload glasses and drag a lens marker, publish, copy the snippet, set origins, see analytics."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import Select

from tests.browser import browser, requires_browser, wait_for
from tests.support.server import local_server
from tryon.config import PROJECT_ROOT
from tryon.model_file import resolve_model_path
from tryon.store.accounts import create_merchant
from tryon.store.database import Database

pytestmark = requires_browser


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    data = tmp_path_factory.mktemp("dashboard-data")
    database = Database(f"sqlite:///{data / 'tryon.db'}")
    database.migrate()
    key = create_merchant(database, "boutique", name="Boutique")[1]
    database.close()
    with local_server({"TRYON_DATA_DIR": str(data), "TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _):
        yield base, key


def merchant_get(base, key, path):
    request = urllib.request.Request(f"{base}/api/v1/merchant{path}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def eventually(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_dashboard_end_to_end(shop, artifacts):
    base, key = shop
    driver = browser()
    try:
        driver.get(f"{base}/dashboard")
        driver.find_element("id", "key").send_keys("tok_not-a-key")
        driver.find_element("css selector", "#login-form button").click()
        wait_for(driver, "return document.getElementById('login-error').textContent.includes('not valid');")
        driver.find_element("id", "key").clear()
        driver.find_element("id", "key").send_keys(key)
        driver.find_element("css selector", "#login-form button").click()
        wait_for(driver, "return !document.getElementById('app').hidden;")
        assert "Boutique" in driver.find_element("id", "who").text

        # A lipstick shade, previewed live on the sample faces before it is saved.
        form = driver.find_element("id", "makeup-form")
        form.find_element("name", "sku").send_keys("rouge-1")
        form.find_element("name", "name").send_keys("Rouge One")
        Select(form.find_element("name", "finish")).select_by_visible_text("gloss")
        driver.execute_script(
            "const c = arguments[0]; c.value = '#c01040'; c.dispatchEvent(new Event('input', {bubbles: true}));",
            form.find_element("name", "colour"),
        )
        wait_for(
            driver, "const i = document.getElementById('makeup-preview'); return i.complete && i.naturalWidth > 300;"
        )
        form.find_element("css selector", "button[type=submit]").click()
        wait_for(driver, "return document.querySelector('#products tr[data-sku=\"rouge-1\"]') !== null;")
        assert merchant_get(base, key, "/products/rouge-1")["spec"]["colour"] == "#c01040"

        # Glasses: upload, then move a lens marker and save the calibration.
        glasses = driver.find_element("id", "glasses-form")
        glasses.find_element("name", "sku").send_keys("round-x")
        glasses.find_element("name", "name").send_keys("Round X")
        glasses.find_element("name", "front").send_keys(str(PROJECT_ROOT / "assets/glasses/round/front.png"))
        glasses.find_element("css selector", "button[type=submit]").click()
        wait_for(
            driver,
            "const i = document.getElementById('calibrate-image');"
            "return !document.getElementById('calibration').hidden && i.complete && i.naturalWidth > 0;",
        )
        marker = driver.find_element("css selector", ".marker[data-index='0']")
        ActionChains(driver).click_and_hold(marker).move_by_offset(25, 10).release().perform()
        driver.find_element("id", "save-calibration").click()
        wait_for(driver, "return document.getElementById('snippet').value.includes('round-x');")
        centres = merchant_get(base, key, "/products/round-x")["spec"]["lens_centres_px"]
        detected = merchant_get(base, key, "/products/round-x/calibration")["detected"]
        assert centres[0][0] - detected[0][0] > 20 and abs(centres[1][0] - detected[1][0]) < 2

        # Publish it and copy the embed snippet.
        driver.find_element("css selector", "#products tr[data-sku='round-x'] .publish").click()
        snippet = driver.find_element("id", "snippet").get_attribute("value")
        assert 'data-merchant="boutique"' in snippet and 'data-sku="round-x"' in snippet
        assert eventually(lambda: merchant_get(base, key, "/products/round-x")["published"])

        # Origins and analytics.
        origins = driver.find_element("id", "origins")
        origins.send_keys("https://boutique.example")
        driver.find_element("css selector", "#origins-form button").click()
        wait_for(driver, "return document.getElementById('origins').value === 'https://boutique.example';")
        # The field shows what was typed before the save completes: wait for the server to have it.
        assert eventually(lambda: merchant_get(base, key, "/origins") == {"origins": ["https://boutique.example"]})
        driver.save_screenshot(str(artifacts / "e2e_dashboard.png"))
    finally:
        driver.quit()
