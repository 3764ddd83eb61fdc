"""Who is asking: the client address that per-address limits (requests, live sessions) count."""

from __future__ import annotations

from flask import request

from tryon.config import Settings


def client_address(settings: Settings) -> str:
    """The shopper's address: behind a trusted proxy (behind_proxy) the last X-Forwarded-For entry,
    the address the proxy saw (deploy/nginx.conf sets it to exactly that); otherwise the peer's."""
    if settings.behind_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        if forwarded:
            return forwarded
    return request.remote_addr or "unknown"
