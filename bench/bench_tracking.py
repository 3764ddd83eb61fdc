"""Tracking benchmark: how much of the landmark model a live stream still pays, and what it costs.

Renders talking-head clips of the shared faces (tests/support/clips.py: rest, sways, a nod, talking,
blinks; dim warm light, soft optics, fresh sensor noise each frame) and runs each through the
stream engine in the same run: with the model on every frame (before), and with the
`ReusingTracker` (after) as a live session runs it for glasses (the mouth not watched) and for a
lipstick (watched), all with pose smoothing. Prints per clip:

- model invocations per frame, with glasses and with the lipstick;
- CPU per frame with glasses (tracking, anchor and light, drawing) as a ratio to one landmark
  inference, measured on the model calls of the same pass (CPU time of the process: MediaPipe's
  threads count);
- the glasses' placement difference against the model on every frame (lens centres and the front's
  corners, % of the eye distance): mean and max;
- with the lipstick, the lip landmarks' difference (mean over the lip contours, % of the eye
  distance) on frames where the mouth moves: mean and max; and, as its noise floor, how much the
  model on every frame moves the lips between two frames where the mouth did not move (the
  model's own jitter on a noisy webcam picture: a difference below it is no lag).

    .venv/bin/python bench/bench_tracking.py [--frames 300] [--faces 001_neutral.jpg 103_neutral.jpg ...]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support: the clips

from tests.support.clips import ClipMaker, talking_head
from tests.support.motion import fit_to_canvas
from tryon.config import PROJECT_ROOT, Settings
from tryon.glasses import GlassesRenderer
from tryon.makeup.landmarks import LIPS_INNER, LIPS_OUTER
from tryon.model_file import resolve_model_path
from tryon.pipeline import StreamEngine
from tryon.products import BuiltinCatalog, Product
from tryon.reuse import ReusingTracker, policy_for
from tryon.tracking import Detection, FaceTracker

FACES = PROJECT_ROOT.parent / "shared" / "faces"
LIPS = list(LIPS_OUTER + LIPS_INNER)


@dataclass
class Run:
    """One pass over a clip: per frame, the glasses' key points, lips, eye distance and CPU seconds."""

    points: np.ndarray  # (frames, 6, 2): lens centres and the front's corners
    lips: np.ndarray  # (frames, 40, 2)
    eye_distance: np.ndarray  # (frames,)
    cpu_s: np.ndarray  # (frames,)
    inference_cpu_s: float  # mean CPU of one model call in this run
    invocations: int


def run(
    frames: list[np.ndarray], products: list[Product], glasses: GlassesRenderer, model_path: Path, reuse: bool
) -> Run:
    """The clip through a stream engine drawing `products`: the model on every frame, or reusing as a
    live session does for these products (`tryon.reuse.policy_for`); where `glasses` would go."""
    tracker = TimedTracker(FaceTracker(model_path, video=True))
    policy = policy_for(product.category for product in products)
    source: TimedTracker | ReusingTracker = ReusingTracker(tracker, policy) if reuse else tracker  # type: ignore[arg-type]
    engine = StreamEngine.smoothed(source)
    points, lips, distances, cpu = [], [], [], []
    corners = np.array([[0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]], np.float64)
    box = glasses.asset.front_box
    corners[:, 0] = box[0] + corners[:, 0] * (box[2] - box[0])
    corners[:, 1] = box[1] + corners[:, 1] * (box[3] - box[1])
    try:
        for index, frame in enumerate(frames):
            start = time.process_time()
            _, tracked = engine.render(frame, products, timestamp_ms=round(index * 1000 / 30))
            cpu.append(time.process_time() - start)
            face, anchor = tracked.faces[0]
            placement = glasses.placement(anchor)
            front = corners @ placement.front.T
            points.append(np.vstack([placement.lens_centres_px, front[:, :2] / front[:, 2:]]))
            lips.append(face.landmarks[LIPS, :2])
            distances.append(face.inter_ocular_px)
    finally:
        tracker.close()
    model_s = tracker.cpu_s / max(tracker.calls, 1)
    return Run(np.array(points), np.array(lips), np.array(distances), np.array(cpu), model_s, tracker.calls)


class TimedTracker:
    """A VIDEO-mode `FaceTracker` that counts its model calls and their CPU time: one inference's cost
    is measured within the run it is compared with (this machine's speed drifts between runs)."""

    def __init__(self, tracker: FaceTracker) -> None:
        self.tracker, self.calls, self.cpu_s = tracker, 0, 0.0
        self.video = True

    def detect(self, frame: np.ndarray) -> Detection:
        start = time.process_time()
        try:
            return self.tracker.detect(frame)
        finally:
            self.calls += 1
            self.cpu_s += time.process_time() - start

    def close(self) -> None:
        self.tracker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--faces", nargs="+", default=["london/001_neutral.jpg", "london/103_neutral.jpg", "lisa2.jpg"])
    parser.add_argument("--products", default="round", help="the glasses")
    parser.add_argument("--lipstick", default="ruby-matte")
    args = parser.parse_args()
    settings = Settings.from_env()
    cv2.setNumThreads(settings.cv_threads)  # as the server runs its sessions
    model_path = resolve_model_path()
    catalog = BuiltinCatalog(settings.assets_dir)
    glasses = catalog.get(args.products)
    assert isinstance(glasses, GlassesRenderer)
    lipstick = catalog.get(args.lipstick)
    poses = talking_head(args.frames)
    mouth_moving = np.array([i > 0 and abs(p.jaw - poses[i - 1].jaw) > 1e-3 for i, p in enumerate(poses)])
    print(f"talking-head clips, {args.frames} frames at 30 fps, 640x480, {args.products} / {args.lipstick}")
    print(f"  mouth moving on {mouth_moving.mean():.0%} of frames; before = the model on every frame")
    totals = []
    with FaceTracker(model_path) as still:
        for name in args.faces:
            canvas = fit_to_canvas(cv2.imread(str(FACES / name)))
            found = still.detect(canvas).primary
            assert found is not None, name
            maker = ClipMaker(canvas, found.landmarks)
            frames = [maker.frame(pose, seed=index) for index, pose in enumerate(poses)]
            before = run(frames, [glasses], glasses, model_path, False)
            after = run(frames, [glasses], glasses, model_path, True)
            talking = run(frames, [lipstick], glasses, model_path, True)
            model = before.inference_cpu_s
            placement = np.linalg.norm(after.points - before.points, axis=2).mean(axis=1) / before.eye_distance
            lips = np.linalg.norm(talking.lips - before.lips, axis=2).mean(axis=1)[mouth_moving]
            lips /= before.eye_distance[mouth_moving]
            unmoved = ~mouth_moving[1:] & ~mouth_moving[:-1]
            jitter = np.linalg.norm(np.diff(before.lips, axis=0), axis=2).mean(axis=1)[unmoved]
            jitter /= before.eye_distance[1:][unmoved]
            row = (
                after.invocations / len(frames),
                talking.invocations / len(frames),
                before.cpu_s.mean() / model,
                after.cpu_s.mean() / after.inference_cpu_s,
                placement.mean(),
                placement.max(),
                lips.mean(),
                lips.max(),
                jitter.mean(),
                jitter.max(),
            )
            totals.append(row)
            print(
                f"  {name:<24} inference {model * 1000:5.2f} / {after.inference_cpu_s * 1000:5.2f} ms CPU | model "
                f"calls/frame glasses {row[0]:.2f}, "
                f"lipstick {row[1]:.2f} | CPU/frame {row[2]:.2f} -> {row[3]:.2f} x inference | placement mean "
                f"{row[4]:.2%} max {row[5]:.2%} IOD | lips while talking mean {row[6]:.2%} max {row[7]:.2%} IOD "
                f"(model jitter, mouth still: mean {row[8]:.2%} max {row[9]:.2%})"
            )
    mean, worst = np.mean(totals, axis=0), np.max(totals, axis=0)
    print(
        f"  {'mean':<24} {'':>33} | model calls/frame glasses {mean[0]:.2f}, lipstick {mean[1]:.2f} | CPU/frame "
        f"{mean[2]:.2f} -> {mean[3]:.2f} x inference | placement mean {mean[4]:.2%} max {worst[5]:.2%} IOD | lips "
        f"while talking mean {mean[6]:.2%} max {worst[7]:.2%} IOD (model jitter, mouth still: mean {mean[8]:.2%} "
        f"max {worst[9]:.2%})"
    )


if __name__ == "__main__":
    main()
