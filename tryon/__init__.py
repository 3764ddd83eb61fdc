"""tryon: live virtual try-on of glasses and makeup, driven by MediaPipe face landmarks.

    import tryon
    image = tryon.render(photo, ["evening", "aviator"])       # a photo, glasses at true size
    with tryon.new_session("stream") as session:               # video frames, in order
        frame = session.render(frame, ["aviator"], timestamp_ms=t)
        print(session.fit)                                      # PD and face width once measured

The engine (MediaPipe) loads on first use of `render` or `new_session`, not on `import tryon`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tryon.errors import FaceModelError, InvalidImageError, ProductError, TryOnError, UnknownProductError

if TYPE_CHECKING:
    from tryon.sessions import Session, new_session, render

__all__ = [
    "FaceModelError",
    "InvalidImageError",
    "ProductError",
    "Session",
    "TryOnError",
    "UnknownProductError",
    "new_session",
    "render",
]
__version__ = "0.1.0"
_LAZY = {"Session", "new_session", "render"}


def __getattr__(name: str) -> Any:
    """Import the engine only when its API is first used (the CLI's merchant commands need none of it)."""
    if name in _LAZY:
        from tryon import sessions

        return getattr(sessions, name)
    raise AttributeError(f"module 'tryon' has no attribute {name!r}")
