"""A small WebSocket client on wsproto for the tests that misbehave on purpose: it can offer
permessage-deflate (to send a compression bomb), connect from another loopback address, send a
message without reading the answers, and drop the connection without a close."""

from __future__ import annotations

import json
import socket
import ssl
import struct
import time
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate


class Closed(Exception):
    """The server closed the connection: `code` is its close code (1006 when it just went away)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"closed {code} {reason}")
        self.code, self.reason = code, reason


class WsClient:
    def __init__(
        self,
        url: str,
        *,
        deflate: bool = False,
        source: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        timeout: float = 10.0,
        receive_buffer: int | None = None,
    ) -> None:
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        port = parts.port or (443 if secure else 80)
        raw = socket.socket()
        if receive_buffer:  # a small window, so a client that stops reading stops the server soon
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        if source:
            raw.bind((source, 0))
        raw.settimeout(timeout)
        raw.connect((parts.hostname, port))
        if secure:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the front's self-signed pair
            raw = context.wrap_socket(raw, server_hostname=parts.hostname)
        self.sock = raw
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.messages: list[bytes | str] = []
        self._parts: list[bytes | str] = []
        self.close_code: int | None = None
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        extensions = [PerMessageDeflate()] if deflate else []
        self.sock.sendall(
            self.ws.send(Request(host=parts.netloc, target=target, extensions=extensions, extra_headers=headers or []))
        )
        self.accepted = False
        deadline = time.monotonic() + timeout
        while not self.accepted:
            self._pump(deadline)

    def _pump(self, deadline: float) -> None:
        """Read once from the socket and take in what came."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("nothing from the server in time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        self.ws.receive_data(data or None)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                self.accepted = True
            elif isinstance(event, RejectConnection):
                raise ConnectionError(f"rejected: {event.status_code}")
            elif isinstance(event, TextMessage | BytesMessage):
                self._parts.append(event.data)
                if event.message_finished:
                    parts, self._parts = self._parts, []
                    self.messages.append("".join(parts) if isinstance(parts[0], str) else b"".join(parts))
            elif isinstance(event, Ping):
                self.sock.sendall(self.ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.close_code = event.code
                try:
                    self.sock.sendall(self.ws.send(event.response()))
                except Exception:  # noqa: BLE001  (the server may be gone already)
                    pass

    def send(self, message: bytes | str) -> None:
        self.sock.sendall(self.ws.send(Message(data=message)))

    def send_json(self, value: object) -> None:
        self.send(json.dumps(value))

    def receive(self, timeout: float = 10.0) -> bytes | str:
        """The next message; Closed when the server closes (or drops) the connection first."""
        deadline = time.monotonic() + timeout
        while not self.messages:
            if self.close_code is not None:
                raise Closed(self.close_code)
            self._pump(deadline)
        return self.messages.pop(0)

    def receive_json(self, timeout: float = 10.0) -> dict:
        message = self.receive(timeout)
        assert isinstance(message, str), message[:40]
        return json.loads(message)

    def receive_until_closed(self, timeout: float = 10.0) -> tuple[int, list[bytes | str]]:
        """(close code, the messages before it); 1006 if the connection ended without a close."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                seen.append(self.receive(max(0.01, deadline - time.monotonic())))
            except Closed as closed:
                return closed.code, seen

    def frame(self, frame_id: int, jpeg: bytes) -> None:
        self.send(struct.pack(">I", frame_id) + jpeg)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self) -> None:
        """Drop the connection with a TCP reset: no close frame, no FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()
