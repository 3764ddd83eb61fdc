"""Ids that appear in URLs and embed snippets (merchant slugs, SKUs): a safe, short alphabet."""

from __future__ import annotations

import re

from tryon.errors import InvalidSlugError

SLUG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # matched whole: "$" would allow a trailing newline


def require_slug(value: str, *, field: str) -> str:
    """`value` itself when it is a valid slug; InvalidSlugError naming `field` otherwise."""
    if not isinstance(value, str) or not SLUG_PATTERN.fullmatch(value):
        raise InvalidSlugError(f"{field}: letters, digits, '.', '_' and '-' only, at most 64")
    return value
