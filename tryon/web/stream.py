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

from flask import Blueprint, request
from flask_sock import Sock

from tryon.errors import FaceModelError, ProductError
from tryon.model_file import resolve_model_path
from tryon.store.merchants import record_event
from tryon.web.errors import ApiError
from tryon.web.public import merchant_slug, public_catalog
from tryon.web.services import services
from tryon.web.session import StreamSession

MAX_MESSAGE_BYTES = 2 * 1024 * 1024
TRY_AGAIN_LATER = 1013

stream = Blueprint("stream", __name__)
sock = Sock()


@sock.route("/stream", bp=stream)
def live_stream(ws) -> None:
    """One shopper's session; closes with 1013 when the server is at capacity."""
    shared = services()
    if not shared.stream_slots.acquire(blocking=False):
        ws.send(json.dumps({"type": "error", "code": "busy", "message": "too many live sessions; try again soon"}))
        ws.close(TRY_AGAIN_LATER, "busy")
        return
    session = None
    try:
        product_ids = [p for p in request.args.get("products", "").split(",") if p]
        try:
            catalog = public_catalog()
            session = StreamSession(catalog, resolve_model_path(shared.settings), product_ids)
            for product_id in product_ids:
                record_event(shared.db, merchant_slug(), product_id, "session")
        except ApiError as exc:
            ws.send(json.dumps({"type": "error", "code": exc.code, "message": exc.message}))
            ws.close(1008, exc.code)
            return
        except FaceModelError as exc:
            ws.send(json.dumps({"type": "error", "code": "not_ready", "message": str(exc)}))
            ws.close(1011, "not ready")
            return
        except ProductError as exc:
            ws.send(json.dumps({"type": "error", "code": "unknown_product", "message": str(exc)}))
            ws.close(1008, "unknown product")
            return
        ws.send(json.dumps({"type": "ready", "products": session.product_ids}))
        _serve(ws, session)
    finally:
        if session is not None:
            session.close()
        shared.stream_slots.release()


def _serve(ws, session: StreamSession) -> None:
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
            ws.send(json.dumps({"type": "error", "code": "bad_frame", "message": "frame id and JPEG expected"}))
            continue
        frame_id = struct.unpack(">I", frame[:4])[0]
        result = session.process(frame[4:], frame_id)
        if result.jpeg:
            ws.send(frame[:4] + result.jpeg)
        ws.send(json.dumps(result.status))


def _control(ws, session: StreamSession, text: str) -> None:
    try:
        message = json.loads(text)
        if not isinstance(message, dict) or message.get("type") != "products":
            raise ValueError("expected {\"type\": \"products\", \"products\": [...]}")
        session.set_products([str(p) for p in message.get("products", [])])
        ws.send(json.dumps({"type": "products", "products": session.product_ids}))
    except ProductError as exc:
        ws.send(json.dumps({"type": "error", "code": "unknown_product", "message": str(exc)}))
    except (ValueError, TypeError) as exc:
        ws.send(json.dumps({"type": "error", "code": "bad_message", "message": str(exc)}))


def init_stream(app) -> None:
    """Register the stream route and its limits on the app."""
    app.config.setdefault("SOCK_SERVER_OPTIONS", {"max_message_size": MAX_MESSAGE_BYTES, "ping_interval": 25})
    app.register_blueprint(stream, url_prefix="/api/v1")
    sock.init_app(app)
