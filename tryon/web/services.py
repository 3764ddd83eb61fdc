"""What the request handlers share: settings, the product catalogue and pooled still-image trackers."""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager
from typing import Iterator

from flask import current_app

from tryon.config import Settings
from tryon.model_file import resolve_model_path
from tryon.products import BuiltinCatalog
from tryon.tracking import FaceTracker


class Services:
    """Long-lived objects of one app. Trackers are created on first use and reused."""

    def __init__(self, settings: Settings, still_trackers: int = 2) -> None:
        self.settings = settings
        self.stream_slots = threading.BoundedSemaphore(settings.max_streams)
        self.catalog = BuiltinCatalog(settings.assets_dir)
        self._still_pool: "queue.LifoQueue[FaceTracker]" = queue.LifoQueue()
        self._still_capacity = still_trackers
        self._created = 0
        self._lock = threading.Lock()

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
