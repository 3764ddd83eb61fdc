"""The shade finder: the same shade in any light, shades that follow the skin and vanish when worn,
the demo range, and merchants' range uploads (CSV, JSON)."""

import json

import numpy as np
import pytest

from tests.conftest import NEUTRAL_FACES, load_face
from tests.support.conditions import LIGHTS, relight
from tests.support.shades import cheek_delta_e, same_or_adjacent, spearman
from tryon.errors import ProductError
from tryon.lighting import REFERENCE_LIGHT
from tryon.makeup import parse_makeup
from tryon.makeup.color import lab_to_bgr8
from tryon.shade import (
    ShadeSpec,
    catalog_shades,
    closest_shade,
    find_shade,
    parse_shade_range,
    shade_products,
    undertone,
)


@pytest.fixture(scope="module")
def shades(catalog):
    return catalog_shades(catalog)


@pytest.fixture(scope="module")
def tracked(still_tracker):
    """(name, light) -> (photo, face) for the neutral studio faces, as shot and relit."""
    photos = {}
    for name in NEUTRAL_FACES:
        studio = load_face(name)
        for light, photo in [("studio", studio)] + [(light, relight(studio, g)) for light, g in LIGHTS.items()]:
            photos[name, light] = (photo, still_tracker.detect(photo).primary)
    return photos


@pytest.fixture(scope="module")
def found(tracked, shades):
    return {key: find_shade(photo, face, shades) for key, (photo, face) in tracked.items()}


def test_the_demo_range_runs_from_fair_to_deep_in_three_undertones(catalog, shades):
    demo = [shade for shade in shades if shade.name[:3].isdigit()]
    assert len(demo) >= 15
    lightness = [float(shade.lab[0]) for shade in demo]
    assert max(lightness) > 74 and min(lightness) < 36
    for shade in demo:  # "110 Porcelain (cool)": the label is what the finder calls the colour
        assert shade.name.endswith(f"({undertone(shade.lab)})"), shade
    assert {undertone(shade.lab) for shade in demo} == {"cool", "neutral", "warm"}
    assert {"foundation-light", "foundation-medium", "foundation-deep"} <= {shade.sku for shade in shades}
    assert catalog.swatch("foundation-110-porcelain") == "#d6b4aa"


def test_relit_faces_get_the_same_or_an_adjacent_shade(found):
    pairs = [(name, light) for name in NEUTRAL_FACES for light in LIGHTS]
    steady = [same_or_adjacent(found[name, "studio"], found[name, light]) for name, light in pairs]
    assert np.mean(steady) >= 0.9, [pair for pair, ok in zip(pairs, steady, strict=True) if not ok]


def test_the_shade_follows_the_skin_the_finder_reads(found):
    studio = [found[name, "studio"] for name in NEUTRAL_FACES]
    assert spearman([m.match.lab[0] for m in studio], [m.skin_lab[0] for m in studio]) >= 0.8
    deep = found["061_neutral.jpg", "studio"].match.lab[0]
    assert all(deep < m.match.lab[0] - 10 for m in studio if m is not found["061_neutral.jpg", "studio"])


@pytest.mark.xfail(strict=True, reason="from the face alone the light is estimated partly from its skin (issue 9)")
def test_the_shade_follows_the_skin_lightness_the_studio_photo_records(tracked, found, shades):
    """The London photos share one studio light, so their recorded skin is their reflectance; from
    the face alone the light model reads pale faces as brightly lit and darker ones as dimly lit
    (gains 0.7-1.4): Spearman 0.57. With a white card on the forehead it is 0.99 (test_white_card.py)."""
    recorded = [find_shade(*tracked[name, "studio"], shades, light=REFERENCE_LIGHT) for name in NEUTRAL_FACES]
    chosen = [found[name, "studio"].match.lab[0] for name in NEUTRAL_FACES]
    assert spearman(chosen, [m.skin_lab[0] for m in recorded]) >= 0.8


def test_the_found_shade_vanishes_when_worn_and_a_wrong_one_shows(tracked, found, catalog, shades):
    worn = {
        name: cheek_delta_e(*tracked[name, "studio"], catalog.get(found[name, "studio"].match.sku))
        for name in NEUTRAL_FACES
    }
    assert max(worn.values()) < 4.0, worn
    darkest = min(shades, key=lambda shade: shade.lab[0])
    assert cheek_delta_e(*tracked["009_neutral.jpg", "studio"], catalog.get(darkest.sku)) > 8.0


def test_the_match_names_its_lighter_and_darker_neighbours():
    def shade(sku, lab):
        bgr = lab_to_bgr8(np.array([lab], np.float32))[0]
        return ShadeSpec(sku, sku, "#" + "".join(f"{int(round(v)):02x}" for v in bgr[::-1]))

    grid = [shade("pale", (75, 9, 12)), shade("light", (66, 10, 13)), shade("light-warm", (66, 6, 16))]
    grid += [shade("medium", (57, 11, 14)), shade("deep", (35, 11, 15))]
    match = closest_shade(np.array([65.0, 10.5, 12.5]), grid)
    assert (match.match.sku, match.lighter.sku, match.darker.sku) == ("light", "pale", "medium")
    assert match.undertone == "neutral" and match.distance < 2
    assert closest_shade(np.array([30.0, 11, 15]), grid).darker is None
    assert closest_shade(np.array([80.0, 8, 10]), grid).lighter is None
    assert undertone(np.array([60.0, 14, 9])) == "cool" and undertone(np.array([60.0, 6, 17])) == "warm"


def test_no_skin_or_no_shades_finds_nothing(tracked, shades):
    photo, face = tracked["009_neutral.jpg", "studio"]
    assert find_shade(np.zeros_like(photo), face, shades) is None
    assert find_shade(photo, face, []) is None


RANGE_CSV = """sku,name,colour,coverage
fm-110,110 Porcelain (cool),#d6b4aa,0.5
fm-220, 220 Natural Beige (neutral) ,#AF8F80,

fm-360,"360 Espresso, deep (warm)",#654b36,0.3
"""


def test_a_range_uploads_as_csv_or_json():
    shades = parse_shade_range(RANGE_CSV, "csv")
    assert [(s.sku, s.name, s.colour, s.coverage) for s in shades] == [
        ("fm-110", "110 Porcelain (cool)", "#d6b4aa", 0.5),
        ("fm-220", "220 Natural Beige (neutral)", "#AF8F80", 0.45),
        ("fm-360", "360 Espresso, deep (warm)", "#654b36", 0.3),
    ]
    items = [{"sku": s.sku, "name": s.name, "colour": s.colour, "coverage": s.coverage} for s in shades]
    assert parse_shade_range(json.dumps(items), "json") == shades
    assert parse_shade_range(json.dumps({"shades": items}), "json") == shades
    bodies = shade_products(shades)
    assert [body["sku"] for body in bodies] == ["fm-110", "fm-220", "fm-360"]
    for body in bodies:
        assert body["kind"] == "foundation" and body["published"] is False
        assert parse_makeup(body["spec"]).model_dump() == body["spec"]


def test_a_bad_range_names_every_bad_line():
    text = "sku,name,colour\nfm 1,a,#d6b4aa\nfm-2,b,#12345\nfm-3,c,#d6b4aa,0.5\n"
    text += "fm-5,d,#d6b4aa\nfm-5,e,#d6b4aa\nfm-7,f,#d6b4aa\n"
    with pytest.raises(ProductError) as error:
        parse_shade_range(text, "csv")
    message = str(error.value)
    for expected in (
        "line 2: sku 'fm 1'",
        "line 3: colour '#12345'",
        "line 4: more values",
        "line 6: sku 'fm-5' appears twice",
    ):
        assert expected in message
    assert "line 5" not in message and "line 7" not in message
    with pytest.raises(ProductError, match="line 1: the header"):
        parse_shade_range("sku,name,tint\n", "csv")
    items = '[{"sku": "a", "colour": "#aaaaaa", "coverage": 3}, 5, {"sku": "b", "colour": "#aaaaaa", "tint": 1}]'
    with pytest.raises(ProductError) as error:
        parse_shade_range(items, "json")
    assert str(error.value).endswith(
        "item 1: coverage 3.0 is not between 0 and 1; item 2: expected an object with sku, name and colour; "
        "item 3: unknown field 'tint'"
    )
    for empty, format in (("sku,name,colour\n", "csv"), ("[]", "json")):
        with pytest.raises(ProductError, match="no shades"):
            parse_shade_range(empty, format)
    with pytest.raises(ProductError, match="not JSON"):
        parse_shade_range("{", "json")


def test_a_live_session_reports_the_shoppers_shade(catalog, shades, model_path):
    """The stream tells the widget the matching foundation (and its neighbours) from the bare frames,
    the same shade the finder gives on the photo or an adjacent one; none while no face is in view."""
    import cv2

    from tryon.shade import find_shade
    from tryon.tracking import FaceTracker
    from tryon.web.session import StreamSession

    photo = load_face("061_neutral.jpg")
    rng = np.random.default_rng(0)
    session = StreamSession(catalog, model_path, ["round"], partial=True)
    try:
        blank = cv2.imencode(".jpg", np.full((480, 640, 3), 90, np.uint8))[1].tobytes()
        assert session.process(blank, 0).status["shade"] is None
        for frame_id in range(1, 25):
            noisy = np.clip(photo + rng.normal(0, 2, photo.shape), 0, 255).astype(np.uint8)
            status = session.process(cv2.imencode(".jpg", noisy)[1].tobytes(), frame_id).status
    finally:
        session.close()
    shade = status["shade"]
    assert set(shade) == {"sku", "name", "undertone", "lighter", "darker", "method"}
    with FaceTracker(model_path) as tracker:
        still = find_shade(photo, tracker.detect(photo).primary, shades)
    assert still is not None
    assert shade["sku"] in {s.sku for s in (still.match, still.lighter, still.darker) if s}
