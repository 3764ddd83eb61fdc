import struct
import zlib

import cv2
import numpy as np
import pytest

from tryon.errors import InvalidImageError
from tryon.imaging import decode_image, encode_image, sniff_format


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with a token IDAT: a decompression-bomb stand-in."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_round_trip(fmt):
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, :30] = (10, 200, 30)
    data = encode_image(image, fmt)
    assert sniff_format(data) == fmt
    decoded = decode_image(data)
    assert decoded.shape == image.shape and np.abs(decoded.astype(int) - image).mean() < 6


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"hello, I am text pretending to be a .png", "not a JPEG"),
        (png_header_only(20000, 20000), "pixels"),
    ],
)
def test_bad_inputs(data, message):
    with pytest.raises(InvalidImageError, match=message):
        decode_image(data)


def test_truncated_png():
    ok, buffer = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8))
    with pytest.raises(InvalidImageError):
        decode_image(buffer.tobytes()[:2000])


def test_alpha_kept_on_request():
    bgra = np.zeros((10, 10, 4), np.uint8)
    bgra[..., 3] = 77
    assert decode_image(encode_image(bgra, "png"), keep_alpha=True)[0, 0, 3] == 77


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_max_side_scales_down_whatever_the_container(fmt):
    """A JPEG is decoded at a reduced size directly, a PNG scaled after decoding: both come back with
    their longest side at max_side (JPEG: within a pixel of rounding), the picture kept."""
    across, down = np.meshgrid(np.linspace(0, 255, 3001), np.linspace(0, 255, 1201))
    image = np.dstack([across, down, np.full_like(across, 128)]).astype(np.uint8)
    data = encode_image(image, fmt, quality=95)
    small = decode_image(data, max_side=700)
    assert abs(small.shape[1] - 700) <= 1 and abs(small.shape[0] - 280) <= 1
    expected = cv2.resize(image, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - expected).mean() < 3
    assert decode_image(data, max_side=5000).shape == image.shape  # never scaled up
