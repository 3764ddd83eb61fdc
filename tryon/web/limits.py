"""Per-address request limits (Flask-Limiter, counters in the process's memory).

Public endpoints are limited by what one shopper's page could need (a try-on session, a photo
render, a few events); the merchant API counts only failed key attempts, so guessing keys is
slow while a shop's own integration is never limited. Over a limit the answer is 429 with
Retry-After and the usual JSON error. Counters are per process: behind a load balancer each
instance limits on its own, and nginx's per-client limits (deploy/nginx.conf) hold in front.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_limiter import Limiter

from tryon.config import Settings
from tryon.web.clients import client_address
from tryon.web.merchant_api import merchant_api

# endpoint: limit per client address
PUBLIC_LIMITS = {
    "site.embed": "60 per minute",  # each page view starts a try-on session (and gets its token)
    "stream.live_stream": "60 per minute",  # live-session starts, reconnects included
    "api.render": "30 per minute",
    "api.render_batch": "10 per minute",
    "api.widget_event": "120 per minute",
    "advice.session_fitting": "120 per minute",
    "api.list_products": "300 per minute",
    "api.embeddable_check": "300 per minute",  # one per snippet on a page view
    "api.product_image": "600 per minute",
}
FAILED_KEY_LIMIT = "10 per minute"  # merchant API answers of 401 (a wrong or revoked key)


def init_limits(app: Flask, settings: Settings) -> Limiter:
    """Apply the limits to the app's endpoints (registered already); off when settings.rate_limits is."""
    limiter = Limiter(
        key_func=lambda: client_address(settings),
        app=app,
        storage_uri="memory://",
        headers_enabled=True,
        enabled=settings.rate_limits,
        default_limits=[],
    )
    for endpoint, limit in PUBLIC_LIMITS.items():
        limited = limiter.limit(limit)(app.view_functions[endpoint])
        app.view_functions[endpoint] = limited  # type: ignore[assignment]  # the same view, limit registered
    limiter.limit(FAILED_KEY_LIMIT, deduct_when=_refused_key)(merchant_api)
    app.extensions["tryon.limiter"] = limiter  # the limited views hold it weakly: the app keeps it alive
    return limiter


def _refused_key(response: Response) -> bool:
    return response.status_code == 401
