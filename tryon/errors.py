"""Exceptions raised by the try-on engine, each with a message a user can act on.

Each names what failed, so a caller (the web layer's error mapping, the command line) can answer
with a fitting status without reading messages."""


class TryOnError(Exception):
    """Base class for every error this package raises on purpose."""


class FaceModelError(TryOnError):
    """The face landmark model is missing, unreadable or not the expected file."""


class InvalidImageError(TryOnError):
    """Bytes or arrays that are not a usable image (corrupt, wrong type, too large)."""


class ProductError(TryOnError):
    """A product definition or asset that cannot be used."""


class UnknownProductError(ProductError):
    """No product by that id is on offer."""


class UnknownMerchantError(TryOnError):
    """No merchant by that slug exists."""


class InvalidSlugError(TryOnError):
    """An id used in URLs (a merchant slug, a SKU) with characters or a length it may not have."""


class InvalidOriginError(TryOnError):
    """A web origin that is not scheme://host[:port]."""


class InvalidKeyError(TryOnError):
    """An API key named for revocation that the merchant does not have (or not by that prefix)."""


class InvalidEventError(TryOnError):
    """A widget analytics event name that is not one of those counted."""


class ConflictError(TryOnError):
    """The request clashes with what is stored (e.g. a SKU that already exists)."""


class VersionConflictError(ConflictError):
    """An edit made on a version of a product that has been changed since (HTTP If-Match)."""


class InvalidSessionError(TryOnError):
    """A try-on session token that is missing, forged, for another merchant or expired."""


class EngineError(TryOnError):
    """The engine process rendering a live session stopped, or stopped answering (tryon.web.engines)."""
