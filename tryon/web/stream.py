"""The live stream over a WebSocket: /api/v1/stream.

Client -> server: binary messages of a 4-byte big-endian frame id followed by a JPEG camera frame;
text messages of JSON control: {"type": "products", "products": [ids]} (at most MAX_PRODUCTS different
ids are used; repeats are dropped), {"type": "measure_with_card"} (the PD from a card on the
forehead), {"type": "calibrate_with_white_card"} (the light from a white card there).
Server -> client: for each frame it renders, a binary message (the same 4-byte id, then the JPEG,
or with `partial=1` in the query the changed rectangle: see tryon.web.session) followed by a JSON
text status ({"type": "frame", "id", "status", "faces", "eyes", "ms", ...}); {"type": "ready"} once
the session is set up, {"type": "error", "code", "message"} on bad input.

Clients keep frames in flight so throughput is not bound by the round trip (the widget as many as
the measured round trip needs), and drop camera frames rather than queue them; the server, too,
skips to the newest frame waiting.

A connection that misbehaves only ever costs its own session (the close codes the widget sees):
- a message over MAX_MESSAGE_BYTES, or a compressed one that inflates past it: 1009, slot freed;
- no camera frame for `Settings.stream_idle_s`: an "idle" error, then 4408 "idle";
- a client that stops reading: dropped once a send has made no progress for `stream_send_timeout_s`;
- at capacity: a "busy" error with `retry_after_s`, then 1013; over the per-address cap
  (`max_streams_per_client`): "too_many_sessions", then 1013;
- a bad control message (not JSON, nested too deep, too long, wrong shape): an error message, and the
  session goes on; a shopper leaving is a normal end, never a logged error.
"""

from __future__ import annotations

import json
import selectors
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from simple_websocket import ConnectionClosed, Server
from simple_websocket import ConnectionError as HandshakeError
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import ProtocolError

from tryon.errors import InvalidSessionError, TryOnError
from tryon.model_file import resolve_model_path
from tryon.sizing import FittingGlasses
from tryon.store.analytics import record_event
from tryon.store.session_fits import record_fit
from tryon.web.clients import client_address
from tryon.web.engines import RemoteSession
from tryon.web.errors import ApiError, ErrorDescription, describe
from tryon.web.public import merchant_slug, public_catalog
from tryon.web.services import Services, services
from tryon.web.session import StreamSession

MAX_MESSAGE_BYTES = 2 * 1024 * 1024  # a camera frame's JPEG is 30-300 KB; counted after inflating
MAX_CONTROL_CHARS = 64 * 1024  # a products message is well under 1 KB
MAX_PRODUCTS = 8  # a full look (glasses and five makeup products) with room to spare
PING_INTERVAL_S = 25.0
MAX_WAITING_MESSAGES = 8  # past this many unanswered messages the reader stops reading: TCP pushes back
MAX_BATCH = 64  # messages taken before the newest frame waiting is rendered
RECEIVE_POLL_S = 1.0  # the longest a session waits for a message before looking at its deadlines
CLOSE_WAIT_S = 2.0  # how long a closing session waits for the client's close (or the rest of a too big message)
DRAIN_BYTES = 16 * 1024 * 1024  # the most of a too big message read (and dropped) so the 1009 close arrives
RETRY_AFTER_S = 10
CLOSE_POLICY_VIOLATION, CLOSE_TOO_BIG, CLOSE_SERVER_ERROR, CLOSE_TRY_AGAIN_LATER = 1008, 1009, 1011, 1013
CLOSE_IDLE = 4408  # application range (4000-4999); 408 as in HTTP's Request Timeout
BUSY = ApiError(503, "busy", "too many live sessions; try again soon")
TOO_MANY_SESSIONS = ApiError(429, "too_many_sessions", "too many live sessions from this address; close one first")

stream = Blueprint("stream", __name__)


class _GuardedSocket:
    """The connection's socket as StreamSocket's reader thread and the session share it: each send goes
    out whole and alone (the reader answers pings while the session sends frames), and fails with
    TimeoutError once the client has taken nothing for the socket's timeout, or once one message has
    taken twice that. A read takes all a TLS socket has decrypted already: the reader waits in select()
    for the next read, which cannot see those bytes (gunicorn serving HTTPS itself stalled on any frame
    bigger than a TLS record). Everything else is the socket's own."""

    def __init__(self, sock: socket.socket, timeout_s: float) -> None:
        self._sock = sock
        self._timeout_s = timeout_s
        self._lock = threading.Lock()

    def send(self, data: bytes) -> int:
        view = memoryview(data)
        with self._lock:
            deadline = time.monotonic() + 2 * self._timeout_s
            while view:
                if time.monotonic() > deadline:
                    raise TimeoutError("the client is not reading")
                view = view[self._sock.send(view) :]
        return len(data)

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        if isinstance(self._sock, ssl.SSLSocket):
            while data and (pending := self._sock.pending()):
                data += self._sock.recv(pending)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class StreamSocket(Server):
    """simple_websocket's server side, made safe against clients that misbehave.

    simple_websocket 1.1.0 closes a too big message with 1009 and stops reading, but it wakes a
    waiting `receive()` before it marks the connection closed: the waiter goes back to sleep for good.
    Here the reader marks it closed first, then reads and drops the rest of the message for a moment
    (closing a socket with unread data sends a TCP reset, which would beat the 1009 to the client).
    The reader also stops reading while MAX_WAITING_MESSAGES wait unanswered, so a client that
    sends faster than its session answers (or reads nothing while sending on) is held back by TCP
    rather than queued in memory.
    Sends are bounded in time (`_GuardedSocket`); a failed send or a lost socket raises
    ConnectionClosed, the one exception that means "the client is gone".
    """

    sock: Any  # the gunicorn (or werkzeug) connection's socket, then a _GuardedSocket over it

    def __init__(self, environ: dict, *, send_timeout_s: float, **options: Any) -> None:
        self.send_timeout_s = send_timeout_s
        self.too_big = False  # the client sent a message over max_message_size
        self.broken = False  # a send failed: the socket is no use for a close frame
        super().__init__(environ, **options)

    def handshake(self) -> None:
        # Bounds each send (and, for TLS, the wait for the rest of a record); the reader only calls
        # recv once select() has found something to read, so a quiet client costs it nothing.
        self.sock.settimeout(self.send_timeout_s)
        self.sock = _GuardedSocket(self.sock, self.send_timeout_s)
        super().handshake()

    def _handle_events(self) -> bool:
        keep_going = super()._handle_events()
        if self.max_message_size and self.incoming_message_len > self.max_message_size:
            self.too_big = True
            self.connected = False
            self.event.set()  # now a waiting receive() sees the connection closed
            self._drain()
            return False
        while self.connected and len(self.input_buffer) >= MAX_WAITING_MESSAGES:
            time.sleep(0.005)  # the session is behind (or stuck sending): read nothing more until it catches up
        return bool(keep_going)

    def _drain(self) -> None:
        """Read and drop what the client still sends (the rest of its message), until it closes, for
        at most CLOSE_WAIT_S and DRAIN_BYTES, so it can read the 1009 close before the socket goes."""
        deadline, left = time.monotonic() + CLOSE_WAIT_S, DRAIN_BYTES
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while left > 0 and selector.select(max(0.0, deadline - time.monotonic())):
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                left -= len(data)

    def _thread(self) -> None:
        try:
            super()._thread()
        except ConnectionClosed:  # a ping timeout noticed after the session closed: nothing left to do
            self.connected = False
            self.event.set()
            self.sock.close()

    def send(self, data: bytes | str) -> None:
        try:
            super().send(data)
        except (OSError, ProtocolError) as exc:  # the client went away (or is closing), or stopped reading
            self._lost()
            raise ConnectionClosed(CloseReason.ABNORMAL_CLOSURE, str(exc)) from exc

    def _lost(self) -> None:
        self.broken = True
        self.connected = False
        self.event.set()

    def finish(self, code: int = CloseReason.NORMAL_CLOSURE, reason: str | None = None) -> None:
        """Close (if the connection is still open) and wait, briefly, for the client's close and the
        reader thread; then shut the socket down so nothing is left waiting on it."""
        if self.connected and not self.broken:
            try:
                self.close(code, reason)
            except (ConnectionClosed, OSError, ProtocolError):  # the client closed first, or is gone
                self._lost()
        if not self.broken:
            self.thread.join(CLOSE_WAIT_S + 1)
        if self.thread.is_alive():
            try:
                self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader, in select, recv or send
            except OSError:
                pass
            self.thread.join(CLOSE_WAIT_S)


class ClientStreams:
    """Live sessions per client address, for Settings.max_streams_per_client."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._live: Counter[str] = Counter()
        self._lock = threading.Lock()

    def acquire(self, client: str) -> bool:
        with self._lock:
            if self._live[client] >= self.limit:
                return False
            self._live[client] += 1
            return True

    def release(self, client: str) -> None:
        with self._lock:
            self._live[client] -= 1
            if self._live[client] <= 0:
                del self._live[client]


@stream.route("/stream", websocket=True)
def live_stream() -> Response:
    """One shopper's session (see the module's docstring for how it ends)."""
    shared = services()
    try:
        ws = StreamSocket(
            request.environ,
            send_timeout_s=shared.settings.stream_send_timeout_s,
            ping_interval=PING_INTERVAL_S,
            max_message_size=MAX_MESSAGE_BYTES,
        )
    except (HandshakeError, ProtocolError) as exc:  # nothing was upgraded: an HTTP answer is still right
        raise ApiError(400, "bad_handshake", "not a valid WebSocket handshake") from exc
    code: int = CloseReason.NORMAL_CLOSURE
    reason: str | None = None
    try:
        code, reason = _admit(ws, shared)
    except ConnectionClosed:  # the shopper left, or stopped reading: a normal end
        pass
    except Exception as exc:  # a bug: it ends this session only, and never as an HTTP answer on the socket
        current_app.logger.exception("live stream failed")
        code, reason = CLOSE_SERVER_ERROR, describe(exc).code
        try:
            _send_error(ws, exc)
        except ConnectionClosed:
            pass
    finally:
        ws.finish(code, reason)
    return _UpgradedResponse(ws.mode)


class _UpgradedResponse(Response):
    """What the WSGI server gets once the socket was a WebSocket: nothing more to write (flask-sock's way)."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self.mode == "gunicorn":
            raise StopIteration()  # gunicorn: close the connection, write nothing
        if self.mode == "werkzeug":
            return super().__call__(environ, start_response)
        return []


def _admit(ws: StreamSocket, shared: Services) -> tuple[int, str | None]:
    """Serve the session if there is room for it: the (close code, reason) to end with."""
    settings = shared.settings
    clients: ClientStreams = current_app.extensions["tryon.client_streams"]
    client = client_address(settings)
    if not clients.acquire(client):
        _send_error(ws, TOO_MANY_SESSIONS, retry_after_s=RETRY_AFTER_S)
        return CLOSE_TRY_AGAIN_LATER, TOO_MANY_SESSIONS.code
    try:
        if not shared.stream_slots.acquire(blocking=False):
            _send_error(ws, BUSY, retry_after_s=RETRY_AFTER_S)
            return CLOSE_TRY_AGAIN_LATER, BUSY.code
        try:
            return _run(ws, shared)
        finally:
            shared.stream_slots.release()
    finally:
        clients.release(client)


def _run(ws: StreamSocket, shared: Services) -> tuple[int, str | None]:
    """Set the session up (1008, the client's fault, or 1011, the server's, when it cannot be) and serve it."""
    try:
        session = _open_session(shared)
        _count_sessions(shared, session.skus)
    except (ApiError, TryOnError) as exc:
        error = _send_error(ws, exc)
        return (CLOSE_SERVER_ERROR if error.status >= 500 else CLOSE_POLICY_VIOLATION), error.code
    try:
        ws.send(json.dumps({"type": "ready", "products": session.skus}))
        return _serve(ws, session, shared.settings.stream_idle_s)
    finally:
        session.close()


def _open_session(shared: Services) -> StreamSession | RemoteSession:
    """The session the request asks for (`merchant`, `products`, `partial`), after the origin check, in
    an engine process (or here, without them); with a genuine session token (`session`) its fitting
    glasses are kept for the store to ask for."""
    skus, _ignored = _capped(request.args.get("products", "").split(","))
    partial = request.args.get("partial") == "1"
    catalog = public_catalog()
    session_id = _session_id(shared)
    on_fitting = _fit_recorder(shared, catalog.merchant_id, session_id) if session_id is not None else None
    if shared.engines is not None:
        return shared.engines.open(
            merchant_slug(), skus, partial=partial, reuse=shared.settings.stream_reuse, on_fitting=on_fitting
        )
    return StreamSession(
        catalog,
        resolve_model_path(shared.settings),
        skus,
        partial=partial,
        reuse=shared.settings.stream_reuse,
        on_fitting=on_fitting,
    )


def _fit_recorder(shared: Services, merchant_id: int, session_id: str) -> Callable[[FittingGlasses], None]:
    """What a session calls when its fitting glasses change: they are stored for the session."""
    return lambda fit: record_fit(shared.db, merchant_id, session_id, fit)


def _session_id(shared: Services) -> str | None:
    """The session id of the request's token (`session`), None without a genuine one."""
    try:
        return shared.tokens.session_id(request.args.get("session"), merchant_slug())
    except InvalidSessionError:
        return None


def _count_sessions(shared: Services, skus: list[str]) -> None:
    """Each product a session starts with counts as a try-on session in the merchant's analytics, once
    per embed page's session token (reconnects do not count again; a stream without a genuine token
    is served but not counted)."""
    session_id = _session_id(shared)
    if session_id is None:
        return
    for sku in skus:
        record_event(shared.db, "session", merchant_slug=merchant_slug(), sku=sku, session_id=session_id)


def _serve(ws: StreamSocket, session: StreamSession | RemoteSession, idle_s: float) -> tuple[int, str | None]:
    """Answer control messages and render frames until the client goes away (ConnectionClosed) or
    sends no frame for `idle_s` (the close code and reason returned)."""
    last_frame = time.monotonic()
    while True:
        left = last_frame + idle_s - time.monotonic()
        if left <= 0:
            idle = ApiError(408, "idle", f"no camera frame for {idle_s:g} s: the session was closed")
            _send_error(ws, idle, idle_s=idle_s)
            return CLOSE_IDLE, idle.code
        message = ws.receive(timeout=min(left, RECEIVE_POLL_S))
        frame, taken = None, 0
        while message is not None:
            if isinstance(message, str):
                _control(ws, session, message)
            else:
                frame = message  # a newer frame replaces any older one still waiting
            taken += 1
            message = ws.receive(timeout=0) if taken < MAX_BATCH else None
        if frame is None:
            continue
        if len(frame) < 5:
            _send_error(ws, ApiError(400, "bad_frame", "frame id and JPEG expected"))
            continue
        last_frame = time.monotonic()
        frame_id = struct.unpack(">I", frame[:4])[0]
        result = session.process(frame[4:], frame_id)
        if result.jpeg:
            ws.send(frame[:4] + result.jpeg)
        ws.send(json.dumps(result.status))


def _control(ws: StreamSocket, session: StreamSession | RemoteSession, text: str) -> None:
    """A control message: switch products (answered with the products now tried), or start a card
    calibration (answered with {"type": "card", "state": "looking"}) or a white card's for the light
    ({"type": "white_card", "state": "looking"}); an error for anything else."""
    try:
        message = _control_message(text)
        if message.get("type") == "measure_with_card":
            session.measure_with_card()
            ws.send(json.dumps({"type": "card", "state": "looking"}))
            return
        if message.get("type") == "calibrate_with_white_card":
            session.calibrate_with_white_card()
            ws.send(json.dumps({"type": "white_card", "state": "looking"}))
            return
        skus, ignored = _requested_products(message)
        session.set_products(skus)
    except (ApiError, TryOnError) as exc:
        _send_error(ws, exc)
        return
    answer: dict[str, Any] = {"type": "products", "products": session.skus}
    if ignored:
        answer["ignored"] = ignored  # repeated ids, and any past the first MAX_PRODUCTS
    ws.send(json.dumps(answer))


def _control_message(text: str) -> dict[str, Any]:
    """A control message's JSON object; ApiError for one too long, too deeply nested or not an object."""
    if len(text) > MAX_CONTROL_CHARS:
        raise ApiError(400, "bad_message", f"control messages are at most {MAX_CONTROL_CHARS} characters")
    try:
        message = json.loads(text)
    except RecursionError as exc:  # json.loads recurses once per nesting level
        raise ApiError(400, "bad_message", "the message is nested too deeply") from exc
    except ValueError as exc:
        raise ApiError(400, "bad_message", f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ApiError(400, "bad_message", 'expected {"type": "products", "products": [...]}')
    return message


def _requested_products(message: dict[str, Any]) -> tuple[list[str], int]:
    """The product ids of a {"type": "products", "products": [...]} message (capped, see _capped) and
    how many were dropped; ApiError for anything else."""
    if message.get("type") != "products":
        raise ApiError(400, "bad_message", 'expected {"type": "products", "products": [...]}')
    ids = message.get("products", [])
    if not isinstance(ids, list) or not all(isinstance(p, str | int) and not isinstance(p, bool) for p in ids):
        raise ApiError(400, "bad_message", '"products" must be a list of product ids')
    return _capped([str(p) for p in ids])


def _capped(ids: list[str]) -> tuple[list[str], int]:
    """The first MAX_PRODUCTS different non-empty ids, in order, and how many ids were left out."""
    unique = list(dict.fromkeys(p for p in ids if p))
    kept = unique[:MAX_PRODUCTS]
    return kept, sum(1 for p in ids if p) - len(kept)


def _send_error(ws: StreamSocket, error: Exception, **extra: Any) -> ErrorDescription:
    """Tell the client what failed, as the HTTP API would (tryon.web.errors.describe)."""
    description = describe(error)
    ws.send(json.dumps({"type": "error", "code": description.code, "message": description.message, **extra}))
    return description


def init_stream(app: Flask) -> None:
    """Register the stream route and its per-address counter on the app."""
    app.extensions["tryon.client_streams"] = ClientStreams(app.extensions["tryon"].settings.max_streams_per_client)
    app.register_blueprint(stream, url_prefix="/api/v1")
