"""Synthetic camera motion: a still photo shifted, rotated and scaled over time, with known transforms.

Used by tests, benchmarks and the end-to-end fake webcam: the true position of any point of the
photo is known in every frame, so tracking and placement can be measured against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Motion:
    """Amplitudes of a smooth periodic motion (pixels, degrees, relative scale)."""

    shift: tuple[float, float] = (30.0, 15.0)
    rotation_deg: float = 8.0
    scale: float = 0.1


def fit_to_canvas(image: np.ndarray, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """Scale and pad `image` to fill a canvas of (width, height), keeping its aspect ratio."""
    width, height = size
    factor = min(width / image.shape[1], height / image.shape[0])
    resized = cv2.resize(
        image, (round(image.shape[1] * factor), round(image.shape[0] * factor)), interpolation=cv2.INTER_AREA
    )
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[:] = resized[:, :1].mean(axis=(0, 1))
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return canvas


def motion_transforms(frames: int, motion: Motion = Motion(), period: int | None = None) -> list[np.ndarray]:
    """Per-frame (dx, dy, degrees, scale) parameters, starting from the identity (see `apply_transform`)."""
    period = period or frames
    transforms = []
    for index in range(frames):
        phase = 2 * math.pi * index / period
        transforms.append(
            np.array(
                [
                    motion.shift[0] * math.sin(phase),
                    motion.shift[1] * math.sin(2 * phase),
                    motion.rotation_deg * math.sin(phase) * math.cos(phase),
                    1.0 + motion.scale * math.sin(phase) ** 2,
                ]
            )
        )
    return transforms


def affine_for(parameters: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The 2x3 matrix for (dx, dy, degrees, scale) about the centre of a (width, height) canvas."""
    dx, dy, degrees, scale = parameters
    matrix = cv2.getRotationMatrix2D((size[0] / 2, size[1] / 2), degrees, scale)
    matrix[:, 2] += (dx, dy)
    return matrix


def apply_transform(canvas: np.ndarray, parameters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The moved frame and its 2x3 matrix (canvas pixels -> frame pixels)."""
    size = (canvas.shape[1], canvas.shape[0])
    matrix = affine_for(parameters, size)
    frame = cv2.warpAffine(canvas, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return frame, matrix


def move_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to pixel points (N, 2)."""
    return np.c_[points, np.ones(len(points))] @ matrix.T


def write_y4m(path: str, frames: list[np.ndarray], fps: int = 30) -> None:
    """Write BGR frames as an uncompressed 4:2:0 Y4M video (what Chromium's fake camera plays)."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for frame in frames:
            handle.write(b"FRAME\n")
            handle.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
