"""In-process apps for tests, prepared the way `tryon prepare` prepares a server's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from tryon.cli import prepare_store
from tryon.config import PROJECT_ROOT, Settings
from tryon.model_file import resolve_model_path
from tryon.store.context import Store
from tryon.web import create_app


def checkout_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test app: its own data directory, the verified face model, the checkout's assets."""
    return Settings(data_dir=data_dir, model_path=resolve_model_path(), assets_dir=PROJECT_ROOT / "assets", **overrides)


def prepared_app(settings: Settings | None = None, **config: Any) -> Flask:
    """`create_app`, then the start-up steps (migrate, seed the demo store, collect blobs) on its own
    store: creating an app changes no data by itself."""
    app = create_app(settings, **config)
    services = app.extensions["tryon"]
    prepare_store(Store(services.db, services.blobs), services.settings)
    return app
