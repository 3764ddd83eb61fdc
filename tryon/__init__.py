"""tryon: live virtual try-on of glasses and makeup, driven by MediaPipe face landmarks."""

from tryon.errors import FaceModelError, InvalidImageError, TryOnError

__all__ = ["FaceModelError", "InvalidImageError", "TryOnError"]
__version__ = "0.1.0"
