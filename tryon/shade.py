"""The shade finder: which foundation of a range matches the shopper's skin, in whatever light.

A foundation's colour is defined under the reference light (tryon.lighting): the colour of skin
wearing it in a studio portrait. So the shopper's skin is read as a reflectance under that light too:
the linear colour of the cheeks, each cheek reduced to the colour of its main cluster of pixels
(shadows, highlights, freckles, stubble and stray hair dropped as far from the patch's luminance and
chroma mode), the two averaged (a lit and a shaded cheek average as in the light estimate), then
divided by the light's gains (`estimate_light`). Relighting a frame scales skin and gains alike, so
the match does not change with exposure or white balance. These are the cheeks the light is read on
and the foundation renderer lights its shade by, so the shade found is the one that vanishes in the
try-on; the forehead is left out (it catches more light than the cheeks, so it reads as a lighter
skin than the renderer would paint). The closest shade is the one at the least CIEDE2000 difference
from that skin; the undertone comes from the skin's hue angle (more yellow: warm, more pink: cool).
The match also names the nearest shade one step lighter and one darker.

Limits: from the face alone the light is estimated on the same face, partly from the skin itself,
so skins of different lightness in the same light read closer together than they are (see
tryon.lighting): the finder orders light and deep skins, but among light skins it tells fewer steps
than a range offers (Spearman 0.57 against the skin the London studio photos record). A white card
on the forehead gives the light itself (tryon.white_card; a stream then passes its light): 0.99.

Merchants upload a range as CSV or JSON (`parse_shade_range`), one shade per row / object:

    sku,name,colour,coverage                     (a header row first; coverage optional, 0-1)
    fm-110,110 Porcelain (cool),#e7c6b4,0.5
    fm-120,120 Ivory (neutral),#e4c3a6,

    [{"sku": "fm-110", "name": "110 Porcelain (cool)", "colour": "#e7c6b4", "coverage": 0.5}, ...]
    (or {"shades": [...]})

sku: the product id (letters, digits, '.', '_', '-', at most 64); name: up to 120 characters;
colour: "#rrggbb", the shade on skin in daylight-balanced studio light. Errors name their line (CSV)
or item (JSON), all at once. `shade_products` turns the shades into the product bodies to create.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import cv2
import numpy as np

from tryon.errors import ProductError
from tryon.lighting import CHEEKS, Light, estimate_light, luminance, to_linear, to_srgb
from tryon.makeup.color import bgr_to_lab, delta_e_2000, hex_to_lab
from tryon.makeup.spec import Foundation, parse_makeup
from tryon.products import Catalog
from tryon.store.slugs import SLUG_PATTERN
from tryon.tracking import Face

Undertone = Literal["cool", "neutral", "warm"]
# Hue angle (degrees, CIELAB) of skin under the reference light: below the first cool, above the second warm.
UNDERTONE_HUES = (49.0, 58.0)
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
MIN_STEP_L = 1.0  # L*: a "lighter" or "darker" shade differs from the match by at least this much
DEFAULT_COVERAGE = 0.45
MIN_PATCH_PIXELS = 30
MODE_WINDOW = 2.5  # robust standard deviations (1.4826 MAD) around a patch's mode that count as its skin


@dataclass(frozen=True)
class ShadeSpec:
    """One foundation shade of a range: its product id, name and colour under the reference light."""

    sku: str
    name: str
    colour: str  # "#rrggbb"
    coverage: float = DEFAULT_COVERAGE

    @cached_property
    def lab(self) -> np.ndarray:
        """CIELAB (3,) of the shade under the reference light (read-only: computed once, each match
        compares the skin with every shade of the range)."""
        lab = hex_to_lab(self.colour)
        lab.flags.writeable = False
        return lab


@dataclass(frozen=True)
class ShadeMatch:
    """The finder's answer: the closest shade, its lighter and darker neighbours (None at the ends of
    the range), the skin's undertone and CIELAB under the reference light, and the match's CIEDE2000."""

    match: ShadeSpec
    lighter: ShadeSpec | None
    darker: ShadeSpec | None
    undertone: Undertone
    skin_lab: tuple[float, float, float]
    distance: float


def find_shade(
    frame_bgr: np.ndarray, face: Face, shades: Sequence[ShadeSpec], light: Light | None = None
) -> ShadeMatch | None:
    """The shade of `shades` for `face` in `frame_bgr` (uint8 BGR), under `light` (default: estimated on
    the frame; a stream passes its smoothed light); None when no skin could be measured or no shades."""
    reflectance = skin_reflectance(frame_bgr, face, estimate_light(frame_bgr, face) if light is None else light)
    if reflectance is None or not shades:
        return None
    return closest_shade(linear_to_lab(reflectance), shades)


def closest_shade(skin_lab: np.ndarray, shades: Sequence[ShadeSpec]) -> ShadeMatch:
    """The match for a skin colour (CIELAB (3,), reference light) among `shades` (at least one)."""
    labs = np.array([shade.lab for shade in shades])
    distances = delta_e_2000(labs, skin_lab[None])
    best = int(np.argmin(distances))
    steps = labs[:, 0] - labs[best, 0]
    to_match = delta_e_2000(labs, labs[best][None])

    def neighbour(side: np.ndarray) -> ShadeSpec | None:
        return shades[int(np.argmin(np.where(side, to_match, np.inf)))] if side.any() else None

    return ShadeMatch(
        match=shades[best],
        lighter=neighbour(steps >= MIN_STEP_L),
        darker=neighbour(steps <= -MIN_STEP_L),
        undertone=undertone(skin_lab),
        skin_lab=(float(skin_lab[0]), float(skin_lab[1]), float(skin_lab[2])),
        distance=float(distances[best]),
    )


def undertone(lab: np.ndarray) -> Undertone:
    """Warm, neutral or cool, from the hue angle of a skin (or shade) colour in CIELAB (3,)."""
    hue = float(np.degrees(np.arctan2(lab[2], lab[1])))
    cool, warm = UNDERTONE_HUES
    return "cool" if hue < cool else "warm" if hue > warm else "neutral"


def skin_reflectance(frame: np.ndarray, face: Face, light: Light) -> np.ndarray | None:
    """The skin's colour under the reference light: linear BGR (3,), or None when no cheek shows enough skin."""
    colours = [colour for ids in CHEEKS if (colour := _patch_colour(frame, face, ids)) is not None]
    if not colours:
        return None
    return light.reflectance(np.mean(colours, axis=0)).astype(np.float32)


def linear_to_lab(linear: np.ndarray) -> np.ndarray:
    """Linear BGR (..., 3), clipped to [0, 1] -> CIELAB (..., 3)."""
    return bgr_to_lab(to_srgb(linear) / 255.0)


def _patch_colour(frame: np.ndarray, face: Face, ids: tuple[int, ...]) -> np.ndarray | None:
    """Median linear BGR (3,) of a patch's pixels near its luminance and chroma mode, or None."""
    hull = cv2.convexHull(face.landmarks[list(ids), :2].astype(np.float32)).reshape(-1, 2)
    x0, y0 = np.maximum(np.floor(hull.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(hull.max(axis=0)).astype(int) + 1, frame.shape[1::-1])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.rint(hull - (x0, y0)).astype(np.int32)], 1)
    pixels = to_linear(frame[y0:y1, x0:x1][mask > 0]).astype(np.float64)
    lit = luminance(pixels) > 1e-4
    if lit.sum() < MIN_PATCH_PIXELS:
        return None
    pixels = pixels[lit]
    y = luminance(pixels)
    features = np.column_stack([np.log(y), np.log(np.maximum(pixels, 1e-4) / y[:, None])])  # brightness, chroma
    keep = np.ones(len(pixels), bool)
    for _ in range(2):  # the mode: around the median, then around the median of what is near it
        centre = np.median(features[keep], axis=0)
        spread = 1.4826 * np.median(np.abs(features[keep] - centre), axis=0) + 1e-3
        keep = np.all(np.abs(features - centre) <= MODE_WINDOW * spread, axis=1)
        if keep.sum() < MIN_PATCH_PIXELS:
            return None
    return np.median(pixels[keep], axis=0)


def catalog_shades(catalog: Catalog) -> list[ShadeSpec]:
    """Every foundation a catalogue offers, as shades (lightest first)."""
    shades = []
    for entry in catalog.entries():
        spec = getattr(catalog.get(entry.sku), "spec", None) if entry.kind == "foundation" else None
        if isinstance(spec, Foundation):
            shades.append(ShadeSpec(entry.sku, entry.name, spec.colour, spec.coverage))
    return sorted(shades, key=lambda shade: -float(shade.lab[0]))


def parse_shade_range(text: str, format: Literal["csv", "json"]) -> list[ShadeSpec]:
    """A merchant's range (see the module docstring); ProductError lists every bad line or item."""
    rows = _csv_rows(text) if format == "csv" else _json_rows(text)
    shades: list[ShadeSpec] = []
    problems: list[str] = []
    seen: set[str] = set()
    for where, row in rows:
        try:
            shade = _shade(row)
        except ProductError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if shade.sku in seen:
            problems.append(f"{where}: sku {shade.sku!r} appears twice")
        seen.add(shade.sku)
        shades.append(shade)
    if not rows:
        problems.append("no shades")
    if problems:
        raise ProductError("invalid shade range: " + "; ".join(problems))
    return shades


def shade_products(shades: Sequence[ShadeSpec], *, published: bool = False) -> list[dict[str, Any]]:
    """The foundation products to create for a range: bodies of the merchant API's POST /products."""
    return [
        {
            "sku": shade.sku,
            "name": shade.name,
            "kind": "foundation",
            "spec": _foundation(shade).model_dump(),
            "published": published,
        }
        for shade in shades
    ]


_FIELDS = ("sku", "name", "colour", "coverage")


def _csv_rows(text: str) -> list[tuple[str, object]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), restkey="", skipinitialspace=True)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in _FIELDS[:3] if name not in header]
    if missing or not set(header) <= set(_FIELDS):
        raise ProductError(
            "invalid shade range: line 1: the header must name the columns sku, name, colour and optionally coverage"
        )
    reader.fieldnames = header
    return [
        (f"line {reader.line_num}", {key: value for key, value in row.items() if value})
        for row in reader
        if any(isinstance(value, str) and value.strip() for value in row.values())
    ]


def _json_rows(text: str) -> list[tuple[str, object]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProductError(f"invalid shade range: not JSON ({exc})") from exc
    items = data.get("shades") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ProductError('invalid shade range: expected a list of shades or {"shades": [...]}')
    return [(f"item {index}", item) for index, item in enumerate(items, 1)]


def _shade(row: object) -> ShadeSpec:
    if not isinstance(row, dict):
        raise ProductError("expected an object with sku, name and colour")
    unknown = sorted(set(row) - set(_FIELDS))
    if unknown:
        raise ProductError(f"unknown field {unknown[0]!r}" if unknown[0] else "more values than the header has columns")
    sku = str(row.get("sku") or "").strip()
    if not SLUG_PATTERN.fullmatch(sku):
        raise ProductError(f"sku {sku!r}: letters, digits, '.', '_' and '-' only, at most 64")
    colour = str(row.get("colour") or "").strip()
    if not HEX_COLOUR.fullmatch(colour):
        raise ProductError(f"colour {colour!r} is not #rrggbb")
    coverage = row.get("coverage", DEFAULT_COVERAGE)
    try:
        coverage = float(coverage)
    except (TypeError, ValueError):
        raise ProductError(f"coverage {coverage!r} is not a number") from None
    if not 0.0 <= coverage <= 1.0:
        raise ProductError(f"coverage {coverage} is not between 0 and 1")
    shade = ShadeSpec(sku, str(row.get("name") or sku).strip(), colour, coverage)
    _foundation(shade)
    return shade


def _foundation(shade: ShadeSpec) -> Foundation:
    """The shade as a foundation spec; ProductError (from the spec's own validation) when it cannot be one."""
    spec = parse_makeup({"type": "foundation", "name": shade.name, "colour": shade.colour, "coverage": shade.coverage})
    assert isinstance(spec, Foundation)
    return spec
