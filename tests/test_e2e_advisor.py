"""The advisor in the widget (Chromium, a still face as the webcam): the matching foundation offered
in the face products, tried with one tap; the glasses that fit marked."""

from __future__ import annotations

import time

import cv2

from tests.browser import browser, requires_browser, wait_for
from tests.conftest import load_face
from tests.support.motion import fit_to_canvas, write_y4m
from tests.support.server import local_server
from tryon.model_file import resolve_model_path

pytestmark = requires_browser


def open_face_products(driver, base: str) -> None:
    """The round glasses' try-on, streaming, with the face products open and the shade offered."""
    driver.get(f"{base}/embed/round")
    wait_for(driver, "const s = window.tryonWidget && window.tryonWidget.stats; return s && s.received > 20;", 60)
    driver.find_element("id", "tab-face").click()
    wait_for(driver, "const s = document.getElementById('shade'); return !s.hidden && s.getClientRects().length > 0;")


def test_your_shade_is_offered_and_tried_with_one_tap(tmp_path):
    camera = tmp_path / "still.y4m"
    write_y4m(str(camera), [fit_to_canvas(load_face("061_neutral.jpg"))] * 10)
    with local_server({"TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _pid):
        driver = browser(camera)
        try:
            open_face_products(driver, base)
            assert "Your match" in driver.find_element("id", "shade-text").text
            shade = driver.execute_script(
                "const b = document.getElementById('shade-try'); const sku = b.dataset.sku; b.click(); return sku;"
            )
            wait_for(
                driver,
                "const chip = document.querySelector(`.chip[data-sku='${arguments[0]}']`);"
                " return chip.getAttribute('aria-pressed') === 'true';",
                args=(shade,),
            )
            # The glasses that fit this measured face are marked in the glasses row.
            driver.find_element("id", "tab-glasses").click()
            wait_for(driver, "return document.querySelectorAll('#panel-glasses .chip.fits').length > 0;")
        finally:
            driver.quit()


def test_the_pd_is_measured_with_a_card_in_the_widget(tmp_path, still_tracker):
    """The widget's card flow: "Measure with a card", a card held on the forehead (a composite at the
    scale the hand-placed irises give), the PD then stated as measured with the card."""
    from tests.test_card import composite

    image, pd_mm = composite(still_tracker, "009_neutral.jpg", 1.0)
    camera = tmp_path / "card.y4m"
    write_y4m(str(camera), [cv2.resize(fit_to_canvas(image), (1280, 960), interpolation=cv2.INTER_CUBIC)] * 10)
    with local_server({"TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _pid):
        driver = browser(camera)
        try:
            driver.get(f"{base}/embed/round")
            wait_for(driver, "return !document.getElementById('size').hidden;", 60)
            driver.find_element("id", "card-measure").click()
            wait_for(
                driver,
                "return document.getElementById('card-hint').textContent.includes('Measured with your card');",
                30,
            )
            assert "card of known size" in driver.find_element("id", "size-statement").text
            shown = driver.execute_script("return window.tryonWidget.stats.lastStatus.fit.pd_mm")
            assert abs(shown - pd_mm) < 2.0, (shown, pd_mm)
        finally:
            driver.quit()


def test_the_shade_is_matched_in_the_shoppers_light_with_a_white_card(tmp_path, still_tracker, catalog, artifacts):
    """The widget's white card flow: "Improve my match with a white card", a plain white card held
    on the forehead (a composite lit by the studio light), then the shade offered is the one that
    card's light gives, stated as corrected for the light."""
    from tests.support.cards import on_forehead
    from tryon.shade import catalog_shades, find_shade
    from tryon.white_card import WHITE_CARD, read_white_card

    image = cv2.resize(
        fit_to_canvas(on_forehead(still_tracker, "061_neutral.jpg", white=WHITE_CARD)),
        (1280, 960),
        interpolation=cv2.INTER_CUBIC,
    )
    face = still_tracker.detect(image).primary
    expected = find_shade(image, face, catalog_shades(catalog), read_white_card(image, face).light)
    camera = tmp_path / "white-card.y4m"
    write_y4m(str(camera), [image] * 10)
    with local_server({"TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _pid):
        driver = browser(camera)
        try:
            open_face_products(driver, base)
            driver.find_element("id", "white-card-measure").click()
            wait_for(
                driver,
                "return document.getElementById('white-card-hint').textContent.includes('Light measured');",
                30,
            )
            wait_for(
                driver,
                "return document.getElementById('shade-text').textContent.includes('corrected for your lighting');",
            )
            shown = driver.execute_script("return document.getElementById('shade-try').dataset.sku")
            assert shown == expected.match.sku, (shown, expected.match.sku)
            driver.find_element("id", "shade-try").click()  # the match, worn: it all but disappears
            wait_for(driver, "return window.tryonWidget.stats.received > 0;")
            time.sleep(1.0)
            driver.execute_script("document.getElementById('white-card-hint').scrollIntoView({block: 'nearest'});")
            driver.save_screenshot(str(artifacts / "e2e_white_card.png"))
        finally:
            driver.quit()
