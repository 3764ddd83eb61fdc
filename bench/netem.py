"""A loopback link emulator: a TCP proxy that gives every connection through it a real link's delay
and bandwidth, per direction.

The kernel the benchmarks run on has no traffic shaping (no tc/netem), yet the live try-on's frame
rate and latency depend on the shopper's network: the round trip, and an uplink that is usually
much slower than the downlink. `LinkEmulator` listens on a loopback port and forwards to a loopback
upstream port. Each direction of each connection is its own link: bytes are cut into segments,
serialized FIFO onto the wire at the link's rate (a segment takes len * 8 / rate seconds, behind
the ones queued before it, as at a real bottleneck), and arrive one-way delay (half the RTT, plus
optional jitter that never reorders) after they leave. Like a TCP connection, a direction accepts
no more than its window of bytes that have not yet arrived (two bandwidth-delay products: the path
plus a bottleneck buffer of one BDP, the classic rule of thumb); beyond that the sender's own socket
backs up, which is how a client sees a congested uplink. Byte counts per direction are kept for
the benchmarks (TCP payload: the IP/TCP headers a real link also carries are not counted or shaped).

    with LinkEmulator(server_port, rtt_ms=60, up_mbit=8, down_mbit=30) as port:
        ...  # connect to 127.0.0.1:port

Only loopback addresses are used, the number of connections is bounded, and the emulator stops by
itself after `lifetime_s` if it is never stopped.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections import deque
from dataclasses import dataclass
from types import TracebackType

LOOPBACK = "127.0.0.1"
SEGMENT_BYTES = 1448  # a TCP segment's payload on a 1500-byte MTU path
READ_BYTES = 64 * 1024
SOCKET_BUFFER_BYTES = 16 * 1024  # the proxy's own receive buffers: small, so backpressure reaches the sender
MIN_WINDOW_BYTES = 64 * 1024
UNSHAPED_WINDOW_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LinkProfile:
    """A shopper's network: round trip, uplink and downlink rates (None: not limited), jitter."""

    name: str
    rtt_ms: float = 0.0
    up_mbit: float | None = None
    down_mbit: float | None = None
    jitter_ms: float = 0.0


PROFILES: dict[str, LinkProfile] = {
    "lan": LinkProfile("LAN"),
    "20ms": LinkProfile("20 ms 50/100", 20.0, 50.0, 100.0),
    "4g": LinkProfile("4G 60 ms 8/30", 60.0, 8.0, 30.0),
    "weak": LinkProfile("weak 100 ms 5/20", 100.0, 5.0, 20.0),
}


@dataclass(frozen=True)
class Traffic:
    """Bytes delivered so far, client to server (up) and server to client (down), all connections."""

    up_bytes: int = 0
    down_bytes: int = 0

    def __sub__(self, other: Traffic) -> Traffic:
        return Traffic(self.up_bytes - other.up_bytes, self.down_bytes - other.down_bytes)


class _Counter:
    """Bytes delivered in one direction, written by the emulator's thread, read by any."""

    def __init__(self) -> None:
        self.bytes = 0


class _Link:
    """One direction of one connection: a FIFO bottleneck at `rate_bps`, then `delay_s` of propagation."""

    def __init__(
        self, rate_bps: float | None, delay_s: float, jitter_s: float, window_bytes: int, counter: _Counter
    ) -> None:
        self.rate_bps = rate_bps
        self.delay_s = delay_s
        self.jitter_s = jitter_s
        self.window_bytes = window_bytes
        self.counter = counter
        self._queue: deque[tuple[float, bytes]] = deque()  # (arrival time, segment); b"" is the end
        self._in_flight = 0
        self._wire_free_at = 0.0
        self._last_arrival = 0.0
        self._queued = asyncio.Event()
        self._room = asyncio.Event()
        self._random = random.Random(0)

    async def run(self, source: socket.socket, sink: socket.socket) -> None:
        """Carry `source`'s bytes to `sink` until `source` ends, then half-close `sink`."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._take(source))
            tasks.create_task(self._deliver(sink))

    async def _take(self, source: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._in_flight >= self.window_bytes:
                self._room.clear()
                await self._room.wait()
            data = await loop.sock_recv(source, min(READ_BYTES, self.window_bytes - self._in_flight))
            now = loop.time()
            if not data:
                self._enqueue(max(now, self._last_arrival), b"")
                return
            for offset in range(0, len(data), SEGMENT_BYTES):
                self._schedule(data[offset : offset + SEGMENT_BYTES], now)

    def _schedule(self, segment: bytes, now: float) -> None:
        """Put a segment on the wire behind those already queued; it arrives a one-way delay after it leaves."""
        serialization = len(segment) * 8 / self.rate_bps if self.rate_bps else 0.0
        self._wire_free_at = max(now, self._wire_free_at) + serialization
        jitter = self._random.uniform(-self.jitter_s, self.jitter_s) if self.jitter_s else 0.0
        arrival = max(self._wire_free_at + max(self.delay_s + jitter, 0.0), self._last_arrival)
        self._in_flight += len(segment)
        self._enqueue(arrival, segment)

    def _enqueue(self, arrival: float, segment: bytes) -> None:
        self._last_arrival = arrival
        self._queue.append((arrival, segment))
        self._queued.set()

    async def _deliver(self, sink: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._queue:
                self._queued.clear()
                await self._queued.wait()
            wait = self._queue[0][0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            batch, ended = self._due(loop.time())
            if batch:
                await loop.sock_sendall(sink, batch)
                self._in_flight -= len(batch)
                self.counter.bytes += len(batch)
                self._room.set()
            if ended:
                sink.shutdown(socket.SHUT_WR)
                return

    def _due(self, now: float) -> tuple[bytes, bool]:
        """The segments that have arrived by `now`, joined, and whether the end of the stream is among them."""
        segments = []
        while self._queue and self._queue[0][0] <= now:
            _, segment = self._queue.popleft()
            if not segment:
                return b"".join(segments), True
            segments.append(segment)
        return b"".join(segments), False


class LinkEmulator:
    """A loopback proxy to `upstream_port` with a link's RTT and per-direction rates (Mbit/s, None: unlimited).

    Use as a context manager: entering starts it and gives the local port to connect to, leaving
    stops it and closes its connections. `traffic()` reads the bytes delivered each way so far.
    """

    def __init__(
        self,
        upstream_port: int,
        rtt_ms: float = 0.0,
        up_mbit: float | None = None,
        down_mbit: float | None = None,
        jitter_ms: float = 0.0,
        *,
        max_connections: int = 64,
        lifetime_s: float = 3600.0,
    ) -> None:
        self.upstream_port = upstream_port
        self.rtt_ms = rtt_ms
        self.up_mbit = up_mbit
        self.down_mbit = down_mbit
        self.jitter_ms = jitter_ms
        self.max_connections = max_connections
        self.lifetime_s = lifetime_s
        self._up, self._down = _Counter(), _Counter()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()

    @classmethod
    def for_profile(cls, upstream_port: int, profile: LinkProfile) -> LinkEmulator:
        return cls(upstream_port, profile.rtt_ms, profile.up_mbit, profile.down_mbit, profile.jitter_ms)

    def __enter__(self) -> int:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> int:
        """Listen on a free loopback port and serve from a thread of its own; returns the port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)  # inherited by accepted ones
        listener.bind((LOOPBACK, 0))
        listener.listen(self.max_connections)
        listener.setblocking(False)
        self._listener = listener
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), name="link-emulator", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout=10):
            raise RuntimeError("the link emulator did not start")
        return listener.getsockname()[1]

    def stop(self) -> None:
        """Stop serving and close every connection (idempotent)."""
        if self._thread is None:
            return
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # the loop ended by itself (lifetime) in the meantime
                pass
        self._thread.join(timeout=10)
        self._thread = None

    def traffic(self) -> Traffic:
        return Traffic(self._up.bytes, self._down.bytes)

    def _window(self, mbit: float | None) -> int:
        """Bytes a direction accepts before they arrive: two bandwidth-delay products (path + buffer)."""
        if mbit is None:
            return UNSHAPED_WINDOW_BYTES
        return max(MIN_WINDOW_BYTES, int(2 * mbit * 1e6 / 8 * self.rtt_ms / 1000))

    def _link(self, mbit: float | None, counter: _Counter) -> _Link:
        rate = mbit * 1e6 if mbit is not None else None
        return _Link(rate, self.rtt_ms / 2000, self.jitter_ms / 1000, self._window(mbit), counter)

    async def _main(self) -> None:
        assert self._listener is not None
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        connections: set[asyncio.Task[None]] = set()
        accepting = asyncio.create_task(self._accept(self._listener, connections))
        self._started.set()
        try:
            await asyncio.wait_for(self._stop.wait(), self.lifetime_s)
        except TimeoutError:
            pass
        finally:
            accepting.cancel()
            for task in connections:
                task.cancel()
            await asyncio.gather(accepting, *connections, return_exceptions=True)
            self._listener.close()

    async def _accept(self, listener: socket.socket, connections: set[asyncio.Task[None]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            client, _ = await loop.sock_accept(listener)
            if len(connections) >= self.max_connections:
                client.close()
                continue
            task = asyncio.create_task(self._connection(client))
            connections.add(task)
            task.add_done_callback(connections.discard)

    async def _connection(self, client: socket.socket) -> None:
        """Carry one client connection to the upstream port and back, each way over its own link."""
        loop = asyncio.get_running_loop()
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            for end in (client, upstream):
                end.setblocking(False)
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            upstream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
            await loop.sock_connect(upstream, (LOOPBACK, self.upstream_port))
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._link(self.up_mbit, self._up).run(client, upstream))
                tasks.create_task(self._link(self.down_mbit, self._down).run(upstream, client))
        except* OSError:
            pass  # a reset or refused connection ends this connection only
        finally:
            client.close()
            upstream.close()
