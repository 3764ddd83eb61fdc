"""Which merchant a shopper-facing request is for, and whether the page asking may use it.

Public endpoints take `merchant` (query or form; the demo store when absent). A browser request
from another site carries an Origin header: it is served only when that origin is one the merchant
allows, and the answer then carries the CORS header for it. The embed page's frame-ancestors
policy uses the same list.
"""

from __future__ import annotations

from flask import Response, g, request

from tryon.store.catalog import StoreCatalog
from tryon.web.errors import ApiError
from tryon.web.services import DEMO_MERCHANT, services


def merchant_slug() -> str:
    return request.values.get("merchant") or DEMO_MERCHANT


def check_host() -> None:
    """before_request hook: refuse (400) a Host the service does not answer to (Settings.allowed_hosts,
    Flask's TRUSTED_HOSTS), so the same-origin check below can take Host for the service's own."""
    _ = request.host  # raises werkzeug's SecurityError, a 400, for an untrusted host


def public_catalog(slug: str | None = None) -> StoreCatalog:
    """The published catalogue of the request's merchant, after the origin check."""
    catalog = services().catalog(slug or merchant_slug())
    origin = request.headers.get("Origin")
    if origin and origin != request.host_url.rstrip("/"):
        if not catalog.allows_origin(origin):
            raise ApiError(403, "origin_not_allowed", f"{origin} may not use this merchant's try-on")
        g.cors_origin = origin
    return catalog


PREFLIGHT_MAX_AGE_S = 600


def answer_preflight() -> Response | None:
    """before_request hook: a CORS preflight (OPTIONS with Access-Control-Request-Method) to a public
    endpoint is answered here, 204 with the CORS headers for an allowed origin, 403 otherwise; the
    merchant API is for servers and the dashboard (same origin), so it gets no CORS at all."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    if not request.path.startswith("/api/v1/") or request.path.startswith("/api/v1/merchant"):
        return None
    public_catalog()  # raises 403 origin_not_allowed, or sets g.cors_origin
    response = Response(status=204)
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
    return response


def add_cors_headers(response: Response) -> Response:
    """after_request hook: echo an allowed origin back (never '*', so the list is what counts)."""
    origin = g.get("cors_origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers.add("Vary", "Origin")
    return response


def frame_ancestors(catalog: StoreCatalog) -> str:
    """The CSP frame-ancestors value for the merchant's embed page."""
    if "*" in catalog.origins:
        return "frame-ancestors *"
    return "frame-ancestors " + " ".join(["'self'", *catalog.origins])
