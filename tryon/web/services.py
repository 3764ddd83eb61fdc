"""What the request handlers share: settings, the catalogue store, pooled still-image trackers."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from tryon.config import Settings
from tryon.model_file import resolve_model_path
from tryon.preview import SampleFaces
from tryon.store.blobs import BlobStore, open_blob_store
from tryon.store.catalog import RendererCache, StoreCatalog
from tryon.store.database import Database
from tryon.tracking import FaceTracker
from tryon.web.engines import EnginePool
from tryon.web.tokens import SessionTokens, local_secret

DEMO_MERCHANT = "demo"


class Services:
    """Long-lived objects of one app: the catalogue database and blob store (prepared beforehand by
    `tryon prepare`), the renderer cache, session tokens, the live sessions' engine processes, and
    still-image trackers, created on first use and reused."""

    def __init__(self, settings: Settings, still_trackers: int = 2) -> None:
        """Open the catalogue as it is: preparing it (schema, demo store, stray blobs) is `tryon prepare`'s job."""
        self.settings = settings
        self.stream_slots = threading.BoundedSemaphore(settings.max_streams)
        self.db = Database(settings.database)
        self.blobs: BlobStore = open_blob_store(settings.storage_url, settings.data_dir / "blobs", settings.s3_endpoint)
        self.renderers = RendererCache()
        # Live sessions render in engine processes (started at the first session), or here with 0.
        self.engines = EnginePool(settings, settings.engine_processes) if settings.engine_processes > 0 else None
        self._tokens: SessionTokens | None = None
        self._still_pool: queue.LifoQueue[FaceTracker | None] = queue.LifoQueue()
        self._still_capacity = still_trackers
        self._created = 0
        self._lock = threading.Lock()
        self._samples: SampleFaces | None = None

    def catalog(self, merchant: str = DEMO_MERCHANT, published_only: bool = True) -> StoreCatalog:
        """A merchant's catalogue (UnknownMerchantError for an unknown merchant)."""
        return StoreCatalog(self.db, self.blobs, self.renderers, merchant, published_only)

    @property
    def tokens(self) -> SessionTokens:
        """Try-on session tokens, signed with settings.secret_key or the key kept in data_dir (made on
        first use, not when the app is created)."""
        with self._lock:
            if self._tokens is None:
                self._tokens = SessionTokens(self.settings.secret_key or local_secret(self.settings.data_dir))
            return self._tokens

    def sample_faces(self) -> SampleFaces:
        """The preview faces (assets/sample-faces), tracked once."""
        with self._lock:
            if self._samples is None:
                self._samples = SampleFaces(
                    self.settings.assets_dir / "sample-faces", resolve_model_path(self.settings)
                )
            return self._samples

    @contextmanager
    def still_tracker(self) -> Iterator[FaceTracker]:
        """Borrow an IMAGE-mode tracker (at most `still_trackers` exist; callers wait for one).

        A tracker that cannot be created (FaceModelError: the model is missing) gives its slot back
        as an empty one, so the pool never shrinks and a waiting caller tries again: once the model is
        in place, requests succeed instead of waiting forever for a tracker that will never exist.
        """
        tracker = self._take_still_slot()
        if tracker is None:
            try:
                tracker = FaceTracker(resolve_model_path(self.settings), max_faces=4)
            except BaseException:
                self._still_pool.put(None)
                raise
        try:
            yield tracker
        finally:
            self._still_pool.put(tracker)

    def _take_still_slot(self) -> FaceTracker | None:
        """A pooled tracker, or None: a free slot to create one in (a new one, or one whose creation
        failed). Waits while every slot is in use."""
        with self._lock:
            if self._still_pool.empty() and self._created < self._still_capacity:
                self._created += 1
                return None
        return self._still_pool.get()

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
