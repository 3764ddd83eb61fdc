"""The live stream over a WebSocket: /api/v1/stream.

Client -> server: binary messages of a 4-byte big-endian frame id followed by a JPEG camera frame;
text messages of JSON control: {"type": "products", "products": [ids]}.
Server -> client: for each frame it renders, a binary message (the same 4-byte id, then the JPEG)
followed by a JSON text status ({"type": "frame", "id", "status", "faces", "eyes", "ms", ...});
{"type": "ready"} once the session is set up, {"type": "error", "code", "message"} on bad input.

Clients keep a couple of frames in flight so throughput is not bound by the round trip, and drop
camera frames rather than queue them; the server, too, skips to the newest frame waiting.
"""

from __future__ import annotations

import json
import struct

from flask import Blueprint, Flask, request
from flask_sock import Sock
from simple_websocket import Server

from tryon.errors import TryOnError
from tryon.model_file import resolve_model_path
from tryon.store.analytics import record_event
from tryon.web.errors import ApiError, ErrorDescription, describe
from tryon.web.public import merchant_slug, public_catalog
from tryon.web.services import Services, services
from tryon.web.session import StreamSession

MAX_MESSAGE_BYTES = 2 * 1024 * 1024
CLOSE_POLICY_VIOLATION, CLOSE_SERVER_ERROR, CLOSE_TRY_AGAIN_LATER = 1008, 1011, 1013
BUSY = ApiError(503, "busy", "too many live sessions; try again soon")

stream = Blueprint("stream", __name__)
sock = Sock()


@sock.route("/stream", bp=stream)
def live_stream(ws: Server) -> None:
    """One shopper's session; closes with 1013 when the server is at capacity, with 1008 (the
    client's fault) or 1011 (the server's) when the session cannot be set up."""
    shared = services()
    if not shared.stream_slots.acquire(blocking=False):
        _send_error(ws, BUSY)
        ws.close(CLOSE_TRY_AGAIN_LATER, BUSY.code)
        return
    session = None
    try:
        try:
            session = _open_session(shared)
            _count_sessions(shared, session.skus)
        except (ApiError, TryOnError) as exc:
            error = _send_error(ws, exc)
            ws.close(CLOSE_SERVER_ERROR if error.status >= 500 else CLOSE_POLICY_VIOLATION, error.code)
            return
        ws.send(json.dumps({"type": "ready", "products": session.skus}))
        _serve(ws, session)
    finally:
        if session is not None:
            session.close()
        shared.stream_slots.release()


def _open_session(shared: Services) -> StreamSession:
    """The session the request asks for (`merchant`, `products`), after the origin check."""
    skus = [p for p in request.args.get("products", "").split(",") if p]
    return StreamSession(public_catalog(), resolve_model_path(shared.settings), skus)


def _count_sessions(shared: Services, skus: list[str]) -> None:
    """Each product a session starts with counts as a try-on session in the merchant's analytics."""
    for sku in skus:
        record_event(shared.db, "session", merchant_slug=merchant_slug(), sku=sku)


def _serve(ws: Server, session: StreamSession) -> None:
    """Answer control messages and render frames until the client goes away (ConnectionClosed)."""
    while True:
        message = ws.receive()
        frame = None
        while message is not None:
            if isinstance(message, str):
                _control(ws, session, message)
            else:
                frame = message  # a newer frame replaces any older one still waiting
            message = ws.receive(timeout=0)
        if frame is None:
            continue
        if len(frame) < 5:
            _send_error(ws, ApiError(400, "bad_frame", "frame id and JPEG expected"))
            continue
        frame_id = struct.unpack(">I", frame[:4])[0]
        result = session.process(frame[4:], frame_id)
        if result.jpeg:
            ws.send(frame[:4] + result.jpeg)
        ws.send(json.dumps(result.status))


def _control(ws: Server, session: StreamSession, text: str) -> None:
    """A control message: switch products, answering with the products now tried or an error."""
    try:
        session.set_products(_requested_products(text))
    except (ApiError, TryOnError) as exc:
        _send_error(ws, exc)
        return
    ws.send(json.dumps({"type": "products", "products": session.skus}))


def _requested_products(text: str) -> list[str]:
    """The product ids of a {"type": "products", "products": [...]} message; ApiError otherwise."""
    try:
        message = json.loads(text)
        if not isinstance(message, dict) or message.get("type") != "products":
            raise ValueError('expected {"type": "products", "products": [...]}')
        return [str(p) for p in message.get("products", [])]
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "bad_message", str(exc)) from exc


def _send_error(ws: Server, error: Exception) -> ErrorDescription:
    """Tell the client what failed, as the HTTP API would (tryon.web.errors.describe)."""
    description = describe(error)
    ws.send(json.dumps({"type": "error", "code": description.code, "message": description.message}))
    return description


def init_stream(app: Flask) -> None:
    """Register the stream route and its limits on the app."""
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": MAX_MESSAGE_BYTES, "ping_interval": 25})
    app.register_blueprint(stream, url_prefix="/api/v1")
    sock.init_app(app)
