"""The public API: a session owns what one mode of input needs; `render` draws products on a photo.

In the spirit of rembg's `new_session` / `remove`: a session is built once (it loads the face model)
and reused; `render` makes a photo session when none is given.

- `new_session("photo")`: stills; every face, each measured on the photo (glasses at true size).
- `new_session("stream")`: video frames of one person in order (a live camera, a clip): the main
  face, pose and light smoothed, measured over the first frontal frames (true size once measured);
  the landmark model runs only on frames where the face changed (`tryon.reuse`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from tryon.config import Settings
from tryon.fit import FaceMeasurer, FitEstimate
from tryon.model_file import resolve_model_path
from tryon.pipeline import PhotoEngine, StreamEngine, Tracked, TryOnEngine
from tryon.products import BuiltinCatalog, Catalog, Product
from tryon.reuse import ReusingTracker
from tryon.tracking import FaceTracker

SessionMode = Literal["photo", "stream"]


class _Closeable(Protocol):
    def close(self) -> None: ...


class Session:
    """Trackers and the engine over them, for one mode of input; close it (or use `with`) when done."""

    def __init__(
        self, mode: SessionMode, engine: TryOnEngine, trackers: Sequence[_Closeable], catalog: Catalog
    ) -> None:
        self.mode = mode
        self.engine = engine
        self.catalog = catalog
        self.last: Tracked | None = None
        self._trackers = trackers

    def products(self, products: Sequence[str | Product]) -> list[Product]:
        """Products by id (looks expanded, from the session's catalogue) or as given."""
        resolved: list[Product] = []
        for product in products:
            resolved += self.catalog.resolve([product]) if isinstance(product, str) else [product]
        return resolved

    def render(
        self, image: np.ndarray, products: Sequence[str | Product], timestamp_ms: int | None = None
    ) -> np.ndarray:
        """`image` (BGR) with `products` drawn on it; what was tracked is kept in `last`."""
        output, self.last = self.engine.render(image, self.products(products), timestamp_ms)
        return output

    @property
    def fit(self) -> FitEstimate | None:
        """The main face's measurements (PD, face width) as of the last render."""
        return self.last.fit if self.last is not None else None

    def close(self) -> None:
        for tracker in self._trackers:
            tracker.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def new_session(
    mode: SessionMode = "photo", *, model_path: Path | None = None, catalog: Catalog | None = None, max_faces: int = 4
) -> Session:
    """A session for photos or for a stream of frames (see the module docstring).

    model_path: the face model (default: the verified one the setup fetched); catalog: where
    product ids are looked up (default: the built-in products).
    """
    settings = Settings.from_env()
    path = resolve_model_path(settings) if model_path is None else model_path
    catalog = catalog if catalog is not None else BuiltinCatalog(settings.assets_dir)
    if mode == "photo":
        tracker = FaceTracker(path, max_faces=max_faces)
        return Session(mode, PhotoEngine(tracker), [tracker], catalog)
    if mode == "stream":
        live, measurer = ReusingTracker(FaceTracker(path, video=True)), FaceMeasurer(model_path=path)
        return Session(mode, StreamEngine.smoothed(live, measurer), [live, measurer], catalog)
    raise ValueError(f"unknown session mode {mode!r}: use 'photo' or 'stream'")


def render(image: np.ndarray, products: Sequence[str | Product], *, session: Session | None = None) -> np.ndarray:
    """Draw products (ids or Product objects) on every face of a photo (BGR uint8); returns the new image."""
    if session is not None:
        return session.render(image, products)
    with new_session("photo") as photo:
        return photo.render(image, products)
