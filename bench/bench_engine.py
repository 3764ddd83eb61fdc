"""Engine benchmark: where the time of one try-on frame goes, at webcam resolutions.

Prints, for the same frame in one run: face landmarks (MediaPipe, VIDEO mode), anchor + pose
smoothing, drawing each catalogue product, a full makeup look, JPEG decode + encode (what the live
stream adds per frame) and the glasses total, each as ms/frame (mean, p50, p95) with fps and as a
ratio to the landmark time measured in the same run.

    .venv/bin/python bench/bench_engine.py [--frames 200] [--photo PATH] [--size 640x480 ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support: the shared test photos' motion

from tests.support.motion import fit_to_canvas  # noqa: E402
from tryon.anchor import AnchorSmoother, anchor_from_face
from tryon.config import PROJECT_ROOT, Settings
from tryon.imaging import decode_image, encode_image
from tryon.model_file import resolve_model_path
from tryon.pipeline import Tracked, TryOnEngine
from tryon.products import BuiltinCatalog
from tryon.tracking import FaceTracker

DEFAULT_PHOTO = PROJECT_ROOT / "tests" / "data" / "faces" / "001_neutral.jpg"


def timed(function: Callable[[], object], frames: int, warmup: int = 10) -> list[float]:
    """Milliseconds of each of `frames` calls, after a warm-up."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(frames):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def summary(name: str, samples: list[float], reference: float) -> str:
    mean = statistics.fmean(samples)
    p50, p95 = np.percentile(samples, [50, 95])
    return (
        f"  {name:<44} {mean:8.2f} ms  p50 {p50:7.2f}  p95 {p95:7.2f}  "
        f"{1000.0 / mean:8.1f} fps  {mean / reference:6.1%} of landmarks"
    )


FULL_LOOK = ["ruby-matte", "smoky-eyes", "classic-wing", "peach-blush", "foundation-medium"]


def bench_size(photo: Path, size: tuple[int, int], frames: int, catalog: BuiltinCatalog, model: Path) -> None:
    frame = fit_to_canvas(cv2.imread(str(photo)), size)
    jpeg = encode_image(frame, "jpeg", 80)
    with FaceTracker(model, video=True) as tracker:
        landmarks = timed(lambda: tracker.detect(frame), frames)
        detection = tracker.detect(frame)
    face = detection.primary
    if face is None:
        raise SystemExit(f"no face in {photo}")
    smoother = AnchorSmoother()
    clock = iter(range(10**9))
    anchor_times = timed(lambda: smoother(anchor_from_face(face), next(clock) / 30), frames)
    tracked = Tracked(detection, ((face, anchor_from_face(face)),))
    reference = statistics.fmean(landmarks)
    print(
        f"\n{size[0]}x{size[1]}, {frames} frames, photo {photo.name}, "
        f"face {face.inter_ocular_px:.0f} px between the eyes"
    )
    print(summary("landmarks (MediaPipe)", landmarks, reference))
    print(summary("anchor + smoothing", anchor_times, reference))
    renders = {}
    for entry in catalog.entries():
        if entry.kind != "look":
            product = catalog.get(entry.sku)
            renders[entry.sku] = timed(lambda product=product: TryOnEngine.draw(frame, tracked, [product]), frames)
            print(summary(f"render {entry.sku} ({entry.kind})", renders[entry.sku], reference))
    look = catalog.resolve(FULL_LOOK)
    full_look = timed(lambda: TryOnEngine.draw(frame, tracked, look), frames)
    print(summary("full look (5 products)", full_look, reference))
    codec = timed(lambda: encode_image(decode_image(jpeg), "jpeg", 80), frames)
    print(summary("JPEG decode + encode", codec, reference))
    glasses = [entry.sku for entry in catalog.entries() if entry.kind == "glasses"]
    slowest = max(glasses, key=lambda key: statistics.fmean(renders[key]))
    overhead = [a + r + c for a, r, c in zip(anchor_times, renders[slowest], codec)]
    total = [mark + extra for mark, extra in zip(landmarks, overhead)]
    print(summary(f"glasses overhead ({slowest})", overhead, reference))
    print(summary("glasses total per frame", total, reference))
    print(
        f"  glasses render + codec overhead = {statistics.fmean(overhead) / reference:.1%} of landmark time "
        f"(target < 30%); total = {statistics.fmean(total) / reference:.2f} x landmark time"
    )
    print(
        f"  full look ({' + '.join(FULL_LOOK)}) = {statistics.fmean(full_look) / reference:.1%} "
        f"of landmark time (target < 50% at 640x480)"
    )


def bench_frame_size_independence(photo: Path, frames: int, catalog: BuiltinCatalog, model: Path) -> None:
    """The full look on the same face in a 640x480 frame and pasted into a 1280x720 one: cost follows the face."""
    small = fit_to_canvas(cv2.imread(str(photo)), (640, 480))
    large = np.zeros((720, 1280, 3), np.uint8)
    large[120:600, 320:960] = small
    look = catalog.resolve(FULL_LOOK)
    times = {}
    with FaceTracker(model) as tracker:
        for name, frame in (("640x480", small), ("1280x720", large)):
            detection = tracker.detect(frame)
            face = detection.primary
            tracked = Tracked(detection, ((face, anchor_from_face(face)),))
            times[name] = timed(lambda frame=frame, tracked=tracked: TryOnEngine.draw(frame, tracked, look), frames)
    ratio = statistics.fmean(times["1280x720"]) / statistics.fmean(times["640x480"])
    print(
        f"\nsame face ({face.inter_ocular_px:.0f} px), full look: 640x480 {statistics.fmean(times['640x480']):.2f} ms, "
        f"1280x720 {statistics.fmean(times['1280x720']):.2f} ms (ratio {ratio:.2f}; the frame copy is the only "
        f"part that grows with the frame)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--size", action="append", help="WIDTHxHEIGHT (repeatable); default 640x480 and 1280x720")
    args = parser.parse_args()
    settings = Settings.from_env()
    catalog = BuiltinCatalog(settings.assets_dir)
    for size in args.size or ["640x480", "1280x720"]:
        width, height = (int(v) for v in size.split("x"))
        bench_size(args.photo, (width, height), args.frames, catalog, resolve_model_path(settings))
    bench_frame_size_independence(args.photo, args.frames, catalog, resolve_model_path(settings))


if __name__ == "__main__":
    main()
