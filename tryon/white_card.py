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

The card is held as the card for the PD is (a hotel key card, the blank back of a business card:
the size of a bank card), flat on the forehead, so it is found the same way (tryon.card: its
outline, facing the camera, on the forehead); its colour is the median of its middle (the outline
shrunk by a fifth towards the centre, away from the edges' mixed pixels). It is refused, with what
to do, when it is too bright for the camera (its median in a channel at CLIPPED or more: a clipped
value says nothing of the light; noise and a few clipped pixels do not move the median), when
it is printed or unevenly lit (its middle's 90th luminance percentile over its 10th above
MAX_UNEVEN), or when it is not bright enough for white beside this face (not white, or in shadow:
the lightest skin reflects about 0.55 of what a white card does). Frames are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from tryon.card import read_card
from tryon.lighting import Light, cheek_linear, luminance, to_linear
from tryon.shade import linear_to_lab, skin_reflectance
from tryon.tracking import Face

WHITE_CARD = 0.88  # luminance factor (CIE Y) of white card stock or plastic
MIDDLE = 0.8  # of the card's outline around its centre, measured
CLIPPED = 250  # a channel's median over the middle at this level or above: the camera clipped the card
MAX_UNEVEN = 1.2
MIN_BRIGHTER = 1.45  # the card's luminance over the cheeks', at least


@dataclass(frozen=True)
class WhiteCardReading:
    """What the card said: `found` with the light on it, or the reason it was not taken (for the
    shopper) and a code for the widget's own words (not_found, tilted, off_forehead, too_bright,
    printed, dark). corners: (4, 2) image pixels, clockwise from top left, where a card was seen."""

    found: bool
    reason: str
    code: str = ""
    light: Light | None = None
    corners: np.ndarray | None = None


NOT_FOUND = WhiteCardReading(
    False, "hold a plain white card, the size of a bank card, flat against your forehead", "not_found"
)


def read_white_card(frame_bgr: np.ndarray, face: Face) -> WhiteCardReading:
    """Find a white card on the forehead of `face` in `frame_bgr` (H, W, 3) uint8 and read the light."""
    card = read_card(frame_bgr, face)
    if card.corners is None:
        return NOT_FOUND
    if not card.found:
        return WhiteCardReading(False, card.reason.replace("the card", "the white card"), card.code, None, card.corners)
    cheeks = cheek_linear(frame_bgr, face)
    middle = card.corners.mean(axis=0) + MIDDLE * (card.corners - card.corners.mean(axis=0))
    mask = np.zeros(frame_bgr.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.rint(middle).astype(np.int32)], 1)
    pixels = frame_bgr[mask > 0]
    if cheeks is None or len(pixels) < 20:
        return NOT_FOUND
    if float(np.median(pixels, axis=0).max()) >= CLIPPED:
        return WhiteCardReading(
            False,
            "the card is too bright for the camera: turn a little away from the light",
            "too_bright",
            None,
            card.corners,
        )
    linear = to_linear(pixels[None])[0]
    low, high = np.percentile(luminance(linear), (10, 90))
    if high > MAX_UNEVEN * low:
        return WhiteCardReading(
            False, "use a plain white card, with no print and no shadow on it", "printed", None, card.corners
        )
    colour = np.median(linear, axis=0)
    if float(luminance(colour)) < MIN_BRIGHTER * float(luminance(cheeks)):
        return WhiteCardReading(False, "use a white card, in the same light as your face", "dark", None, card.corners)
    return WhiteCardReading(True, "", "", Light((colour / WHITE_CARD).astype(np.float32)), card.corners)


WHITE_CARD_READINGS = 5
MAX_SPREAD_L = 1.0  # L*: the readings' skin lightness may vary this much (SD), the card held still


@dataclass
class WhiteCardMeasurement:
    """A light calibration in progress over a stream's frames (a tryon.calibration.Measurement): the
    shopper's skin under the reference light, read with each found card's light, until
    WHITE_CARD_READINGS readings agree; `skin` is then their median (linear BGR (3,)). Only those few
    colours are kept, and they go with the session."""

    skins: list[np.ndarray]
    last: WhiteCardReading = NOT_FOUND

    def read(self, frame: np.ndarray, face: Face, iris_pd_mm: float | None = None) -> None:
        reading = read_white_card(frame, face)
        skin = skin_reflectance(frame, face, reading.light) if reading.light is not None else None
        self.last = reading if skin is not None or not reading.found else NOT_FOUND
        if skin is not None:
            self.skins = (self.skins + [skin])[-WHITE_CARD_READINGS:]

    @property
    def skin(self) -> np.ndarray | None:
        """The shopper's skin under the reference light once enough readings agree, else None."""
        if len(self.skins) < WHITE_CARD_READINGS:
            return None
        skins = np.array(self.skins)
        if float(np.std(linear_to_lab(skins)[:, 0])) > MAX_SPREAD_L:
            return None
        return np.median(skins, axis=0).astype(np.float32)

    @property
    def code(self) -> str:
        return self.last.code

    @property
    def found(self) -> int:
        return len(self.skins)

    @property
    def result(self) -> dict[str, float] | None:
        return None if self.skin is None else {}
