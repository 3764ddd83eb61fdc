"""The web service: a Flask app factory and its blueprints."""

from __future__ import annotations

from typing import Any

import cv2
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from tryon.config import Settings
from tryon.web.advice import advice
from tryon.web.api import api
from tryon.web.errors import register_error_handlers
from tryon.web.headers import add_security_headers
from tryon.web.limits import init_limits
from tryon.web.memory import release_memory
from tryon.web.merchant_api import merchant_api
from tryon.web.openapi import openapi
from tryon.web.public import add_cors_headers, answer_preflight, check_host
from tryon.web.services import Services
from tryon.web.site import site
from tryon.web.stream import init_stream

MAX_UPLOAD_BYTES = 15 * 1024 * 1024


def create_app(settings: Settings | None = None, **config: Any) -> Flask:
    """Build the app. `config` overrides Flask settings (e.g. TESTING=True).

    Creating it changes neither the database nor the blob store: `tryon prepare` (or its steps
    `tryon init-db`, `seed-demo`, `collect-blobs`) does that once before the server starts.
    """
    settings = settings or Settings.from_env()
    cv2.setNumThreads(settings.cv_threads)  # process-wide: the server's threads are its sessions
    app = Flask(__name__, static_folder=None)
    if settings.behind_proxy:  # trust X-Forwarded-Proto/Host from a TLS proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES, JSON_SORT_KEYS=False, TRUSTED_HOSTS=list(settings.allowed_hosts)
    )
    app.config.update(config)
    app.extensions["tryon"] = Services(settings)
    register_error_handlers(app)
    app.before_request(check_host)
    app.before_request(answer_preflight)
    app.after_request(add_cors_headers)
    app.after_request(add_security_headers)
    app.after_request(release_memory)
    app.register_blueprint(site)
    app.register_blueprint(api, url_prefix="/api/v1")
    app.register_blueprint(advice, url_prefix="/api/v1")
    app.register_blueprint(merchant_api, url_prefix="/api/v1/merchant")
    app.register_blueprint(openapi, url_prefix="/api/v1")
    init_stream(app)
    init_limits(app, settings)
    return app
