"""What the request handlers share: settings, the catalogue store, pooled still-image trackers."""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np
from flask import current_app

from tryon.config import Settings
from tryon.imaging import decode_image
from tryon.model_file import resolve_model_path
from tryon.pipeline import Tracked, TryOnEngine
from tryon.products import BuiltinCatalog
from tryon.store.blobs import BlobStore, open_blob_store
from tryon.store.catalog import RendererCache, StoreCatalog
from tryon.store.database import Database
from tryon.store.merchants import collect_garbage, seed_demo
from tryon.tracking import FaceTracker

DEMO_MERCHANT = "demo"


class Services:
    """Long-lived objects of one app. The database is migrated, the demo catalogue seeded and
    unreferenced blobs collected when it starts; trackers are created on first use and reused."""

    def __init__(self, settings: Settings, still_trackers: int = 2) -> None:
        self.settings = settings
        self.stream_slots = threading.BoundedSemaphore(settings.max_streams)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.database)
        self.db.migrate()
        self.blobs: BlobStore = open_blob_store(settings.storage_url, settings.data_dir / "blobs")
        seed_demo(self.db, self.blobs, BuiltinCatalog(settings.assets_dir), DEMO_MERCHANT)
        collect_garbage(self.db, self.blobs)
        self.renderers = RendererCache()
        self._still_pool: "queue.LifoQueue[FaceTracker]" = queue.LifoQueue()
        self._still_capacity = still_trackers
        self._created = 0
        self._lock = threading.Lock()
        self._samples: list[tuple[np.ndarray, Tracked]] | None = None

    def catalog(self, merchant: str = DEMO_MERCHANT, published_only: bool = True) -> StoreCatalog:
        """A merchant's catalogue (UnknownProductError for an unknown merchant)."""
        return StoreCatalog(self.db, self.blobs, self.renderers, merchant, published_only)

    def sample_faces(self) -> list[tuple[np.ndarray, Tracked]]:
        """The preview faces (assets/sample-faces), tracked once."""
        with self._lock:
            if self._samples is None:
                samples = []
                with FaceTracker(resolve_model_path(self.settings)) as tracker:
                    for path in sorted((self.settings.assets_dir / "sample-faces").glob("*.jpg")):
                        image = decode_image(path.read_bytes())
                        samples.append((image, TryOnEngine(tracker).track(image)))
                self._samples = [(image, tracked) for image, tracked in samples if tracked.faces]
            return self._samples

    @contextmanager
    def still_tracker(self) -> Iterator[FaceTracker]:
        """Borrow an IMAGE-mode tracker (at most `still_trackers` exist; callers wait for one)."""
        with self._lock:
            create = self._still_pool.empty() and self._created < self._still_capacity
            if create:
                self._created += 1
        tracker = FaceTracker(resolve_model_path(self.settings), max_faces=4) if create else self._still_pool.get()
        try:
            yield tracker
        finally:
            self._still_pool.put(tracker)

    def model_ready(self) -> bool:
        """True when the face model file is present and verified."""
        try:
            resolve_model_path(self.settings)
        except Exception:  # noqa: BLE001  (readiness reports any failure as not ready)
            return False
        return True


def services() -> Services:
    """The Services of the current app."""
    return current_app.extensions["tryon"]
