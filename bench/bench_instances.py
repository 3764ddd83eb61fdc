"""Live sessions through the production front: one app instance against several behind nginx.

Starts the instances (gunicorn, one worker each, as scripts/serve-production.sh with INSTANCES does)
on loopback ports and nginx in front of them (scripts/serve-production.sh with UPSTREAMS: TLS,
least-connections balancing), then runs N shoppers at once through nginx, each a widget as it is
now (bench/bench_network.py's WidgetClient: a 30 fps camera, the in-flight window from the round
trip, partial replies) playing bench/bench_stream.py's talking-head clip (or, with --clip motion,
bench_network.py's shots in brisk motion, uploads sized from the round trip). Per load: fps shown
per session (mean and the slowest), latency p50/p95, and the instances' CPU time per displayed
frame. All of it shares this machine's cores: instances, nginx and the shoppers. Every stack runs
from the start, the loads taking turns, so other work on the machine weighs on both alike.

    .venv/bin/python bench/bench_instances.py --instances 1 2 --sessions 2 4 6 8 --seconds 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: bench, tests.support

from bench.bench_network import CAMERA_FPS, ClientConfig, WidgetClient, camera_clips, warm_up
from bench.bench_stream import clip_frames
from bench.procs import cpu_seconds
from tests.support.server import local_server, production_front
from tryon.config import PROJECT_ROOT, engines_per_process
from tryon.model_file import resolve_model_path


def run_load(front_port: int, pids: list[int], clips: dict, config: ClientConfig, sessions: int, seconds: float) -> str:
    """N shoppers through the front for `seconds`; a table row of what they saw."""
    url = f"wss://127.0.0.1:{front_port}/api/v1/stream?products=aviator&partial=1"
    clients = [WidgetClient(url, clips, config) for _ in range(sessions)]
    start = time.perf_counter() + 0.2
    threads = [threading.Thread(target=client.run, args=(start, seconds)) for client in clients]
    cpu_before = sum(cpu_seconds(pid) for pid in pids)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cpu_ms = (sum(cpu_seconds(pid) for pid in pids) - cpu_before) * 1000
    fps = [client.stats.shown / seconds for client in clients]
    latencies = [ms for client in clients for ms in client.stats.latencies_ms]
    p50, p95 = np.percentile(latencies, [50, 95]) if latencies else (0.0, 0.0)
    errors = sum(len(client.stats.errors) for client in clients)
    shown = max(1, sum(client.stats.shown for client in clients))
    return (
        f"| {len(pids)} | {sessions} | {np.mean(fps):.1f} / {min(fps):.1f} | {p50:.0f} / {p95:.0f} "
        f"| {cpu_ms / shown:.1f} | {errors} |"
    )


def start_stack(stack: ExitStack, env: dict[str, str], count: int, tmp: Path) -> tuple[int, list[int]]:
    """`count` warmed-up instances and a front before them; (the front's port, the instances' pids).
    The instances share the cores' engine processes out as scripts/serve-production.sh does."""
    threads = int(env["TRYON_MAX_STREAMS"]) + 8
    env = {**env, "TRYON_ENGINE_PROCESSES": str(engines_per_process(count))}
    instances = [stack.enter_context(local_server(env, threads=threads)) for _ in range(count)]
    upstreams = [base.removeprefix("http://") for base, _pid in instances]
    base, _log = stack.enter_context(production_front(tmp / f"front-{count}", env, upstreams=upstreams))
    for upstream in upstreams:
        warm_up(int(upstream.rsplit(":", 1)[1]), "aviator")
    return int(base.rsplit(":", 1)[1]), [pid for _, pid in instances]


def trusted_certificate(tmp: Path) -> dict[str, str]:
    """A self-signed pair for 127.0.0.1, which every front serves and the shoppers trust."""
    cert, key = tmp / "front.crt", tmp / "front.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    os.environ["WEBSOCKET_CLIENT_CA_BUNDLE"] = str(cert)  # websocket-client's trusted certificates
    return {"TRYON_CERT": str(cert), "TRYON_KEY": str(key)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sessions", type=int, nargs="+", default=[2, 4, 6, 8])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clip", choices=["talking", "motion"], default="talking")
    args = parser.parse_args()
    if args.clip == "talking":  # bench_stream.py's webcam-like talking head, uploaded at 640 px
        config = ClientConfig(window=None, max_window=6, upload_width=640, partial=True)
        clips = {640: clip_frames(PROJECT_ROOT / "tests" / "data" / "faces" / "001_neutral.jpg", "talking")}
    else:  # bench_network.py's webcam shots in brisk motion (the landmark model on every frame)
        config = ClientConfig(window=None, max_window=6, upload_width=0, partial=True)
        clips = camera_clips(config)
    tmp = tempfile.mkdtemp(prefix="tryon-bench-")
    env = {
        "TRYON_DATA_DIR": tmp,  # a catalogue of its own, shared by the instances (SQLite on one machine)
        "TRYON_MODEL_PATH": str(resolve_model_path()),
        "TRYON_BEHIND_PROXY": "1",
        "TRYON_MAX_STREAMS": str(max(args.sessions)),
        "TRYON_MAX_STREAMS_PER_CLIENT": str(max(args.sessions)),  # every shopper comes from 127.0.0.1
        "MALLOC_ARENA_MAX": "2",
        **trusted_certificate(Path(tmp)),
    }
    print(f"{os.cpu_count()} cores; camera {CAMERA_FPS:.0f} fps; {args.clip} clip; {args.seconds:.0f} s per load\n")
    print("| instances | sessions | fps shown mean / slowest | latency p50 / p95 ms | server CPU ms/frame | errors |")
    print("|---|---|---|---|---|---|")
    try:
        with ExitStack() as stack:
            stacks = [start_stack(stack, env, count, Path(tmp)) for count in args.instances]
            for sessions in args.sessions:
                for front_port, pids in stacks:
                    print(run_load(front_port, pids, clips, config, sessions, args.seconds), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
