"""In-process apps for tests, prepared the way `tryon prepare` prepares a server's data."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tryon.cli import prepare_store
from tryon.config import Settings
from tryon.store.context import Store
from tryon.web import create_app


def prepared_app(settings: Settings | None = None, **config: Any) -> Flask:
    """`create_app`, then the start-up steps (migrate, seed the demo store, collect blobs) on its own
    store: creating an app changes no data by itself."""
    app = create_app(settings, **config)
    services = app.extensions["tryon"]
    prepare_store(Store(services.db, services.blobs), services.settings)
    return app
