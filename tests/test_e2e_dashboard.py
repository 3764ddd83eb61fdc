"""The merchant dashboard in headless Chromium: sign in, add a makeup shade with its live preview,
upload glasses and drag a lens marker, publish, copy the snippet, set origins, see analytics; rotate
API keys (new key, switch to it, revoke the old one, revoke the one in use) and sign out."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.support.ui import Select

from tests.browser import axe_source, axe_violations, browser, requires_browser, set_viewport, wait_for
from tests.support.server import local_server, new_merchant
from tryon.config import PROJECT_ROOT
from tryon.model_file import resolve_model_path

pytestmark = requires_browser


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    data = tmp_path_factory.mktemp("dashboard-data")
    key = new_merchant(data, "boutique", "Boutique")
    with local_server({"TRYON_DATA_DIR": str(data), "TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _):
        yield base, key


def merchant_get(base, key, path):
    request = urllib.request.Request(f"{base}/api/v1/merchant{path}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def merchant_call(base, key, method, path):
    """(status, JSON body) of a merchant API call; error statuses are returned, not raised."""
    request = urllib.request.Request(
        f"{base}/api/v1/merchant{path}", method=method, headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def sign_in(driver, key):
    driver.find_element("id", "key").clear()
    driver.find_element("id", "key").send_keys(key)
    driver.find_element("css selector", "#login-form button").click()
    wait_for(driver, "return !document.getElementById('app').hidden;")


def key_row(prefix, state=""):
    """A `wait_for` script: the keys table has a row for `prefix` (with class `state`, if given)."""
    return (
        f"return document.querySelector('#keys tr{'.' + state if state else ''}[data-prefix=\"{prefix}\"]') !== null;"
    )


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


def test_dashboard_key_rotation(shop, artifacts):
    base, shop_key = shop
    # The dashboard signs in with a key of its own, so that the shop's key stays valid.
    status, issued = merchant_call(base, shop_key, "POST", "/keys")
    assert status == 201
    old = issued["key"]
    driver = browser()
    try:
        driver.get(f"{base}/dashboard")
        assert not driver.find_element("id", "sign-out").is_displayed()
        sign_in(driver, old)
        assert driver.find_element("id", "sign-out").is_displayed()
        wait_for(driver, key_row(old[:8], "current"))
        assert not driver.find_element("id", "new-key-box").is_displayed()
        row = driver.find_element("css selector", f"#keys tr[data-prefix='{old[:8]}']")
        assert "this key" in row.text and "active" in row.text
        created = row.find_elements("tag name", "td")[1]
        assert str(time.localtime().tm_year) in created.text and "T" not in created.text  # a local date, not ISO

        # A new key, shown once, that works over HTTP.
        driver.find_element("id", "new-key").click()
        wait_for(driver, "return document.getElementById('new-key-value').value.startsWith('tok_');")
        new = driver.find_element("id", "new-key-value").get_attribute("value")
        assert new != old and len(new) > 40
        assert "shown once" in driver.find_element("id", "new-key-box").text.lower()
        assert merchant_call(base, new, "GET", "/me")[0] == 200
        wait_for(driver, key_row(new[:8]))
        driver.find_element("id", "copy-key").click()
        wait_for(driver, "return document.getElementById('copy-key').textContent === 'Copied';")

        # Switch to it, then revoke the old key (not the one in use: no sign-out).
        driver.find_element("id", "use-new-key").click()
        wait_for(driver, key_row(new[:8], "current"))
        assert driver.execute_script("return sessionStorage.getItem('tryon-key');") == new
        assert "this key" not in driver.find_element("css selector", f"#keys tr[data-prefix='{old[:8]}']").text
        driver.find_element("css selector", f"#keys tr[data-prefix='{old[:8]}'] button").click()
        confirm = driver.find_element("css selector", "#keys tr.confirm")
        assert old[:8] in confirm.text and "signed out" not in confirm.text
        confirm.find_element("css selector", "button.danger").click()
        wait_for(driver, key_row(old[:8], "revoked"))
        assert merchant_call(base, old, "GET", "/me")[0] == 401
        assert merchant_call(base, new, "GET", "/me")[0] == 200
        row = driver.find_element("css selector", f"#keys tr[data-prefix='{old[:8]}']")
        assert "revoked" in row.text and not row.find_elements("tag name", "button")
        section = driver.find_element("id", "keys-section")
        section.screenshot(str(artifacts / "e2e_dashboard_keys.png"))

        # At phone width the section fits.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": 375, "height": 1000, "deviceScaleFactor": 2, "mobile": False},
        )
        assert driver.execute_script("return innerWidth;") == 375
        driver.execute_script("arguments[0].scrollIntoView();", section)
        assert driver.execute_script(
            "const s = document.getElementById('keys-section'), box = s.getBoundingClientRect();"
            "return s.scrollWidth <= s.clientWidth && box.left >= 0 && box.right <= innerWidth;"
        )
        page = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"
        )
        assert page[0] <= page[1], f"the page scrolls sideways at 375 px: {page}"
        section.screenshot(str(artifacts / "e2e_dashboard_keys_375.png"))

        # Sign out, and in again with the new key.
        driver.find_element("id", "sign-out").click()
        wait_for(driver, "return !document.getElementById('login').hidden && document.getElementById('app').hidden;")
        assert driver.execute_script("return sessionStorage.getItem('tryon-key');") is None
        assert not driver.find_element("id", "sign-out").is_displayed()
        extra = merchant_call(base, new, "POST", "/keys")[1]["key"]
        sign_in(driver, new)
        wait_for(driver, key_row(extra[:8]))
        assert not driver.find_element("id", "new-key-box").is_displayed()  # the new key was shown once

        # An error from the API is shown as its message: a key revoked elsewhere in the meantime.
        assert merchant_call(base, new, "DELETE", f"/keys/{extra[:8]}")[0] == 200
        driver.find_element("css selector", f"#keys tr[data-prefix='{extra[:8]}'] button").click()
        driver.find_element("css selector", "#keys tr.confirm button.danger").click()
        wait_for(driver, "return document.getElementById('keys-error').textContent.includes('no active key');")
        wait_for(driver, key_row(extra[:8], "revoked"))  # and the list is brought up to date

        # Revoking the key in use warns first, then signs out.
        driver.find_element("css selector", f"#keys tr[data-prefix='{new[:8]}'] button").click()
        confirm = driver.find_element("css selector", "#keys tr.confirm")
        assert "signed out" in confirm.text
        assert driver.execute_script(
            "const s = document.getElementById('keys-section'); return s.scrollWidth <= s.clientWidth;"
        )
        driver.execute_script("arguments[0].scrollIntoView();", section)
        section.screenshot(str(artifacts / "e2e_dashboard_keys_375_confirm.png"))
        confirm.find_element("css selector", "button.danger").click()
        wait_for(driver, "return !document.getElementById('login').hidden;")
        assert "signed out" in driver.find_element("id", "login-notice").text
        assert driver.execute_script("return sessionStorage.getItem('tryon-key');") is None
        assert merchant_call(base, new, "GET", "/me")[0] == 401
        assert merchant_call(base, shop_key, "GET", "/me")[0] == 200
    finally:
        driver.quit()


def test_dashboard_checklist_until_the_embed_works(shop, artifacts):
    """The checklist says what is missing (here: the site the snippet was seen on is not allowed) until
    the try-on can work; the dashboard has no serious accessibility problem (axe-core) and fits a phone."""
    base, key = shop
    seen = urllib.request.Request(
        f"{base}/api/v1/embeddable?merchant=boutique&sku=round-x", headers={"Origin": "https://elsewhere.example"}
    )
    with urllib.request.urlopen(seen) as response:
        assert json.loads(response.read()) == {"ok": False, "reason": "origin_not_allowed"}
    driver = browser()
    try:
        driver.get(f"{base}/dashboard")
        sign_in(driver, key)
        wait_for(driver, "return document.getElementById('check-published').classList.contains('done');")
        assert "done" in driver.find_element("id", "check-origin").get_attribute("class")
        snippet = driver.find_element("id", "check-snippet")
        assert "done" not in snippet.get_attribute("class")
        assert "https://elsewhere.example" in snippet.text and "not allowed" in snippet.text
        driver.find_element("id", "checklist").screenshot(str(artifacts / "e2e_dashboard_checklist.png"))

        violations = axe_violations(driver, axe_source())
        assert not violations, violations

        origins = driver.find_element("id", "origins")
        origins.send_keys("\nhttps://elsewhere.example")
        driver.find_element("css selector", "#origins-form button").click()
        wait_for(driver, "return !document.getElementById('check-live').hidden;")
        assert "https://elsewhere.example" in driver.find_element("id", "check-live").text
        assert "elsewhere.example" in driver.find_element("id", "origins-status").text

        set_viewport(driver, "phone")
        page = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"
        )
        assert page[0] <= page[1], f"the page scrolls sideways on a phone: {page}"
    finally:
        driver.quit()
