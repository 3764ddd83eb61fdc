"""Draw the built-in glasses styles into assets/glasses/<style>/ (front.png, temple.png, glasses.json).

Run `python scripts/generate_glasses.py` to regenerate them. Shapes are defined in millimetres and
drawn four times oversampled, then reduced, so every edge is anti-aliased.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tryon.glasses import GlassesSpec, save_spec

PX_PER_MM = 7
OVERSAMPLE = 4
FRONT_SIZE_MM = (146, 56)
TEMPLE_SIZE_MM = (150, 50)


@dataclass(frozen=True)
class Style:
    name: str
    lens_outline: callable  # (cx, cy) -> polygon in mm, counter-clockwise
    half_lens_distance_mm: float
    rim_mm: float
    colour: tuple[int, int, int]  # BGR
    metal: bool
    tint: str
    opacity: float
    gradient: float
    width_mm: float  # the real frame's front width: the drawing is scaled to it on the face
    tortoise: bool = False


def ellipse(width: float, height: float, power: float = 2.0):
    def outline(cx: float, cy: float) -> np.ndarray:
        t = np.linspace(0, 2 * math.pi, 240, endpoint=False)
        c, s = np.cos(t), np.sin(t)
        x = np.sign(c) * np.abs(c) ** (2 / power) * width / 2
        y = np.sign(s) * np.abs(s) ** (2 / power) * height / 2
        return np.column_stack([cx + x, cy + y])
    return outline


def aviator(cx: float, cy: float, side: float) -> np.ndarray:
    """Teardrop: flat-ish top, deep rounded bottom towards the nose."""
    t = np.linspace(0, 2 * math.pi, 240, endpoint=False)
    x = 27 * np.cos(t)
    y = np.where(np.sin(t) > 0, 25 * np.sin(t), 17 * np.sin(t))
    y += np.where(np.sin(t) > 0, 5 * np.clip(-np.cos(t) * side, 0, 1) * np.sin(t), 0)
    return np.column_stack([cx + x, cy + y - 2])


def cat_eye(cx: float, cy: float, side: float) -> np.ndarray:
    """Rounded lens whose outer top corner sweeps up."""
    base = ellipse(52, 37, 2.6)(0, 0)
    lift = 9 * np.clip(side * base[:, 0] / 26, 0, 1) ** 3 * np.sqrt(np.clip(-base[:, 1] / 18.5, 0, 1))
    base[:, 1] -= lift
    return base + [cx, cy]


def mirrored(outline):
    """Make a one-sided outline function into one taking the side (-1 image left, +1 image right)."""
    return outline if outline.__code__.co_argcount == 3 else (lambda cx, cy, side: outline(cx, cy))


STYLES = [
    Style("round", mirrored(ellipse(48, 48)), 33, 2.0, (40, 60, 105), True, "#ffffff", 0.07, 0.0, 136),
    Style("rectangular", mirrored(ellipse(54, 36, 7.0)), 34, 3.6, (25, 22, 22), False, "#ffffff", 0.07, 0.0, 142),
    Style("aviator", aviator, 34, 1.4, (70, 160, 200), True, "#2e3b2c", 0.82, 0.35, 148),
    Style("cat-eye", cat_eye, 33, 4.2, (30, 40, 120), False, "#ffffff", 0.07, 0.0, 140, tortoise=True),
]


def to_px(points_mm: np.ndarray) -> np.ndarray:
    return np.rint(np.asarray(points_mm) * PX_PER_MM * OVERSAMPLE * 16).astype(np.int32)  # 4 fractional bits


def draw_front(style: Style) -> tuple[np.ndarray, tuple[tuple[float, float], tuple[float, float]], float]:
    width_mm, height_mm = FRONT_SIZE_MM
    scale = PX_PER_MM * OVERSAMPLE
    size = (height_mm * scale, width_mm * scale)
    rim = np.zeros(size, np.uint8)
    holes = np.zeros(size, np.uint8)
    cx, cy = width_mm / 2, height_mm / 2 + 1
    centres = []
    thickness = max(int(round(2 * style.rim_mm * scale)), 1)
    for side in (-1, 1):
        outline = style.lens_outline(cx + side * style.half_lens_distance_mm, cy, side)
        centres.append((cx + side * style.half_lens_distance_mm, cy))
        cv2.fillPoly(holes, [to_px(outline)], 255, cv2.LINE_8, shift=4)
        cv2.polylines(rim, [to_px(outline)], True, 255, thickness, cv2.LINE_8, shift=4)
        outer_x = outline[:, 0].min() if side < 0 else outline[:, 0].max()
        hinge = [[outer_x - side * 1, cy - 11], [cx + side * (width_mm / 2 - 0.5), cy - 11],
                 [cx + side * (width_mm / 2 - 0.5), cy - 6], [outer_x - side * 1, cy - 4]]
        cv2.fillPoly(rim, [to_px(hinge)], 255, cv2.LINE_8, shift=4)
    bridge_y = cy - (14 if style.metal else 9)
    inner = style.half_lens_distance_mm - 22
    bridge = np.array([[cx + x, bridge_y + 2.2 * (1 - (x / inner) ** 2)] for x in np.linspace(-inner - 4, inner + 4, 40)])
    cv2.polylines(rim, [to_px(bridge)], False, 255, int(scale * (1.6 if style.metal else 4.0)), cv2.LINE_8, shift=4)
    if style.name == "aviator":  # the double bridge's top bar
        bar = np.array([[cx + x, cy - 20 + 0.02 * x**2] for x in np.linspace(-19, 19, 30)])
        cv2.polylines(rim, [to_px(bar)], False, 255, int(scale * 1.3), cv2.LINE_8, shift=4)
    rim[holes > 0] = 0
    colour = shade(style, size)
    bgra = np.dstack([colour, rim])
    front = cv2.resize(bgra, (width_mm * PX_PER_MM, height_mm * PX_PER_MM), interpolation=cv2.INTER_AREA)
    lens_px = tuple((x * PX_PER_MM, y * PX_PER_MM) for x, y in centres)
    return front, lens_px, (cy - 8.5) * PX_PER_MM


def shade(style: Style, size: tuple[int, int]) -> np.ndarray:
    """The frame material: a vertical light falloff, a top highlight, optional tortoiseshell."""
    height, width = size
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    base = np.array(style.colour, np.float32)[None, None, :]
    light = 1.25 - 0.55 * y + (0.5 if style.metal else 0.25) * np.exp(-((y - 0.3) / 0.05) ** 2)
    colour = np.broadcast_to(base * light, (height, width, 3)).copy()
    if style.tortoise:
        rng = np.random.default_rng(7)
        blobs = cv2.GaussianBlur(rng.random((height // 16, width // 16)).astype(np.float32), (0, 0), 2.0)
        blobs = cv2.resize(blobs, (width, height), interpolation=cv2.INTER_CUBIC)
        spots = np.clip((blobs - blobs.mean()) / blobs.std(), -1, 1)[..., None]
        amber = np.array([40, 95, 170], np.float32)
        colour = colour * (1 - 0.5 * (spots > 0.2)) + amber * 0.5 * (spots > 0.2) * light
    return np.clip(colour, 0, 255).astype(np.uint8)


def draw_temple(style: Style) -> np.ndarray:
    width_mm, height_mm = TEMPLE_SIZE_MM
    scale = PX_PER_MM * OVERSAMPLE
    mask = np.zeros((height_mm * scale, width_mm * scale), np.uint8)
    mid = height_mm / 2
    straight = 118
    path = [[x, mid + 0.012 * x] for x in np.linspace(0, straight, 60)]
    path += [[straight + 30 * math.sin(a), mid + 0.012 * straight + 22 * (1 - math.cos(a))]
             for a in np.linspace(0, 1.2, 30)]
    thick = (1.4 if style.metal else 3.2) * scale
    cv2.polylines(mask, [to_px(path)], False, 255, int(thick), cv2.LINE_8, shift=4)
    colour = shade(style, mask.shape)
    temple = cv2.resize(np.dstack([colour, mask]), (width_mm * PX_PER_MM, height_mm * PX_PER_MM),
                        interpolation=cv2.INTER_AREA)
    return temple


def generate(out_dir: Path) -> None:
    for style in STYLES:
        directory = out_dir / style.name
        directory.mkdir(parents=True, exist_ok=True)
        front, lens_centres, hinge_y = draw_front(style)
        cv2.imwrite(str(directory / "front.png"), front, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        cv2.imwrite(str(directory / "temple.png"), draw_temple(style), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        spec = GlassesSpec(
            name=style.name.replace("-", " ").title() + (" sunglasses" if style.opacity > 0.5 else " glasses"),
            temple_image="temple.png", lens_centres_px=lens_centres, frame_width_mm=style.width_mm,
            temple_length_mm=145, hinge_y_px=hinge_y, lens_tint=style.tint, lens_opacity=style.opacity,
            lens_gradient=style.gradient,
        )
        save_spec(directory, spec)
        print(f"wrote {directory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "assets" / "glasses")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
