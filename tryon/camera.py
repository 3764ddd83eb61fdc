"""The camera's look: how much sensor noise and blur a frame has, and giving an overlay the same.

A product drawn sharp and noise-free on a soft, grainy webcam frame looks pasted on. This module
measures the frame's noise and blur on the tracked face and applies both to a drawn overlay:

- noise: Immerkaer's fast noise estimate (J. Immerkaer, "Fast noise variance estimation", CVIU
  64(2), 1996): a 3x3 difference of Laplacians cancels smooth image content and leaves 6x the noise;
  it is read on low-texture pixels only, edges left out as in Tai & Yang ("A fast method for image
  noise estimation using Laplacian operator and adaptive edge detection", ISCCSP 2008), with the
  most textured responses trimmed.
- blur: the re-blur gradient ratio at strong edges (S. Zhuo and T. Sim, "Defocus map estimation from
  a single image", Pattern Recognition 44(9), 2011): blurring a Gaussian-blurred step by a known
  sigma_r lowers its peak gradient by R = sqrt(sigma^2 + sigma_r^2) / sigma, so
  sigma = sigma_r / sqrt(R^2 - 1). Pixels are not points, and the gradient operator has a width
  of its own, so R is converted to sigma with a table measured by the same code on a synthetic,
  pixel-sharp (area-sampled) disc blurred by known sigmas.

Sigmas are in pixels of the frame; noise in 8-bit steps, per colour channel. Both are models:
noise as white and the same at every brightness (a camera's own denoising leaves the fine-scale
part, which is what is measured and added back), blur as one Gaussian fitted to the core of the
edges at the frame's own pixel scale (sharpening and JPEG make a webcam's coarse-scale softness
differ from it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

import cv2
import numpy as np


@dataclass(frozen=True)
class CameraLook:
    """How the camera renders fine detail: sensor noise and optical/processing blur."""

    noise_sigma: float  # std of the noise, 8-bit steps, per channel
    blur_sigma: float  # Gaussian sigma in pixels of the image's own softness (0 = pixel-sharp)


SHARP = CameraLook(0.0, 0.0)

_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)  # white noise -> 6 sigma
_TRIM = 0.9  # share of the low-texture responses kept; the rest is texture, not noise
_TEXTURE_SHARE = 0.5  # the least textured half of the pixels counts as flat
_REBLUR = 1.5  # sigma_r of the re-blur, pixels
_EDGE_SHARE = 0.1  # the strongest tenth of the pixels' gradients are candidate edges
_EDGE_SNR = 8.0  # an edge's smoothed gradient must stand this far above the noise's
_MIN_EDGES = 20  # fewer edge peaks than this is no measurement
_MAX_BLUR = 4.0  # the calibration table ends here; softer frames read as this
_GRAY_NOISE = math.sqrt(0.299**2 + 0.587**2 + 0.114**2)  # gray noise / channel noise, independent channels
_FACE_MARGIN = 0.1  # the face box grows by this share each side, to take in the face outline
_WORK_PIXELS = 40_000  # blur is read on at most this many pixels (a band across the eyes)
_NOISE_SIDE = 96  # noise is read at full resolution on at most this square at the face's centre
_NOISE_SHEET = 512  # side of the sheet of noise that overlays take their grain from (3 MiB)


def estimate_noise(image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Std of white noise in `image` ((h, w) or (h, w, c); uint8, uint16 or float32), per channel.

    Immerkaer's difference of Laplacians on the low-texture pixels (within `mask` (h, w), if given):
    the least textured half by smoothed gradient, so edges are left out. The responses' mean
    absolute value, trimmed of the top tenth (texture that slipped through), is 6 sigma times a
    half-normal's trimmed mean. With several channels, the RMS over channels.
    """
    channels = image if image.ndim == 3 else image[..., None]
    depth = channels.shape[2]
    gray = (channels.reshape(-1, depth).astype(np.float32) @ np.full(depth, 1 / depth, np.float32)).reshape(
        channels.shape[:2]
    )  # a matrix product: 20x faster than mean(axis=2)
    flat = _low_texture(gray, mask)
    if not flat.any():
        return 0.0
    responses = np.abs(cv2.filter2D(channels, cv2.CV_32F, _IMMERKAER)).reshape(*flat.shape, -1)
    sigmas = [_trimmed_sigma(responses[..., c][flat]) for c in range(responses.shape[2])]
    return float(math.sqrt(np.mean(np.square(sigmas))))


def estimate_blur(gray: np.ndarray, mask: np.ndarray | None = None, noise_sigma: float = 0.0) -> float:
    """Gaussian sigma (pixels) of a single-channel image's softness, 0 for pixel-sharp.

    Measured at its strongest edges (within `mask` (h, w), if given) by the re-blur gradient
    ratio; `noise_sigma` (the noise of `gray`, its units) is taken out of the gradients and keeps
    noise-level edges out. An image without clear edges reads as 0: nothing to match.
    """
    ratio = _reblur_ratio(gray.astype(np.float32), mask, noise_sigma, _EDGE_SHARE)
    return 0.0 if ratio is None else _blur_for_ratio(ratio)


def estimate_camera(frame_bgr: np.ndarray, face_box: tuple[int, int, int, int]) -> CameraLook:
    """The look of a BGR uint8 frame, measured on the face in `face_box` (x, y, w, h pixels: the
    bounding box of the face's landmarks); SHARP when the box is (nearly) off the frame.

    Noise from the low-texture pixels (skin) of at most `_NOISE_SIDE` squared at the face's centre;
    blur from the strongest edges of the face with a margin (eyes, brows, face outline), at most
    `_WORK_PIXELS` of them. Both at full resolution, the scale the overlay is drawn at. The work is
    bounded: under a millisecond at 640x480.
    """
    height, width = frame_bgr.shape[:2]
    x, y, w, h = face_box
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, width), min(y + h, height)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return SHARP
    noise = estimate_noise(_centre(frame_bgr[y0:y1, x0:x1], _NOISE_SIDE))
    gray = cv2.cvtColor(_work_region(frame_bgr, (x0, y0, x1 - x0, y1 - y0)), cv2.COLOR_BGR2GRAY)
    return CameraLook(noise, estimate_blur(gray, noise_sigma=noise * _GRAY_NOISE))


def extra_blur(look: CameraLook, own_blur: float = 0.3) -> float:
    """The blur an overlay needs on top of `own_blur` (the warp's own, pixels) to match `look`.

    Gaussian blurs add in variance: sqrt(max(b^2 - own^2, 0)). The default is what this module
    reads on `draw_texture` output: bilinear warps of area-sampled mip levels are close to pixel-
    sharp (0.3 px or less, the resolution floor of the estimate). Pad the region by 3x the result
    before `soften`, as the softened overlay spreads that far.
    """
    return math.sqrt(max(look.blur_sigma**2 - own_blur**2, 0.0))


def soften(region: np.ndarray, look: CameraLook, own_blur: float = 0.3) -> np.ndarray:
    """`region` (h, w, 4) premultiplied colour + alpha (float32 or uint8) blurred as the camera
    would, beyond the `own_blur` the warp already gives. Premultiplied colour blurs together with
    alpha without dark fringes; outside the region counts as transparent. Same shape and dtype
    (the same array when the warp is already as soft as the camera).
    """
    sigma = extra_blur(look, own_blur)
    if sigma <= 0.0:
        return region
    return cv2.GaussianBlur(region, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)


def add_noise(region: np.ndarray, coverage: np.ndarray, look: CameraLook, rng: np.random.Generator) -> None:
    """Add the camera's noise in place to a blended float32 (h, w, 3) region (8-bit units), weighted
    by the overlay's `coverage` (h, w) in 0-1: an opaque overlay pixel then carries the noise the
    camera pixel it replaced had (independent per channel, as sensor noise is), a pixel the overlay
    misses keeps its own.

    The noise is a window of a fixed sheet of white noise at a place `rng` draws (inside the sheet
    when the region fits, else wrapping around its edges): drawing fresh normal numbers for every
    pixel of every frame cost more than the rest of the blend, and a new place each frame is as
    uncorrelated with the last as fresh noise is.
    """
    if look.noise_sigma <= 0.0:
        return
    height, width = region.shape[:2]
    sheet = _noise_sheet()
    side = sheet.shape[0]
    if height <= side and width <= side:  # a view: no copy of the window
        top, left = int(rng.integers(0, side - height + 1)), int(rng.integers(0, side - width + 1))
        noise = sheet[top : top + height, left : left + width]
    else:
        top, left = (int(v) for v in rng.integers(0, side, 2))
        rows, columns = np.arange(top, top + height) % side, np.arange(left, left + width) % side
        noise = np.ascontiguousarray(sheet[rows][:, columns])
    weight = cv2.cvtColor(coverage.astype(np.float32) * np.float32(look.noise_sigma), cv2.COLOR_GRAY2BGR)
    region += cv2.multiply(noise, weight)  # OpenCV's per-element product: 10x numpy's broadcast over channels


@cache
def _noise_sheet() -> np.ndarray:
    """(_NOISE_SHEET, _NOISE_SHEET, 3) float32 standard normal noise, made once per process."""
    return np.random.default_rng(20_250_101).standard_normal((_NOISE_SHEET, _NOISE_SHEET, 3), dtype=np.float32)


def _gradient(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel x and y derivatives of a float32 image, scaled to intensity per pixel."""
    return (
        cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8),
        cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8),
    )


def _smoothed_gradient(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gradient of `image` re-blurred by sigma_r: edges without most of the noise."""
    return _gradient(cv2.GaussianBlur(image, (0, 0), _REBLUR))


@cache
def _noise_gains() -> tuple[float, float]:
    """Variance of one gradient component per unit noise variance: sharp, and after the re-blur."""
    impulse = np.zeros((41, 41), np.float32)
    impulse[20, 20] = 1.0
    sharp = float(np.square(_gradient(impulse)[0], dtype=np.float64).sum())
    smooth = float(np.square(_smoothed_gradient(impulse)[0], dtype=np.float64).sum())
    return sharp, smooth


def _interior(shape: tuple[int, ...], mask: np.ndarray | None, border: int) -> np.ndarray:
    """`mask` (or everything) less a `border` where the filters see past the image's edge."""
    inside = np.zeros(shape[:2], bool)
    inside[border:-border, border:-border] = True
    return inside if mask is None else inside & mask.astype(bool)


def _low_texture(gray: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The least textured `_TEXTURE_SHARE` of the pixels within `mask`, by smoothed gradient."""
    inside = _interior(gray.shape, mask, 1)
    if not inside.any():
        return inside
    gx, gy = _smoothed_gradient(gray)
    texture = gx * gx + gy * gy
    limit = _quantile(texture[inside], _TEXTURE_SHARE)
    return inside & (texture <= limit)


def _quantile(values: np.ndarray, q: float) -> float:
    """The `q` quantile of a 1-D array, without interpolation (np.quantile costs 10x more here)."""
    k = int(q * (values.size - 1))
    return float(np.partition(values, k)[k])


@cache
def _trimmed_half_normal_mean() -> float:
    """Mean of |x| for standard normal x over the lowest `_TRIM` share of |x|: the integral of
    2 x phi(x) up to that share's quantile z, over the share."""
    z = NormalDist().inv_cdf((1 + _TRIM) / 2)
    return math.sqrt(2 / math.pi) * (1 - math.exp(-z * z / 2)) / _TRIM


def _trimmed_sigma(responses: np.ndarray) -> float:
    """Noise sigma from absolute Immerkaer responses: the mean of the lowest `_TRIM` share, which
    for Gaussian noise is 6 sigma times a half-normal's trimmed mean."""
    kept = max(int(_TRIM * responses.size), 1)
    low = np.partition(responses, kept - 1)[:kept]
    return float(low.mean(dtype=np.float64) / (6.0 * _trimmed_half_normal_mean()))


def _reblur_ratio(image: np.ndarray, mask: np.ndarray | None, noise_sigma: float, share: float) -> float | None:
    """Median over strong edge peaks of |grad image| / |grad re-blurred image|, noise removed.

    Peaks are picked on the re-blurred gradient, where noise barely moves them, so noise spikes in
    the sharp gradient are not what gets chosen. Noise adds its variance to both squared gradients
    (2 components x gain x sigma^2), which is subtracted. None when too few edges stand out.
    """
    sharp_gain, smooth_gain = _noise_gains()
    noise_var = noise_sigma * noise_sigma
    gx, gy = _gradient(image)
    sx, sy = _smoothed_gradient(image)
    smooth2 = sx * sx + sy * sy
    peaks = _edge_peaks(
        smooth2, sx, sy, _interior(image.shape, mask, 4), share, (_EDGE_SNR * noise_sigma) ** 2 * 2 * smooth_gain
    )
    if peaks.size < _MIN_EDGES:
        return None
    sharp2 = gx.ravel()[peaks] ** 2 + gy.ravel()[peaks] ** 2 - 2 * sharp_gain * noise_var
    soft2 = smooth2.ravel()[peaks] - 2 * smooth_gain * noise_var
    return float(np.median(np.sqrt(np.maximum(sharp2, 0.0) / np.maximum(soft2, 1e-6))))


def _edge_peaks(
    strength2: np.ndarray, gx: np.ndarray, gy: np.ndarray, inside: np.ndarray, share: float, floor2: float
) -> np.ndarray:
    """Flat indices of edge peaks: among the strongest `share` of the pixels inside (squared
    gradient `strength2`, above `floor2`), those that are maxima across the edge (non-maximum
    suppression along the gradient direction quantised to 45 degrees)."""
    values = strength2[inside]
    if values.size == 0:
        return np.empty(0, np.intp)
    limit = max(_quantile(values[::4], 1.0 - share), floor2)  # a quarter of the pixels pins it down
    index = np.flatnonzero(inside & (strength2 > limit))
    ax, ay = np.abs(gx.ravel()[index]), np.abs(gy.ravel()[index])
    width = strength2.shape[1]
    tan_22_5 = math.tan(math.pi / 8)
    diagonal = np.where(gx.ravel()[index] * gy.ravel()[index] > 0, width + 1, width - 1)
    step = np.where(ay <= tan_22_5 * ax, 1, np.where(ax <= tan_22_5 * ay, width, diagonal))
    flat = strength2.ravel()
    centre = flat[index]
    return index[(centre >= flat[index + step]) & (centre > flat[index - step])]


@cache
def _calibration() -> tuple[np.ndarray, np.ndarray]:
    """(ratios, sigmas): the re-blur ratio this module measures on a pixel-sharp disc (area-sampled
    8x8 per pixel, so every edge direction and sub-pixel phase occurs) blurred by known sigmas."""
    size, radius, supersample = 96, 30.0, 8
    fine = (np.arange(size * supersample) + 0.5) / supersample - size / 2
    inside = (fine[None, :] - 0.3) ** 2 + (fine[:, None] - 0.2) ** 2 < radius**2
    disc = cv2.resize(inside.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA) * 100.0
    sigmas = np.arange(0.0, _MAX_BLUR + 1e-9, 0.05)
    ratios = []
    for sigma in sigmas:
        blurred = cv2.GaussianBlur(disc, (0, 0), sigma) if sigma > 0 else disc
        ratios.append(_reblur_ratio(blurred, None, 0.0, 0.04))  # 4%: the ridge along the disc's rim
    return np.minimum.accumulate(np.array(ratios, np.float64)), sigmas


def _blur_for_ratio(ratio: float) -> float:
    """Invert the calibration table (ratios fall as the blur grows)."""
    ratios, sigmas = _calibration()
    return float(np.interp(ratio, ratios[::-1], sigmas[::-1]))


def _centre(image: np.ndarray, side: int) -> np.ndarray:
    """The central part of `image`, at most `side` x `side`."""
    height, width = image.shape[:2]
    top, left = max((height - side) // 2, 0), max((width - side) // 2, 0)
    return image[top : top + side, left : left + side]


def _work_region(frame: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The face box with its margin, clipped to the frame; when that exceeds `_WORK_PIXELS`, its
    band across the eyes (a third of the way down a landmark box): brows, eyes and temples, where
    the glasses sit. Kept at full resolution: downscaling would read the blur at a coarser scale,
    and processed frames (sharpened, JPEG) are softer there than at the pixel scale that counts."""
    height, width = frame.shape[:2]
    x, y, w, h = box
    dx, dy = int(round(_FACE_MARGIN * w)), int(round(_FACE_MARGIN * h))
    x0, y0 = max(x - dx, 0), max(y - dy, 0)
    x1, y1 = min(x + w + dx, width), min(y + h + dy, height)
    rows = min(y1 - y0, max(_WORK_PIXELS // (x1 - x0), 1))
    top = min(max(y + h // 3 - rows // 2, y0), y1 - rows)
    return frame[top : top + rows, x0:x1]
