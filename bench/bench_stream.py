"""Load test of the live stream: N concurrent WebSocket sessions on loopback for a fixed time.

Starts the production server (gunicorn, as scripts/serve.sh does) on a free loopback port unless
--url names a running one, then runs the sessions: each sends 640x480 JPEG frames of a real face in
synthetic motion with two frames in flight, as the widget does. Prints per-session fps, latency
p50/p95 (frame sent -> rendered frame back), errors, and the server's resident memory.

    .venv/bin/python bench/bench_stream.py --sessions 1 4 --seconds 10
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

from tests.support.motion import apply_transform, fit_to_canvas, motion_transforms  # noqa: E402
from tests.support.server import local_server
from tryon.config import PROJECT_ROOT
from tryon.model_file import resolve_model_path

IN_FLIGHT = 2


@dataclass
class SessionResult:
    frames: int = 0
    skipped: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def clip_frames(photo: Path, count: int = 60) -> list[bytes]:
    canvas = fit_to_canvas(cv2.imread(str(photo)))
    return [
        cv2.imencode(".jpg", apply_transform(canvas, p)[0], [cv2.IMWRITE_JPEG_QUALITY, 75])[1].tobytes()
        for p in motion_transforms(count)
    ]


def run_session(url: str, products: str, frames: list[bytes], seconds: float, result: SessionResult) -> None:
    try:
        ws = websocket.create_connection(f"{url}/api/v1/stream?products={products}", timeout=10)
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


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MiB (Linux /proc)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total / 1024.0


def run_load(url: str, pid: int | None, sessions: int, seconds: float, products: str, frames: list[bytes]) -> None:
    results = [SessionResult() for _ in range(sessions)]
    threads = [threading.Thread(target=run_session, args=(url, products, frames, seconds, r)) for r in results]
    peak = [0.0]
    done = threading.Event()

    def sample_memory() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], rss_mb(pid)) if pid else 0.0

    sampler = threading.Thread(target=sample_memory)
    sampler.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    sampler.join()
    print(f"\n{sessions} session(s), {seconds:.0f} s, products {products}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--products", default="round")
    parser.add_argument("--photo", type=Path, default=PROJECT_ROOT / "tests" / "data" / "faces" / "001_neutral.jpg")
    parser.add_argument("--url", help="ws://host:port of a running server (default: start one on loopback)")
    args = parser.parse_args()
    frames = clip_frames(args.photo)
    if args.url:
        for sessions in args.sessions:
            run_load(args.url, None, sessions, args.seconds, args.products, frames)
        return
    env = {"TRYON_MODEL_PATH": str(resolve_model_path()), "TRYON_MAX_STREAMS_PER_CLIENT": str(max(args.sessions) + 1)}
    with local_server(env) as (base, pid):  # every bench session comes from 127.0.0.1
        for sessions in args.sessions:
            run_load(base.replace("http", "ws", 1), pid, sessions, args.seconds, args.products, frames)


if __name__ == "__main__":
    main()
