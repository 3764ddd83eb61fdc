"""Card calibration on composites: an ID-1 card drawn on the forehead of the shared faces at the scale
their hand-placed irises give, at three image sizes and rolled, with realistic edges, light, noise
and JPEG; cards turned away from the camera or away from the forehead are refused."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import load_face
from tests.support.cards import hand_placed, on_forehead
from tests.support.compose import held_still
from tryon.card import read_card
from tryon.fit import IRIS_DIAMETER_MM

FACES_TRIED = ("001_neutral.jpg", "009_neutral.jpg", "092_neutral.jpg", "124_neutral.jpg")


def composite(still_tracker, name: str, size: float, **card) -> tuple[np.ndarray, float]:
    return on_forehead(still_tracker, name, size, **card), hand_placed(name)[0]


def test_a_card_on_the_forehead_gives_the_pd(still_tracker):
    """On single frames (4 faces, 3 image sizes, the card rolled -10, 0 and +10 degrees from the eye
    line) a card is found on at least 90% of them; each found card's scale is that of the composite
    within 0.5% (the finder's own error: 0.1% SD), and the PD the hand-placed one within 1 mm (most of
    the difference is where the pupils are placed, tryon.limbus against the hand)."""
    errors, scales, tried = [], [], 0
    for name in FACES_TRIED:
        diameter = hand_placed(name)[1]
        for size in (0.7, 1.0, 1.5):
            for roll in (-10.0, 0.0, 10.0):
                image, pd_mm = composite(still_tracker, name, size, roll_degrees=roll, seed=tried)
                tried += 1
                reading = read_card(image, still_tracker.detect(image).primary)
                if reading.found:
                    errors.append(reading.pd_mm - pd_mm)
                    scales.append(reading.mm_per_px * diameter * size / IRIS_DIAMETER_MM - 1.0)
    assert len(errors) >= 0.9 * tried, len(errors)
    assert np.max(np.abs(scales)) < 0.005, np.round(scales, 4)
    assert np.mean(np.abs(errors)) < 0.6 and np.max(np.abs(errors)) < 1.0, np.round(errors, 2)


@pytest.mark.parametrize(
    ("card", "told"),
    [({}, ""), ({"tilt_degrees": 20.0}, "facing the camera"), ({"above_eye_distances": 3.2}, "above your eyes")],
)
def test_a_card_turned_away_or_off_the_forehead_is_refused(still_tracker, card, told):
    """Flat on the forehead the card is read; tilted 20 degrees away from the camera (foreshortened
    beyond 15), or up in the hair, no scale is taken, and the shopper is told how to hold it."""
    image, _ = composite(still_tracker, "092_neutral.jpg", 1.0, **card)
    reading = read_card(image, still_tracker.detect(image).primary)
    assert reading.found == (not told) and told in reading.reason


def test_a_card_held_out_in_front_is_refused(still_tracker):
    """Held 10 cm in front of the face the card looks a third larger: its PD disagrees with the iris's."""
    image, pd_mm = composite(still_tracker, "009_neutral.jpg", 1.0)
    face = still_tracker.detect(image).primary
    assert read_card(image, face, iris_pd_mm=pd_mm).found
    assert "not in front" in read_card(image, face, iris_pd_mm=pd_mm * 1.3).reason


def test_a_live_session_measures_the_pd_with_a_card(still_tracker, catalog, model_path, monkeypatch):
    """Asked to, a stream looks for the card frame after frame; once five readings agree its PD is
    the card's (method "card", accuracy under a millimetre); without a card it says so, then gives up."""
    import tryon.calibration
    from tryon.web.session import StreamSession

    image, pd_mm = composite(still_tracker, "009_neutral.jpg", 1.0)
    session = StreamSession(catalog, model_path, ["round"], partial=True)
    try:
        session.measure_with_card()
        for frame_id, jpeg in enumerate(held_still(image, 16, seed=1)):
            status = session.process(jpeg, frame_id).status
        assert status["card"]["state"] == "measured", status["card"]
        assert status["fit"]["method"] == "card" and abs(status["fit"]["pd_mm"] - pd_mm) < 1.0
        monkeypatch.setattr(tryon.calibration, "CALIBRATION_FRAMES", 6)
        bare = cv2.imencode(".jpg", load_face("009_neutral.jpg"))[1].tobytes()
        session.measure_with_card()
        first = session.process(bare, 100).status["card"]
        assert first["state"] == "looking" and first["code"] == "not_found"
        for frame_id in range(101, 108):
            last = session.process(bare, frame_id).status["card"]
        assert last["state"] == "gave_up"
    finally:
        session.close()
