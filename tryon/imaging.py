"""Decoding and encoding images from bytes, with the checks an upload needs.

The container is sniffed from the bytes (not a file name), the pixel count is read from the header
before anything is decoded (decompression bombs are refused), and every failure is an
InvalidImageError with a message fit for an API response.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from tryon.errors import InvalidImageError

DEFAULT_MAX_PIXELS = 25_000_000
FORMATS = {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}
MIME_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_SIGNATURES = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"))


def sniff_format(data: bytes) -> str | None:
    """'jpeg', 'png' or 'webp' from the leading bytes, else None."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) read from the header alone."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as header:
                return header.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidImageError(f"unreadable image header: {exc}") from exc


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, keep_alpha: bool = False, max_side: int | None = None
) -> np.ndarray:
    """Decode JPEG/PNG/WebP bytes to a BGR (or BGRA with keep_alpha) uint8 array.

    max_side: the longest side wanted; a larger image comes back scaled down to it (area-averaged).
    A JPEG is then decoded at 1/2, 1/4 or 1/8 of its size directly (libjpeg's DCT scaling), so a
    large photo never exists at full size in memory.
    """
    if not data:
        raise InvalidImageError("empty image")
    fmt = sniff_format(data)
    if fmt is None:
        raise InvalidImageError("not a JPEG, PNG or WebP image")
    width, height = image_size(data)
    if width * height > max_pixels:
        raise InvalidImageError(f"image is {width}x{height}; at most {max_pixels:,} pixels are accepted")
    reduction = _jpeg_reduction(max(width, height), max_side) if fmt == "jpeg" else 1
    flags = _REDUCED_FLAGS[reduction] if reduction > 1 else cv2.IMREAD_UNCHANGED if keep_alpha else cv2.IMREAD_COLOR
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    expected = (-(-height // reduction), -(-width // reduction))  # libjpeg rounds scaled sizes up
    if image is None or image.shape[:2] not in (expected, expected[::-1]):  # [::-1]: turned by its EXIF orientation
        raise InvalidImageError("corrupt or truncated image")
    if keep_alpha:
        image = _to_bgra(image)
    return fit_within(image, max_side) if max_side is not None else image


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """`image` (H, W[, C]) scaled down, area-averaged, so that its longest side is at most `max_side`."""
    longest = max(image.shape[:2])
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


_REDUCED_FLAGS = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def _jpeg_reduction(longest: int, max_side: int | None) -> int:
    """The largest JPEG decode reduction (1, 2, 4, 8) that still leaves at least `max_side` pixels."""
    if max_side is None:
        return 1
    reduction = 1
    while reduction < 8 and longest // (reduction * 2) >= max_side:
        reduction *= 2
    return reduction


def encode_image(image: np.ndarray, fmt: str = "jpeg", quality: int = 85) -> bytes:
    """Encode a BGR/BGRA image as 'jpeg', 'png' or 'webp'."""
    if fmt not in FORMATS:
        raise InvalidImageError(f"unsupported output format {fmt!r}; use one of {', '.join(FORMATS)}")
    params = {
        "jpeg": [cv2.IMWRITE_JPEG_QUALITY, quality],
        "webp": [cv2.IMWRITE_WEBP_QUALITY, quality],
        "png": [cv2.IMWRITE_PNG_COMPRESSION, 3],
    }[fmt]
    ok, buffer = cv2.imencode(FORMATS[fmt], image, params)
    if not ok:
        raise InvalidImageError(f"could not encode {fmt}")
    return buffer.tobytes()


def _to_bgra(image: np.ndarray) -> np.ndarray:
    if image.dtype != np.uint8:
        image = (image / 257).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    if image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return image
