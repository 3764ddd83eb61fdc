"""Giving memory back after heavy requests: glibc keeps freed heap pages in its arenas, so a worker
that once decoded a large upload would hold that memory for good (150 MB idle grew past 600 MB
after a few large renders). After a request to an endpoint that decodes images, `malloc_trim`
returns the free pages to the system; it takes a few milliseconds, paid only by those requests."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

from flask import Response, request

IMAGE_ENDPOINTS = frozenset(
    {
        "api.render",
        "api.render_batch",
        "merchant_api.create_product",
        "merchant_api.update_product",
        "merchant_api.replace_images",
        "merchant_api.stored_preview",
        "merchant_api.draft_preview",
    }
)


def _libc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on a C library without it."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _libc_trim()


def release_memory(response: Response) -> Response:
    """after_request hook: trim the heap after a request that decoded images (an upload, a photo)."""
    if _MALLOC_TRIM is not None and request.endpoint in IMAGE_ENDPOINTS:
        _MALLOC_TRIM(0)
    return response
