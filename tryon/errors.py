"""Exceptions raised by the try-on engine, each with a message a user can act on."""


class TryOnError(Exception):
    """Base class for every error this package raises on purpose."""


class FaceModelError(TryOnError):
    """The face landmark model is missing, unreadable or not the expected file."""


class InvalidImageError(TryOnError):
    """Bytes or arrays that are not a usable image (corrupt, wrong type, too large)."""


class ProductError(TryOnError):
    """A product definition or asset that cannot be used."""


class UnknownProductError(ProductError):
    """No product (or merchant) by that id is on offer."""


class ConflictError(TryOnError):
    """The request clashes with what is stored (e.g. a SKU that already exists)."""
