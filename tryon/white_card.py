"""Light calibration: a plain white card held on the forehead gives the light's level and colour.

The face alone cannot tell a pale face in dim light from a darker one in bright light: its own
references, the skin and the whites of the eyes, vary between people as much as light does (see
tryon.lighting; on the London faces, all in one light, the shade found that way follows their
recorded skin lightness with a rank correlation of only 0.57). A surface of known reflectance in
the same light removes the doubt, as a card of known size removes the iris's for the scale: white
card stock and white plastic cards reflect about WHITE_CARD of the light at every visible
wavelength (0.85-0.92 between them: about ±1 L* of the skin found), so the card's linear colour
over WHITE_CARD is the light's gains, and the cheeks over those gains are the shopper's skin under
the reference light, the colour foundation shades are defined in (tryon.shade).

The card is held as the card for the PD is (a white hotel key card, the blank back of a business
card: any plain card of about a bank card's size, its proportions within ASPECTS), flat on the
forehead, so it is placed the same way (tryon.card.place_card: its outline, on the forehead); its
colour is the median of its middle (the outline shrunk by a fifth towards the centre, away from
the edges' mixed pixels). It is refused, with what to do (REASONS), when it is too bright for the
camera (its median in a channel at CLIPPED or more: a clipped value says nothing of the light;
noise and a few clipped pixels do not move the median), printed, glaring or shadowed (its middle's
90th luminance percentile over its 10th above MAX_UNEVEN), not bright enough for white beside this
face (not white, or in shadow: the lightest skin reflects about 0.55 of what a white card does; on
a very dark face a light grey card passes), or tinted (a channel off the face's own white balance
estimate by more than MAX_TINT in log: white cards read within 0.15 on the London faces in any of
the test lights, cream ones mostly beyond; an ivory tint is within what the face's estimate can
tell). Frames are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from tryon.card import place_card
from tryon.lighting import Light, cheek_linear, estimate_light, luminance, to_linear
from tryon.shade import linear_to_lab, skin_reflectance
from tryon.tracking import Face

WHITE_CARD = 0.88  # luminance factor (CIE Y) of white card stock or plastic
MIDDLE = 0.8  # of the card's outline around its centre, measured
CLIPPED = 250  # a channel's median over the middle at this level or above: the camera clipped the card
MAX_UNEVEN = 1.2
MIN_BRIGHTER = 1.45  # the card's luminance over the cheeks', at least
MAX_TINT = 0.18  # log units a channel of the card may differ from the face's own white balance, at most
# Width over height: the light needs no scale, so any plain card of about a bank card's size will do,
# from an ID-1 card turned a little away (1.53) to a US business card (88.9 x 50.8 mm, 1.75).
ASPECTS = (1.5, 1.8)

REASONS = {
    "not_found": "hold a plain, matte white card (a hotel key card, a business card's blank back) on your forehead",
    "tilted": "hold the white card flat against your forehead, facing the camera",
    "off_forehead": "hold the white card on your forehead, centred above your eyes",
    "cheeks_hidden": "keep your cheeks in view while you hold the card",
    "too_bright": "the card is too bright for the camera: turn a little away from the light",
    "printed": "use a plain white card, with no print, glare or shadow on it",
    "dark": "use a white card, in the same light as your face",
    "not_white": "use a pure white card: this one looks tinted",
}


@dataclass(frozen=True)
class WhiteCardReading:
    """What the card said: the light on it, or the reason it was not taken (for the shopper) and its
    code for the widget's own words (a key of REASONS). corners: (4, 2) image pixels, clockwise from
    top left, where a card was seen; cheeks: their linear colour (`cheek_linear`) it was compared with."""

    light: Light | None
    code: str = ""
    corners: np.ndarray | None = None
    cheeks: np.ndarray | None = None

    @property
    def found(self) -> bool:
        return self.light is not None

    @property
    def reason(self) -> str:
        return REASONS.get(self.code, "")


NOT_FOUND = WhiteCardReading(None, "not_found")


def read_white_card(frame_bgr: np.ndarray, face: Face) -> WhiteCardReading:
    """Find a white card on the forehead of `face` in `frame_bgr` (H, W, 3) uint8 and read the light."""
    corners, code = place_card(frame_bgr, face, ASPECTS)
    if corners is None or code:
        return WhiteCardReading(None, code, corners)
    cheeks = cheek_linear(frame_bgr, face)
    if cheeks is None:
        return WhiteCardReading(None, "cheeks_hidden", corners)
    centre = corners.mean(axis=0)
    mask = np.zeros(frame_bgr.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.rint(centre + MIDDLE * (corners - centre)).astype(np.int32)], 1)
    pixels = frame_bgr[mask > 0]
    if len(pixels) < 20:
        return WhiteCardReading(None, "not_found", corners)
    if float(np.median(pixels, axis=0).max()) >= CLIPPED:
        return WhiteCardReading(None, "too_bright", corners)
    linear = to_linear(pixels[None])[0]
    low, high = np.percentile(luminance(linear), (10, 90))
    if high > MAX_UNEVEN * low:
        return WhiteCardReading(None, "printed", corners)
    colour = np.maximum(np.median(linear, axis=0), 1e-4)
    if float(luminance(colour)) < MIN_BRIGHTER * float(luminance(cheeks)):
        return WhiteCardReading(None, "dark", corners)
    tint = np.log(colour) - np.log(estimate_light(frame_bgr, face).gains)
    if float(np.abs(tint - tint.mean()).max()) > MAX_TINT:
        return WhiteCardReading(None, "not_white", corners)
    return WhiteCardReading(Light((colour / WHITE_CARD).astype(np.float32)), "", corners, cheeks)


WHITE_CARD_READINGS = 5
MAX_SPREAD_L = 1.0  # L*: the readings' skin lightness may vary this much (SD), the card held still


@dataclass
class WhiteCardMeasurement:
    """A light calibration in progress over a stream's frames (a tryon.calibration.Measurement):
    readings of the shopper's skin under the reference light, with each found card's light, until
    WHITE_CARD_READINGS of them agree. Only those few colours are kept, and they go with the session.

    Each reading holds the skin twice, as the two readers of it measure the cheeks: the shade
    finder's cheek patches (tryon.shade.skin_reflectance) and the light's trimmed cheek mean
    (tryon.lighting.cheek_linear), so that the light read against it later is exact.
    """

    readings: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (skin, light's reference)
    last: WhiteCardReading = NOT_FOUND
    measured: tuple[np.ndarray, np.ndarray] | None = None  # their medians, once they agree

    def read(self, frame: np.ndarray, face: Face, iris_pd_mm: float | None = None) -> None:
        reading = read_white_card(frame, face)
        self.last = reading
        if reading.light is None or reading.cheeks is None:
            return
        skin = skin_reflectance(frame, face, reading.light)
        if skin is None:
            self.last = WhiteCardReading(None, "cheeks_hidden", reading.corners)
            return
        self.readings = (self.readings + [(skin, reading.light.reflectance(reading.cheeks))])[-WHITE_CARD_READINGS:]
        skins = np.array([skin for skin, _ in self.readings])
        if len(self.readings) == WHITE_CARD_READINGS and float(np.std(linear_to_lab(skins)[:, 0])) <= MAX_SPREAD_L:
            references = np.array([reference for _, reference in self.readings])
            self.measured = (np.median(skins, axis=0), np.median(references, axis=0))

    @property
    def code(self) -> str:
        return self.last.code

    @property
    def kept(self) -> int:
        return len(self.readings)

    @property
    def result(self) -> dict[str, float] | None:
        return None if self.measured is None else {}
