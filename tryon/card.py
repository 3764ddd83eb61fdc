"""Card calibration: a bank or loyalty card held flat on the forehead gives the millimetre scale.

Every such card is an ISO/IEC 7810 ID-1 card, 85.60 x 53.98 mm with rounded corners, so once its
outline is found in the frame the PD no longer rests on the iris size (which varies by about
±0.5 mm between adults, ±3 mm of PD): good phone apps measure within about 0.5 mm this way.

The outline is found without needing a closed contour (a card's edge against hair of much its
own colour breaks any contour): a search over the region above the eyes, at about 24 px per eye
distance, at each of a few rolls from the eye line and card widths, scores every rectangle of a
card's proportions by the share of each side's pixels that are edges running that way; the best
few are looked at closer (twice the scale, finer rolls and widths, a card foreshortened by a tilt
too), then each side is fitted to the full-resolution frame: the edges across it at points along
its middle, placed to a fraction of a pixel, the straight line most of them vote for, refined by
least squares. The widest rectangle whose sides the edges follow is the card, and its width follows
from the corners its sides meet at. A card turned away from the camera (its proportions off by
more than MAX_TILT_DEGREES of foreshortening) or not on the forehead is refused with what to do
instead. The card lies about CARD_DEPTH_MM in front of the irises, so the scale is carried back to
the irises' plane with the camera distance it implies. Frames are never stored.

On composites of the London faces (tests/support/cards.py: 13 faces, three image sizes, rolled
0/±10°, four noise seeds, 468 frames) a card is found on 97% of single frames, its width within
0.09% (SD; worst 0.5%); the PD then differs from the hand-placed one by +0.3 ± 0.4 mm, most of it
where the pupils are placed (tryon.limbus against the hand), not the card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tryon.limbus import limbus_pair
from tryon.tracking import Face

CARD_WIDTH_MM, CARD_HEIGHT_MM = 85.60, 53.98
CARD_ASPECT = CARD_WIDTH_MM / CARD_HEIGHT_MM
CARD_CORNER_MM = 3.18
CARD_DEPTH_MM = 10.0  # a card flat on the forehead, in front of the irises' plane (the corneas, the brow ridge)
MAX_TILT_DEGREES = 15.0
CARD_ASPECTS = (  # the width over height an ID-1 card shows, facing the camera within MAX_TILT_DEGREES
    CARD_ASPECT * math.cos(math.radians(MAX_TILT_DEGREES)),
    CARD_ASPECT / math.cos(math.radians(MAX_TILT_DEGREES)),
)
MAX_IRIS_DISAGREEMENT = 0.12  # iris size varies about 4% (1 SD) between adults: 3 SD
CARD_PER_EYE_DISTANCE = (0.95, 2.0)  # card width over the eye distance, in pixels (63 mm PD: 1.36)
SEARCH_REGION = ((-1.8, 1.8), (-2.8, -0.3))  # eye distances from the eyes' midpoint: along them, down the face
CLOSER_PX = 48.0  # pixels per eye distance of the closer look; the search is at half that (a card 23-48 px wide)
SEARCH_ROLLS = np.array([0.0, -5.0, 5.0, -10.0, 10.0, -15.0, 15.0])  # degrees from the eye line (ties: the first)
SEARCH_WIDTHS = 8  # card widths searched, evenly on a log scale over CARD_PER_EYE_DISTANCE
SEARCH_SHORTENING = 0.97  # of a card's height searched: flat or tilted, its edges spread a pixel either way
CANDIDATES = 3  # the search's best rectangles, each looked at closer
CLOSER_ROLLS = np.array([0.0, -2.5, 2.5])  # degrees, around a candidate's roll
CLOSER_WIDTHS = np.array([1.0, 0.95, 1.05, 0.9, 1.1])  # of a candidate's width
CLOSER_SHORTENINGS = np.array([1.0, 0.91])  # of a card's height: flat, tilted 24 degrees away from the camera
CLOSER_MARGIN = 0.15  # eye distances a candidate's sides may move
MIN_SCORE = 2.5  # of a rectangle in the searches (its sides' shares of edges and twice the least), for a card
EDGE_STEP = 16.0  # the least colour change (3x3 Sobel, all channels) that makes an edge pixel in the searches
SIDE_SAMPLES = 32  # edge points along each side, in the fit
STEP_FLOOR = 12.0  # the least colour difference (BGR levels) across an edge point of the card's outline
FIT_TURNS = np.linspace(-3.0, 3.0, 9)  # degrees a side may turn in the fit (the closer look steps by 2.5)
MIN_SUPPORT = 0.5  # of the samples with an edge on its line, on the two sides with fewest, for a card
_LUMA = np.array([0.114, 0.587, 0.299])  # BGR
LUMA_CHROMA = np.vstack([_LUMA, 0.5 * (np.eye(3)[[2, 0]] - _LUMA)]).astype(np.float32)  # brightness, red and blue: half


@dataclass(frozen=True)
class CardReading:
    """What the card said: `found` with the scale at the irises' plane and the PD it gives, or the
    reason it was not taken (for the shopper). corners: (4, 2) image pixels, clockwise from top left."""

    found: bool
    reason: str
    code: str = ""  # the reason for the widget's own words: not_found, tilted, off_forehead, in_front
    mm_per_px: float = 0.0
    pd_mm: float = 0.0
    corners: np.ndarray | None = None


REASONS = {
    "not_found": "hold a bank or loyalty card flat against your forehead, above your eyes",
    "tilted": "hold the card flat against your forehead, facing the camera",
    "off_forehead": "hold the card on your forehead, centred above your eyes",
    "in_front": "hold the card flat against your forehead, not in front of your face",
}
NOT_FOUND = CardReading(False, REASONS["not_found"], "not_found")


def read_card(frame_bgr: np.ndarray, face: Face, iris_pd_mm: float | None = None) -> CardReading:
    """Find a card on the forehead of `face` in `frame_bgr` (H, W, 3) uint8 and take the scale from it.

    iris_pd_mm: the PD the iris gives (tryon.fit); a card whose PD differs from it by more than the
    iris's own uncertainty allows (MAX_IRIS_DISAGREEMENT) is not in the eyes' plane (held out in
    front of the face, or behind the head) and is refused.
    """
    corners, code = place_card(frame_bgr, face)
    if corners is None:
        return NOT_FOUND
    if code:
        return CardReading(False, REASONS[code], code, corners=corners)
    eyes = face.iris_centres
    mm_per_px_card = CARD_WIDTH_MM / _card_size(corners)[0]
    distance_mm = face.camera.focal_px * mm_per_px_card  # the card's distance from the camera
    mm_per_px = mm_per_px_card * (distance_mm + CARD_DEPTH_MM) / distance_mm
    pair = limbus_pair(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY), face)  # the pupils where they are
    pupils_px = (
        float(np.linalg.norm(pair[0].centre - pair[1].centre))
        if pair is not None
        else float(np.linalg.norm(eyes[1] - eyes[0]))
    )
    pd_mm = pupils_px * mm_per_px
    if iris_pd_mm is not None and abs(pd_mm / iris_pd_mm - 1.0) > MAX_IRIS_DISAGREEMENT:
        return CardReading(False, REASONS["in_front"], "in_front", corners=corners)
    return CardReading(True, "", "", mm_per_px, pd_mm, corners)


def place_card(
    frame_bgr: np.ndarray, face: Face, aspects: tuple[float, float] = CARD_ASPECTS
) -> tuple[np.ndarray | None, str]:
    """The corners (4, 2) of a card on the forehead of `face` in `frame_bgr`, clockwise from top
    left (None: no card found), and why it cannot be used as held: "" (it can), "tilted" (its width
    over its height outside `aspects`; by default an ID-1 card's, foreshortened by MAX_TILT_DEGREES
    at most: turned away from the camera) or "off_forehead" (not centred above the eyes)."""
    eyes = face.iris_centres
    eye_distance = float(np.linalg.norm(eyes[1] - eyes[0]))
    middle = eyes.mean(axis=0)
    corners = _find_card(frame_bgr, eyes)
    if corners is None:
        return None, "not_found"
    width_px, height_px = _card_size(corners)
    if not aspects[0] <= width_px / height_px <= aspects[1]:
        return corners, "tilted"
    centre = corners.mean(axis=0)
    above = float(np.dot(centre - middle, _up_normal(eyes)))  # how far above the eye line, along the face
    sideways = float(abs(np.dot(centre - middle, (eyes[1] - eyes[0]) / eye_distance)))
    if not 0.3 * eye_distance <= above <= 2.2 * eye_distance or sideways > 0.6 * eye_distance:
        return corners, "off_forehead"
    return corners, ""


def _card_size(corners: np.ndarray) -> tuple[float, float]:
    """(width, height) in pixels of a card's corners (4, 2): the means of its opposite sides."""
    width = float(np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2.0
    height = float(np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2.0
    return width, height


def _up_normal(eyes: np.ndarray) -> np.ndarray:
    """The unit vector from the eye line up the face (image y grows downwards)."""
    along = (eyes[1] - eyes[0]) / max(float(np.linalg.norm(eyes[1] - eyes[0])), 1e-9)
    normal = np.array([along[1], -along[0]])
    return normal if normal[1] < 0 else -normal


def _find_card(frame_bgr: np.ndarray, eyes: np.ndarray) -> np.ndarray | None:
    """The corners (4, 2) of the card on the forehead, clockwise from top left, or None.

    The search over the region above the eyes (the frame shrunk to CLOSER_PX / 2 pixels per eye
    distance, which also smooths hair's fine texture away) gives the few rectangles most like a
    card; the widest first, each scoring MIN_SCORE is looked at closer (at twice the scale, over a
    few degrees, percent of width, and a tilt's shortening), then fitted to the frame's edges: the
    first whose sides the edges follow well enough (MIN_SUPPORT) is the card. Widest first, as a
    printed box or the chip's edge on the card can make a smaller rectangle with two of its sides,
    never a larger one.
    """
    eye_distance = float(np.linalg.norm(eyes[1] - eyes[0]))
    middle = eyes.mean(axis=0)
    eye_roll = math.atan2(eyes[1, 1] - eyes[0, 1], eyes[1, 0] - eyes[0, 0])
    (left, right), (top, bottom) = SEARCH_REGION
    region = ((left * eye_distance, right * eye_distance), (top * eye_distance, bottom * eye_distance))
    outline = np.array([[left, top], [right, top], [right, bottom], [left, bottom]]) * eye_distance
    turned = [  # the region at any roll searched
        outline @ _turn(eye_roll + math.radians(roll)).T for roll in (SEARCH_ROLLS.min(), 0.0, SEARCH_ROLLS.max())
    ]
    margin = CLOSER_MARGIN * eye_distance
    low = np.floor(middle + np.min(turned, axis=(0, 1)) - margin).astype(int)
    high = np.ceil(middle + np.max(turned, axis=(0, 1)) + margin).astype(int)
    (x0, y0), (x1, y1) = np.maximum(low, 0), np.minimum(high, (frame_bgr.shape[1], frame_bgr.shape[0]))
    scale = min(CLOSER_PX / eye_distance, 1.0)
    if min(x1 - x0, y1 - y0) * scale < 16:
        return None
    closer_image = cv2.resize(frame_bgr[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    search_image = cv2.resize(closer_image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    closer = _Scaled(cv2.GaussianBlur(closer_image.astype(np.float32), (0, 0), 0.7), scale, (int(x0), int(y0)))
    search = _Scaled(cv2.GaussianBlur(search_image.astype(np.float32), (0, 0), 0.7), scale / 2.0, (int(x0), int(y0)))
    widths = eye_distance * np.geomspace(*CARD_PER_EYE_DISTANCE, SEARCH_WIDTHS)
    rolls = eye_roll + np.radians(SEARCH_ROLLS)
    candidates = _rectangles(search, middle, region, rolls, widths, np.array([SEARCH_SHORTENING]), CANDIDATES)
    for score, centre, roll, width, height in sorted(candidates, key=lambda candidate: -candidate[3]):
        if score < MIN_SCORE:
            continue
        half_w, half_h = width / 2.0 + margin, height / 2.0 + margin
        looked = _rectangles(
            closer,
            centre,
            ((-half_w, half_w), (-half_h, half_h)),
            roll + np.radians(CLOSER_ROLLS),
            width * CLOSER_WIDTHS,
            CLOSER_SHORTENINGS,
            1,
        )
        if looked and looked[0][0] >= MIN_SCORE:
            corners, support = _fitted_to_edges(frame_bgr, _corners(*looked[0][1:]), 1.5 / scale + 1.0)
            if support >= MIN_SUPPORT:
                return corners
    return None


@dataclass(frozen=True)
class _Scaled:
    """Part of a frame, shrunk and smoothed: `image` (float32) holds the frame from `corner` (x, y) on,
    at `scale` of its size."""

    image: np.ndarray
    scale: float
    corner: tuple[int, int]

    def at(self, point: np.ndarray) -> np.ndarray:
        """A frame point's place in `image` (pixel centres on pixel centres)."""
        return self.scale * (point - self.corner + 0.5) - 0.5


def _turn(angle: float) -> np.ndarray:
    return np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])


def _corners(centre: np.ndarray, roll: float, width: float, height: float) -> np.ndarray:
    """A rectangle's corners (4, 2), clockwise from top left: centred on `centre`, rolled `roll`."""
    half = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]) * (width / 2.0, height / 2.0)
    return centre + half @ _turn(roll).T


def _rectangles(
    scaled: _Scaled,
    centre: np.ndarray,
    region: tuple[tuple[float, float], tuple[float, float]],
    rolls: np.ndarray,
    widths: np.ndarray,
    shortenings: np.ndarray,
    count: int,
) -> list[tuple[float, np.ndarray, float, float, float]]:
    """Up to `count` rectangles like a card, (score, centre, roll, width, height) in frame pixels, best
    first and apart: where edges run along all four sides, at each of `rolls` (radians), `widths`
    (frame pixels) and height (a card's for the width, times each of `shortenings`), anywhere
    within `region` ((left, right), (top, bottom) frame pixels from `centre`, turned by the roll),
    searched on `scaled`. Where scores tie, the first roll and width listed win.

    Turned by the roll, a card's sides are rows and columns of the view; the share of a side's
    pixels that are edges (_edge_pixels) is a difference of running sums, so every position is
    scored at once: the sum of its four sides' shares and twice the least of them (all four sides,
    not three strong ones). Shares, not strengths: a card that differs little from the hair behind
    it counts as much as a bright one, and hair, which has edges every way, makes no long run of them.
    """
    (left, right), (top, bottom) = region
    scale = scaled.scale
    size = (math.ceil(scale * (right - left)), math.ceil(scale * (bottom - top)))
    origin = -scale * np.array([left, top])  # `centre` in the turned view
    found = []  # (score, roll, x, y, width, height) in the turned view
    for roll in rolls:
        rows, columns = _edge_sums(scaled, centre, roll, origin, size)
        for width in dict.fromkeys(np.round(widths * scale).astype(int).tolist()):  # in order: ties go to the first
            row = rows[:, width:] - rows[:, :-width]  # edge pixels along a row from each pixel on
            row *= 1.0 / width
            for height in dict.fromkeys(
                np.maximum(np.round(width * shortenings / CARD_ASPECT), 2).astype(int).tolist()
            ):
                ys, xs = size[1] - height, size[0] - width
                if ys < 1 or xs < 1:
                    continue
                column = columns[height:] - columns[:-height]
                column *= 1.0 / height
                top_side, bottom_side = row[:ys, :xs], row[height:, :xs]
                left_side, right_side = column[:ys, :xs], column[:ys, width:]
                score = top_side + bottom_side
                score += left_side
                score += right_side
                score += 2.0 * np.minimum(np.minimum(top_side, bottom_side), np.minimum(left_side, right_side))
                y, x = np.unravel_index(int(np.argmax(score)), score.shape)
                found.append((float(score[y, x]), roll, x, y, width, height))
    found.sort(key=lambda item: -item[0])
    kept: list[tuple[float, np.ndarray, float, float, float]] = []
    for score, roll, x, y, width, height in found:
        middle = centre + _turn(roll) @ ((np.array([x + width / 2.0, y + height / 2.0]) - origin) / scale)
        if all(np.linalg.norm(middle - other[1]) > 0.3 * width / scale for other in kept):
            kept.append((score, middle, roll, width / scale, height / scale))
        if len(kept) == count:
            break
    return kept


def _edge_sums(
    scaled: _Scaled, centre: np.ndarray, roll: float, origin: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Running sums of the edge pixels of the view of `scaled` turned by `roll`, `centre` at `origin`,
    `size` pixels: of the edges across rows along each row (H, W + 1), of those across columns down
    each column (H + 1, W); each edge spread a pixel across (a side a little off the grid)."""
    turn = _turn(roll)
    matrix = np.hstack([turn, (scaled.at(centre) - turn @ origin)[:, None]])
    view = cv2.warpAffine(
        scaled.image, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )
    down, across = _colour_change(cv2.Sobel(view, cv2.CV_32F, 0, 1)), _colour_change(cv2.Sobel(view, cv2.CV_32F, 1, 0))
    rows = np.zeros((size[1], size[0] + 1), np.float32)
    np.cumsum(cv2.dilate(_edge_pixels(down, across), np.ones((3, 1), np.uint8)), axis=1, out=rows[:, 1:])
    columns = np.zeros((size[1] + 1, size[0]), np.float32)
    edges = np.ascontiguousarray(_edge_pixels(across.T, down.T).T)
    np.cumsum(cv2.dilate(edges, np.ones((1, 3), np.uint8)), axis=0, out=columns[1:])
    return rows, columns


def _colour_change(sobel: np.ndarray) -> np.ndarray:
    """The size of a (H, W, 3) colour derivative, (H, W)."""
    return cv2.sqrt(cv2.transform(sobel * sobel, np.ones((1, 3), np.float32)))


def _edge_pixels(down: np.ndarray, along: np.ndarray) -> np.ndarray:
    """1.0 (float32) where the colour changes down the column twice as much as along the row (hair's
    strands run every way), most there in its column, and by EDGE_STEP more than 2 pixels up and
    down (an edge, not a card's colour gradient)."""
    edges = np.zeros(down.shape, np.float32)
    middle = down[2:-2]
    edges[2:-2] = (
        (middle >= down[1:-3])
        & (middle > down[3:-1])
        & (middle > 2.0 * along[2:-2])
        & (middle - np.maximum(down[:-4], down[4:]) > EDGE_STEP)
    )
    return edges


def _fitted_to_edges(frame_bgr: np.ndarray, corners: np.ndarray, reach: float) -> tuple[np.ndarray, float]:
    """The corners again, each side moved onto the frame's edge within `reach` pixels of where it
    was, and how well the edges follow the sides: of the two sides they follow least, the mean share
    of samples with an edge on the side's line.

    At SIDE_SAMPLES points along the middle of each side (the rounded corners left out) the edges
    across it are the peaks of colour change on a cubic-interpolated profile, placed to a fraction
    of a pixel; the change is mostly the brightness's (LUMA_CHROMA): JPEG and webcams keep colour
    at half resolution, smeared over a few pixels. Each peak votes as strong as it is (up to the
    side's typical edge), and as far as the colour 2 px inside it is the one 4 px inside (the
    card's margin) and unlike the one 2 px outside, by STEP_FLOOR at least: an edge in the hair
    outside the card, or a JPEG block's border there, has hair on both sides; noise or a colour
    gradient on the card has card on both. The side's line is the straight one with the most votes
    (Hough over FIT_TURNS: a finger or hair over part of the side does not pull it), refitted to
    its peaks by least squares weighted by their votes, opposite sides parallel (where a side
    barely shows against hair of the card's colour, the other one holds its turn). The corners
    are where the lines meet.
    """
    step, cell = 0.25, 0.5  # pixels: of the profiles, of the Hough's offsets
    reach = round(reach / step) * step
    offsets = np.arange(-reach - 2.0, reach + 4.0 + step / 2, step)  # positive: into the card
    first, last = round(2.0 / step), round((2.0 * reach + 2.0) / step)  # the offsets searched for the edge
    fractions = np.linspace(0.15, 0.85, SIDE_SAMPLES)
    turns = np.tan(np.radians(FIT_TURNS))
    cells = round(2.0 * reach / cell) + 3
    ends = np.roll(corners, -1, axis=0)
    lengths = np.linalg.norm(ends - corners, axis=1)
    directions = (ends - corners) / np.maximum(lengths, 1e-9)[:, None]
    normals = np.stack([-directions[:, 1], directions[:, 0]], axis=1)  # clockwise corners: into the card
    along = corners[:, None] + fractions[None, :, None] * (ends - corners)[:, None]  # (4, SIDE_SAMPLES, 2)
    points = (along[:, :, None] + offsets[None, None, :, None] * normals[:, None, None]).reshape(-1, len(offsets), 2)
    profile = cv2.remap(
        frame_bgr,
        points[..., 0].astype(np.float32),
        points[..., 1].astype(np.float32),
        cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)  # (4 * SIDE_SAMPLES, offsets, 3)
    smooth = cv2.GaussianBlur(cv2.transform(profile, LUMA_CHROMA), (0, 0), sigmaX=3.0, sigmaY=0.1)
    change = np.linalg.norm(np.gradient(smooth, axis=1), axis=2)
    window = change[:, first - 1 : last + 2]
    sample, peak = np.nonzero((window[:, 1:-1] > window[:, :-2]) & (window[:, 1:-1] >= window[:, 2:]))
    peak += first
    before, at, after = change[sample, peak - 1], change[sample, peak], change[sample, peak + 1]
    shift = np.clip(0.5 * (before - after) / np.minimum(before - 2.0 * at + after, -1e-9), -0.5, 0.5)
    across = offsets[peak] + shift * step
    inside = profile[sample, peak + round(2.0 / step)]
    flat = np.linalg.norm(profile[sample, peak + round(4.0 / step)] - inside, axis=1)
    jump = np.linalg.norm(profile[sample, peak - round(2.0 / step)] - inside, axis=1)
    card_like = np.clip(1.0 - 2.0 * flat / (jump + 1e-6), 0.0, 1.0) * (jump > STEP_FLOOR)
    typical = np.maximum(np.median(window.max(axis=1).reshape(4, SIDE_SAMPLES), axis=1), 1e-6)  # of a side's edges
    vote = np.minimum(at / typical[sample // SIDE_SAMPLES], 1.0) * card_like
    side = sample // SIDE_SAMPLES
    t = (fractions[sample % SIDE_SAMPLES] - 0.5) * lengths[side]  # along the side from its middle
    index = np.clip(np.floor((across[None] - turns[:, None] * t[None] + reach) / cell).astype(int) + 1, 0, cells - 1)
    index += cells * (np.arange(len(turns))[:, None] + len(turns) * side[None])
    votes = np.bincount(index.ravel(), np.tile(vote, len(turns)), 4 * len(turns) * cells).reshape(4, len(turns), cells)
    wide = (votes[..., :-1] + votes[..., 1:]).reshape(4, -1)  # a pixel wide
    turn, offset = np.divmod(np.argmax(wide, axis=1), cells - 1)
    line = (offset + 1) * cell - reach - cell  # the middle of the pixel-wide cell pair
    distance = np.abs(across - line[side] - turns[turn][side] * t)
    best = np.zeros(4 * SIDE_SAMPLES)
    on_line = (distance < 0.75) & (vote > 0)
    np.maximum.at(best, sample[on_line], vote[on_line])
    weight = np.where(on_line & (vote == best[sample]), vote * vote, 0.0)  # each sample's best peak on the line
    n, st, sa, stt, sta = (np.bincount(side, weight * value, 4) for value in (1.0, t, across, t * t, t * across))
    n_safe = np.maximum(n, 1e-9)
    sxx, sxy = stt - st * st / n_safe, sta - st * sa / n_safe  # each side about its own mean
    pair_xx, pair_xy = sxx + np.roll(sxx, 2), sxy + np.roll(sxy, 2)  # opposite sides share their turn
    slope = np.where(pair_xx > 1e-9, pair_xy / np.maximum(pair_xx, 1e-9), 0.0)
    intercept = np.where(n > 1e-9, (sa - slope * st) / n_safe, 0.0)
    middles = (corners + ends) / 2.0 + intercept[:, None] * normals
    turned = directions + slope[:, None] * normals
    fitted = _meeting(middles, turned)
    held = np.sort((best.reshape(4, SIDE_SAMPLES) > 0.2).mean(axis=1))
    return fitted, float(held[:2].mean())


def _meeting(points: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Where each line (4, through `points` along `directions`) meets the one before it: the corners."""
    p, u = np.roll(points, 1, axis=0), np.roll(directions, 1, axis=0)
    cross = u[:, 0] * directions[:, 1] - u[:, 1] * directions[:, 0]
    gap = points - p
    t = (gap[:, 0] * directions[:, 1] - gap[:, 1] * directions[:, 0]) / np.where(np.abs(cross) < 1e-9, np.inf, cross)
    return p + t[:, None] * u


CARD_READINGS = 5  # frames that found the card, for a measurement
CARD_MAX_SPREAD_MM = 1.0  # their PDs' standard deviation at most: the card held still
CARD_ACCURACY_MM = 0.7  # what the composites show (tests/test_card.py): the PD's own accuracy this way


@dataclass
class CardMeasurement:
    """A card calibration in progress over a stream's frames (a tryon.calibration.Measurement):
    readings until CARD_READINGS of them agree; `pd_mm` is then their median. `last` is the latest
    reading (what to tell the shopper)."""

    pds: list[float]
    last: CardReading = NOT_FOUND

    def read(self, frame: np.ndarray, face: Face, iris_pd_mm: float | None) -> None:
        self.add(read_card(frame, face, iris_pd_mm))

    def add(self, reading: CardReading) -> None:
        self.last = reading
        if reading.found:
            self.pds = (self.pds + [reading.pd_mm])[-CARD_READINGS:]

    @property
    def pd_mm(self) -> float | None:
        """The measured PD once enough readings agree, else None."""
        if len(self.pds) < CARD_READINGS or float(np.std(self.pds)) > CARD_MAX_SPREAD_MM:
            return None
        return float(np.median(self.pds))

    @property
    def code(self) -> str:
        return self.last.code

    @property
    def kept(self) -> int:
        return len(self.pds)

    @property
    def result(self) -> dict[str, float] | None:
        pd_mm = self.pd_mm
        return None if pd_mm is None else {"pd_mm": round(pd_mm, 1), "accuracy_mm": CARD_ACCURACY_MM}
