"""The live try-on over emulated shopper networks: frame rate, motion-to-photon latency, traffic and
server CPU per displayed frame, for each link profile (bench/netem.py).

Starts the production server (gunicorn, as scripts/serve.sh does) on loopback and puts a link
emulator in front of it: each session is one shopper on their own link. A session behaves like the
widget: a camera at 30 fps (real webcam shots, tests/data/faces/lisa1-4.jpg, fitted to 640x480 and
in synthetic motion, JPEG at the browser's toBlob quality), frames sent as [uint32 id][JPEG] after
the server's {"type": "ready"}, a camera frame dropped while the window of frames in flight is full,
a reply shown unless a newer one was shown already. Today's widget keeps 2 frames in flight; the
client can also model an improved one: `--window auto` (enough frames in flight to cover the
measured round trip at the camera rate, up to `--max-window`, none added while the socket's send
buffer is backlogged), `--upload-width` (smaller uploads) and `--partial` (ask for partial replies,
[uint32 id][uint16 x, y, w, h][JPEG of that rectangle]; full replies are accepted either way).

Per profile: fps shown; latency p50/p95 from a frame's capture to the arrival of its rendered reply
(the browser's JPEG encoding, decoding and drawing are not included); uplink and downlink Mbit/s
per session (TCP payload through the emulator); kB per displayed frame each way; and the server's
CPU time (gunicorn's processes, /proc) per displayed frame.

    .venv/bin/python bench/bench_network.py                              # today's widget, all profiles
    .venv/bin/python bench/bench_network.py --profiles 4g weak --window auto --partial --upload-width 480
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import struct
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: bench.netem, tests.support

from bench.netem import PROFILES, LinkEmulator, LinkProfile, Traffic
from bench.procs import cpu_seconds
from tests.support.motion import apply_transform, fit_to_canvas, motion_transforms
from tests.support.server import local_server
from tryon.config import PROJECT_ROOT
from tryon.model_file import resolve_model_path

PHOTOS = [PROJECT_ROOT / "tests" / "data" / "faces" / f"lisa{n}.jpg" for n in range(1, 5)]
CAMERA_SIZE = (640, 480)
CAMERA_FPS = 30.0
FRAMES_PER_PHOTO = 60  # two seconds of motion for each shot, then the next
JPEG_SOI = b"\xff\xd8"
RECT_HEADER = struct.Struct(">4H")
SIOCOUTQNSD = 0x894B  # Linux: bytes in a socket's send queue not yet sent
WARM_UP_S = 2.0
CLOSE_WAIT_S = 5.0


@dataclass(frozen=True)
class ClientConfig:
    """How the widget behaves: frames in flight (None: sized from the round trip), upload, replies."""

    window: int | None = 2
    max_window: int = 8
    upload_width: int = CAMERA_SIZE[0]
    jpeg_quality: float = 0.75
    partial: bool = False


@dataclass
class SessionStats:
    """What one session saw during the measured seconds."""

    camera_frames: int = 0
    sent: int = 0
    shown: int = 0
    skipped: int = 0  # sent frames the server skipped for a newer one, or whose reply was overtaken
    backlogged: int = 0  # camera frames dropped because the uplink was backed up (--window auto)
    partial_replies: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    windows: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProfileResult:
    profile: LinkProfile
    sessions: list[SessionStats]
    seconds: float
    traffic: Traffic
    cpu_ms: float  # the server's
    bench_cpu_ms: float  # this process's: the clients and the emulator, which share the machine with it

    @property
    def shown(self) -> int:
        return sum(s.shown for s in self.sessions)


UPLOAD_WIDTHS = (640, 480, 360)  # static/widget.js's steps


def upload_width_for(min_rtt_s: float) -> int:
    """The upload width the widget picks for a link of this (fastest seen) round trip (`uploadWidth`)."""
    return UPLOAD_WIDTHS[0 if min_rtt_s <= 0.055 else 1 if min_rtt_s <= 0.070 else 2]


def camera_clips(config: ClientConfig) -> dict[int, list[bytes]]:
    """The camera's frames as the widget uploads them, by upload width: all the widget's steps with
    `--upload-width auto` (0), else the one width asked for."""
    widths = UPLOAD_WIDTHS if config.upload_width == 0 else (min(config.upload_width, CAMERA_SIZE[0]),)
    return {width: camera_clip(config, width) for width in widths}


def camera_clip(config: ClientConfig, width: int) -> list[bytes]:
    """The camera's frames as the widget uploads them: JPEG, scaled to `width`."""
    size = (width, round(CAMERA_SIZE[1] * width / CAMERA_SIZE[0]))
    quality = [cv2.IMWRITE_JPEG_QUALITY, round(config.jpeg_quality * 100)]
    clip = []
    for photo in PHOTOS:
        canvas = fit_to_canvas(cv2.imread(str(photo)), CAMERA_SIZE)
        for parameters in motion_transforms(FRAMES_PER_PHOTO):
            frame = cv2.resize(apply_transform(canvas, parameters)[0], size, interpolation=cv2.INTER_AREA)
            clip.append(cv2.imencode(".jpg", frame, quality)[1].tobytes())
    return clip


def is_partial_reply(body: bytes, size: tuple[int, int]) -> bool:
    """Whether a rendered reply (what follows its id) is a partial one; ValueError if it is malformed.

    A full reply is a JPEG of the whole frame; a partial one starts with (x, y, w, h), then the JPEG
    of that rectangle of the frame of `size` (none when w is 0: nothing was drawn, the client shows
    its own frame).
    """
    if body.startswith(JPEG_SOI):
        return False
    if len(body) < RECT_HEADER.size:
        raise ValueError(f"reply of {len(body)} bytes is neither a JPEG nor a rectangle")
    x, y, w, h = RECT_HEADER.unpack_from(body)
    jpeg = body[RECT_HEADER.size :]
    if w == 0:
        if jpeg:
            raise ValueError("an empty rectangle with an image")
    elif x + w > size[0] or y + h > size[1] or not jpeg.startswith(JPEG_SOI):
        raise ValueError(f"bad partial reply: rect {(x, y, w, h)} in {size}, {len(jpeg)} bytes of image")
    return True


def unsent_bytes(sock: websocket.WebSocket) -> int:
    """Bytes the client handed to its socket that have not gone out yet: the uplink is backed up.
    A connection the server closed raises, as a send on it would (an error of the session)."""
    if sock.sock is None:
        raise websocket.WebSocketConnectionClosedException("the server closed the connection")
    buffer = fcntl.ioctl(sock.sock.fileno(), SIOCOUTQNSD, b"\0" * 4)
    return struct.unpack("i", buffer)[0]


class WidgetClient:
    """One shopper's widget on one connection: a 30 fps camera sending, a thread receiving."""

    def __init__(self, url: str, clips: dict[int, list[bytes]], config: ClientConfig) -> None:
        self.clips, self.size, self.config = clips, CAMERA_SIZE, config
        self.stats = SessionStats()
        self.ws = websocket.create_connection(url, timeout=10)
        ready = json.loads(self.ws.recv())
        if ready.get("type") != "ready":
            raise RuntimeError(f"not ready: {ready}")
        self._lock = threading.Lock()
        self._in_flight: dict[int, float] = {}  # frame id -> capture time
        self._last_shown = 0
        self._rtt_s = 0.0  # smoothed capture-to-reply time, as the improved widget keeps it
        self._min_rtt_s = math.inf  # the fastest reply: the link and server without a queue
        self._end = math.inf
        self._receiver = threading.Thread(target=self._receive, daemon=True)
        self._receiver.start()

    def run(self, start: float, seconds: float) -> None:
        """Capture at the camera's rate from `start` for `seconds`; then close the connection."""
        self._end = start + seconds
        try:
            self._camera(start)
        except (OSError, websocket.WebSocketException) as exc:
            self.stats.errors.append(repr(exc))
        self._close()

    def _camera(self, start: float) -> None:
        interval = 1.0 / CAMERA_FPS
        tick = 0
        while (capture := start + tick * interval) < self._end:
            time.sleep(max(0.0, capture - time.perf_counter()))
            late = int((time.perf_counter() - capture) / interval)  # ticks missed while a send blocked
            self.stats.camera_frames += 1 + late
            tick += 1 + late
            capture += late * interval
            if self._may_send():
                frame_id = tick
                with self._lock:
                    self._in_flight[frame_id] = capture
                clip = self.clips[self._upload_width()]
                self.ws.send_binary(struct.pack(">I", frame_id) + clip[frame_id % len(clip)])
                self.stats.sent += 1

    def _upload_width(self) -> int:
        """The width to upload at: fixed, or (auto) the widget's choice for the round trip seen."""
        if len(self.clips) == 1:
            return next(iter(self.clips))
        with self._lock:
            return upload_width_for(self._min_rtt_s)

    def _may_send(self) -> bool:
        """Today's widget: fewer than `window` frames in flight. Auto: the round trip's worth, uplink idle."""
        with self._lock:
            in_flight = len(self._in_flight)
            window = self.config.window or self._auto_window()
        self.stats.windows.append(window)
        if self.config.window is None and unsent_bytes(self.ws) > 0:
            self.stats.backlogged += 1
            return False
        return in_flight < window

    def _auto_window(self) -> int:
        interval = 1.0 / CAMERA_FPS
        rtt = self._rtt_s or 2 * interval
        return max(2, min(self.config.max_window, math.ceil(rtt / interval) + 1))  # as static/widget.js does

    def _receive(self) -> None:
        try:
            while True:
                opcode, data = self.ws.recv_data()
                arrived = time.perf_counter()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    return
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    self._status(json.loads(data), arrived)
                else:
                    self._reply(data, arrived)
        except (OSError, ValueError, websocket.WebSocketException) as exc:
            if time.perf_counter() < self._end:
                self.stats.errors.append(repr(exc))

    def _reply(self, data: bytes, arrived: float) -> None:
        frame_id = struct.unpack_from(">I", data)[0]
        partial = is_partial_reply(data[4:], self.size)
        with self._lock:
            captured = self._in_flight.pop(frame_id, None)
            overtaken = [i for i in self._in_flight if i < frame_id]
            for old in overtaken:
                del self._in_flight[old]
            if captured is None or frame_id <= self._last_shown:
                return
            self._last_shown = frame_id
            latency = arrived - captured
            self._rtt_s = 0.8 * self._rtt_s + 0.2 * latency if self._rtt_s else latency
            self._min_rtt_s = min(self._min_rtt_s, latency)
        if arrived <= self._end:
            self.stats.skipped += len(overtaken)
            self.stats.shown += 1
            self.stats.partial_replies += partial
            self.stats.latencies_ms.append(latency * 1000.0)

    def _status(self, status: dict, arrived: float) -> None:
        if status.get("type") == "error" or status.get("status") == "invalid_frame":
            self.stats.errors.append(str(status))
        elif status.get("type") == "frame" and arrived <= self._end:
            self.stats.server_ms.append(sum(status.get("ms", {}).values()))

    def _close(self) -> None:
        try:
            self.ws.send_close()
        except (OSError, websocket.WebSocketException):
            pass
        self._receiver.join(CLOSE_WAIT_S)
        self.ws.shutdown()


def stream_url(port: int, product: str, config: ClientConfig) -> str:
    query = f"products={product}" + ("&partial=1" if config.partial else "")
    return f"ws://127.0.0.1:{port}/api/v1/stream?{query}"


def connect_clients(port: int, product: str, config: ClientConfig, sessions: int) -> list[WidgetClient]:
    clips = camera_clips(config)
    return [WidgetClient(stream_url(port, product, config), clips, config) for _ in range(sessions)]


def measure_profile(
    server: tuple[int, int], profile: LinkProfile, config: ClientConfig, product: str, sessions: int, seconds: float
) -> ProfileResult:
    """Run the sessions through one emulated link; traffic and CPU are taken over the measured seconds."""
    port, pid = server
    emulator = LinkEmulator.for_profile(port, profile)
    with emulator as local_port:
        clients = connect_clients(local_port, product, config, sessions)
        start = time.perf_counter() + 0.1
        threads = [threading.Thread(target=c.run, args=(start, seconds)) for c in clients]
        for thread in threads:
            thread.start()
        samples = []
        for when in (start, start + seconds):
            time.sleep(max(0.0, when - time.perf_counter()))
            samples.append((emulator.traffic(), cpu_seconds(pid), time.process_time()))
        for thread in threads:
            thread.join()
    (traffic0, cpu0, bench0), (traffic1, cpu1, bench1) = samples
    stats = [c.stats for c in clients]
    return ProfileResult(profile, stats, seconds, traffic1 - traffic0, (cpu1 - cpu0) * 1000, (bench1 - bench0) * 1000)


def warm_up(port: int, product: str) -> None:
    """One unmeasured session straight to the server: the first frames of a fresh process are slow."""
    for client in connect_clients(port, product, ClientConfig(), 1):
        client.run(time.perf_counter(), WARM_UP_S)


def percentiles(values: list[float]) -> str:
    if not values:
        return "-"
    p50, p95 = np.percentile(values, [50, 95])
    return f"{p50:.0f} / {p95:.0f}"


def detail_line(result: ProfileResult) -> str:
    """What explains the figures: where camera frames went, server time, window, the bench's CPU, errors."""
    stats = result.sessions
    camera, sent, shown = (sum(getattr(s, name) for s in stats) for name in ("camera_frames", "sent", "shown"))
    server_ms = [ms for s in stats for ms in s.server_ms]
    windows = [w for s in stats for w in s.windows]
    errors = [e for s in stats for e in s.errors]
    return (
        f"{result.profile.name}: camera {camera}, sent {sent}, shown {shown}, skipped {sum(s.skipped for s in stats)}"
        f", held by backlog {sum(s.backlogged for s in stats)}, partial replies {sum(s.partial_replies for s in stats)}"
        f", server ms p50 / p95 {percentiles(server_ms)}"
        f", mean window {np.mean(windows) if windows else 0:.1f}"
        f", bench CPU {result.bench_cpu_ms / max(shown, 1):.1f} ms/frame"
        f", errors {len(errors)} {errors[:2] if errors else ''}"
    )


def table_row(result: ProfileResult) -> str:
    sessions, shown, seconds = len(result.sessions), max(result.shown, 1), result.seconds
    up, down = result.traffic.up_bytes, result.traffic.down_bytes
    cells = [
        result.profile.name,
        f"{result.shown / sessions / seconds:.1f}",
        percentiles([ms for s in result.sessions for ms in s.latencies_ms]),
        f"{up * 8 / 1e6 / seconds / sessions:.1f}",
        f"{down * 8 / 1e6 / seconds / sessions:.1f}",
        f"{up / 1000 / shown:.1f}",
        f"{down / 1000 / shown:.1f}",
        f"{result.cpu_ms / shown:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


TABLE_HEADER = (
    "| link | fps shown | latency p50 / p95 ms | up Mbit/s | down Mbit/s | up kB/frame | down kB/frame "
    "| server CPU ms/frame |\n|---|---|---|---|---|---|---|---|"
)


def upload_arg(text: str) -> int:
    """`auto` (0: the widget's choice from the round trip) or a width in pixels."""
    return 0 if text == "auto" else int(text)


def window_arg(text: str) -> int | None:
    """`auto` (None) or a fixed number of frames in flight."""
    if text == "auto":
        return None
    window = int(text)
    if window < 1:
        raise argparse.ArgumentTypeError("the window is at least 1 frame")
    return window


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", nargs="+", choices=list(PROFILES), default=list(PROFILES))
    parser.add_argument("--sessions", type=int, default=1, help="shoppers at once, each on its own link")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per profile")
    parser.add_argument("--product", default="aviator")
    parser.add_argument("--window", type=window_arg, default=2, help="frames in flight, or auto (default 2)")
    parser.add_argument("--max-window", type=int, default=6, help="the most frames in flight with --window auto")
    parser.add_argument(
        "--upload-width",
        type=upload_arg,
        default=CAMERA_SIZE[0],
        help="uploaded frame width, px, or auto (the widget's)",
    )
    parser.add_argument("--jpeg-quality", type=float, default=0.75, help="as canvas.toBlob's (widget.js: 0.75)")
    parser.add_argument("--partial", action="store_true", help="ask for partial replies (partial=1)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    config = ClientConfig(args.window, args.max_window, args.upload_width, args.jpeg_quality, args.partial)
    print(
        f"{args.sessions} session(s), {args.seconds:.0f} s per link, product {args.product}, window "
        f"{args.window or f'auto (max {args.max_window})'}, upload {args.upload_width or 'auto'} px wide, "
        f"JPEG {args.jpeg_quality}, {'partial' if args.partial else 'full'} replies asked"
    )
    results = []
    env = {
        "TRYON_MODEL_PATH": str(resolve_model_path()),
        "TRYON_MAX_STREAMS_PER_CLIENT": str(args.sessions + 1),  # every session comes from 127.0.0.1
    }
    with local_server(env) as (base, pid):
        port = int(base.rpartition(":")[2])
        warm_up(port, args.product)
        for name in args.profiles:
            results.append(
                measure_profile((port, pid), PROFILES[name], config, args.product, args.sessions, args.seconds)
            )
            print(detail_line(results[-1]), flush=True)
    print()
    print(TABLE_HEADER)
    for result in results:
        print(table_row(result))


if __name__ == "__main__":
    main()
