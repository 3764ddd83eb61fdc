"""The advisor in the widget (Chromium, a still face as the webcam): the matching foundation offered
in the face products, tried with one tap; the glasses that fit marked."""

from __future__ import annotations

from tests.browser import browser, requires_browser, wait_for
from tests.conftest import load_face
from tests.support.motion import fit_to_canvas, write_y4m
from tests.support.server import local_server
from tryon.model_file import resolve_model_path

pytestmark = requires_browser


def test_your_shade_is_offered_and_tried_with_one_tap(tmp_path):
    camera = tmp_path / "still.y4m"
    write_y4m(str(camera), [fit_to_canvas(load_face("061_neutral.jpg"))] * 10)
    with local_server({"TRYON_MODEL_PATH": str(resolve_model_path())}) as (base, _pid):
        driver = browser(camera)
        try:
            driver.get(f"{base}/embed/round")
            wait_for(
                driver, "const s = window.tryonWidget && window.tryonWidget.stats; return s && s.received > 20;", 60
            )
            driver.find_element("id", "tab-face").click()
            shade = wait_for(
                driver,
                "const s = document.getElementById('shade'); return !s.hidden && s.getClientRects().length > 0"
                " && document.getElementById('shade-try').dataset.sku;",
            )
            assert "Your match" in driver.find_element("id", "shade-text").text
            driver.find_element("id", "shade-try").click()
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
