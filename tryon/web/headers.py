"""Security headers on every response: what a browser may do with each answer.

- everything: no MIME sniffing, referrers limited to the origin across sites;
- the API: `Vary: Origin` (answers differ by the asking site's Origin, so caches must keep them apart);
- the merchant API and the dashboard: never cached (keys, private data); the dashboard never framed
  (a framed sign-in page invites clickjacking). The embed page sets its own frame-ancestors policy.
"""

from __future__ import annotations

from flask import Response, request


def add_security_headers(response: Response) -> Response:
    """after_request hook: the headers above, without overriding what a view set itself."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    path = request.path
    if path.startswith("/api/") and "Origin" not in response.vary:
        response.vary.add("Origin")
    if path.startswith("/api/v1/merchant") or path.startswith("/dashboard"):
        response.headers["Cache-Control"] = "no-store"
    if path.startswith("/dashboard"):
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response
