"""Load test of the live stream: N concurrent WebSocket sessions on loopback for a fixed time.

Starts the production server (gunicorn, as scripts/serve.sh does) on a free loopback port unless
--url names a running one, then runs the sessions: each sends 640x480 JPEG frames of a real face with
two frames in flight and gets the changed rectangle back, as the widget asks (--full: whole frames):
a webcam-like talking-head clip (tests/support/clips.py: rest, sways, a nod, talking, blinks, fresh
noise in every frame; the default) or the photo in brisk synthetic motion (--clip motion, the
model's worst case), after a few seconds' warm-up. Prints per-session fps, latency p50/p95
(frame sent -> rendered frame back), errors, the server's resident memory, and the capacity model:
the server's CPU time per displayed frame per session, and how many sessions one core serves at
30 fps. --compare runs each load twice, with the model on every frame (TRYON_STREAM_REUSE=0) and
skipping it where the face did not change (the default).

    .venv/bin/python bench/bench_stream.py --sessions 4 8 --seconds 10 --compare
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.support: the shared test photos' motion

from bench.procs import cpu_by_process, rss_mb  # noqa: E402
from tests.support.clips import ClipMaker, talking_head  # noqa: E402
from tests.support.motion import apply_transform, fit_to_canvas, motion_transforms
from tests.support.server import local_server
from tryon.config import PROJECT_ROOT, engines_per_process
from tryon.model_file import resolve_model_path
from tryon.tracking import FaceTracker

IN_FLIGHT = 2
WARM_UP_S = 3.0  # before the loads: the engines started, every session's graphs past their first frames


@dataclass
class SessionResult:
    frames: int = 0
    skipped: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def clip_frames(photo: Path, clip: str) -> list[bytes]:
    """JPEGs of the talking-head clip (300 frames) or of the photo in synthetic motion (60 frames)."""
    canvas = fit_to_canvas(cv2.imread(str(photo)))
    if clip == "motion":
        frames = [apply_transform(canvas, p)[0] for p in motion_transforms(60)]
    else:
        with FaceTracker(resolve_model_path()) as tracker:
            face = tracker.detect(canvas).primary
        assert face is not None, photo
        maker = ClipMaker(canvas, face.landmarks)
        frames = [maker.frame(pose, seed=index) for index, pose in enumerate(talking_head(300))]
    return [cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 75])[1].tobytes() for frame in frames]


def run_session(url: str, query: str, frames: list[bytes], seconds: float, result: SessionResult) -> None:
    try:
        ws = websocket.create_connection(f"{url}/api/v1/stream?{query}", timeout=10)
        ready = json.loads(ws.recv())
        if ready.get("type") != "ready":
            result.errors.append(f"not ready: {ready}")
            return
        sent: dict[int, float] = {}
        next_id = 1
        start = time.perf_counter()
        while True:
            now = time.perf_counter()
            while len(sent) < IN_FLIGHT and now - start < seconds:
                ws.send_binary(struct.pack(">I", next_id) + frames[next_id % len(frames)])
                sent[next_id] = time.perf_counter()
                next_id += 1
            if not sent:
                break
            message = ws.recv()
            if isinstance(message, str):
                status = json.loads(message)
                if status.get("type") == "error" or status.get("status") == "invalid_frame":
                    result.errors.append(str(status))
                continue
            frame_id = struct.unpack(">I", message[:4])[0]
            result.latencies_ms.append((time.perf_counter() - sent.pop(frame_id)) * 1000.0)
            result.frames += 1
            for stale in [i for i in sent if i < frame_id]:  # the server skipped to a newer frame
                del sent[stale]
                result.skipped += 1
        result.seconds = time.perf_counter() - start
        ws.close()
    except Exception as exc:  # noqa: BLE001  (every failure is counted, none stops the run)
        result.errors.append(repr(exc))


def run_load(url: str, pid: int | None, sessions: int, seconds: float, query: str, frames: list[bytes]) -> None:
    results = [SessionResult() for _ in range(sessions)]
    threads = [threading.Thread(target=run_session, args=(url, query, frames, seconds, r)) for r in results]
    peak = [0.0]
    done = threading.Event()

    def sample_memory() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], rss_mb(pid)) if pid else 0.0

    sampler = threading.Thread(target=sample_memory)
    cpu_before = cpu_by_process(pid) if pid else {}
    sampler.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    sampler.join()
    cpu_after = cpu_by_process(pid) if pid else {}
    server_cpu_s = sum(used - cpu_before.get(process, 0.0) for process, used in cpu_after.items())
    print(f"\n{sessions} session(s), {seconds:.0f} s, {query}")
    for index, result in enumerate(results, 1):
        if result.latencies_ms:
            p50, p95 = np.percentile(result.latencies_ms, [50, 95])
            fps = result.frames / max(result.seconds, 1e-9)
            print(
                f"  session {index}: {fps:6.1f} fps  latency p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                f"mean {statistics.fmean(result.latencies_ms):6.1f} ms  skipped {result.skipped}  "
                f"errors {len(result.errors)} {result.errors[:2] if result.errors else ''}"
            )
        else:
            print(f"  session {index}: no frames; errors {result.errors[:3]}")
    total_fps = sum(r.frames / max(r.seconds, 1e-9) for r in results)
    errors = sum(len(r.errors) for r in results)
    print(f"  total {total_fps:.1f} fps, errors {errors}" + (f", server RSS peak {peak[0]:.0f} MiB" if pid else ""))
    frames = sum(r.frames for r in results)
    if pid and frames:
        per_frame_ms = server_cpu_s / frames * 1000.0
        print(
            f"  capacity: server CPU {per_frame_ms:.1f} ms per displayed frame per session; "
            f"{1000.0 / (30.0 * max(per_frame_ms, 1e-9)):.1f} sessions per core at 30 fps"
        )


def warm_up(url: str, sessions: int, query: str, frames: list[bytes]) -> None:
    """A few seconds of sessions, not counted: a server that has served before has its engine
    processes started and its graphs' first frames behind it, as a live one does."""
    results = [SessionResult() for _ in range(sessions)]
    threads = [threading.Thread(target=run_session, args=(url, query, frames, WARM_UP_S, r)) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--products", default="round")
    parser.add_argument("--clip", choices=["talking", "motion"], default="talking")
    parser.add_argument("--compare", action="store_true", help="each load also with the model on every frame")
    parser.add_argument("--photo", type=Path, default=PROJECT_ROOT / "tests" / "data" / "faces" / "001_neutral.jpg")
    parser.add_argument("--url", help="ws://host:port of a running server (default: start one on loopback)")
    parser.add_argument(
        "--workers", type=int, default=1, help="gunicorn's processes (serve.sh's WORKERS; default 1, as it)"
    )
    parser.add_argument("--full", action="store_true", help="whole rendered frames back, not the widget's partial ones")
    args = parser.parse_args()
    frames = clip_frames(args.photo, args.clip)
    query = f"products={args.products}" + ("" if args.full else "&partial=1")
    if args.url:
        for sessions in args.sessions:
            run_load(args.url, None, sessions, args.seconds, query, frames)
        return
    env = {
        "TRYON_MODEL_PATH": str(resolve_model_path()),
        "TRYON_MAX_STREAMS_PER_CLIENT": str(max(args.sessions) + 1),
        "TRYON_MAX_STREAMS": str(max(args.sessions) + 1),
        "TRYON_ENGINE_PROCESSES": str(engines_per_process(args.workers)),  # as serve.sh shares them out
    }
    for reuse in ("0", "1") if args.compare else ("1",):
        print(f"\n== the model {'on every frame' if reuse == '0' else 'only where the face changed'}, {args.clip} clip")
        server = local_server({**env, "TRYON_STREAM_REUSE": reuse}, workers=args.workers)
        with server as (base, pid):  # every session is from 127.0.0.1
            warm_up(base.replace("http", "ws", 1), max(args.sessions), query, frames)
            for sessions in args.sessions:
                run_load(base.replace("http", "ws", 1), pid, sessions, args.seconds, query, frames)


if __name__ == "__main__":
    main()
