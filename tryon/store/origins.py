"""The web origins allowed to embed a merchant's try-on (checked by tryon.web.public against the
Origin header, and used for the embed page's frame-ancestors policy)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from sqlalchemy import delete, select

from tryon.errors import InvalidOriginError
from tryon.store.context import MerchantContext
from tryon.store.models import AllowedOrigin

ANY_ORIGIN = "*"
# An origin's host: DNS labels (or IPv4), an optional port; nothing else may follow (a space and "*",
# a ";" and another CSP directive would otherwise reach the embed page's frame-ancestors policy).
_HOST_PORT = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?")


def set_origins(ctx: MerchantContext, origins: list[str]) -> list[str]:
    """Replace the merchant's allowed origins (all or none: one bad origin changes nothing)."""
    cleaned = sorted({normalise_origin(o) for o in origins})
    with ctx.db.session() as session:
        session.execute(delete(AllowedOrigin).where(AllowedOrigin.merchant_id == ctx.merchant_id))
        session.add_all(AllowedOrigin(merchant_id=ctx.merchant_id, origin=o) for o in cleaned)
    return cleaned


def origins_of(ctx: MerchantContext) -> list[str]:
    """The merchant's allowed origins, sorted."""
    with ctx.db.session() as session:
        return sorted(session.scalars(select(AllowedOrigin.origin).where(AllowedOrigin.merchant_id == ctx.merchant_id)))


def normalise_origin(value: str) -> str:
    """scheme://host[:port] in lower case, as browsers send it in the Origin header ("*" as it is);
    InvalidOriginError for anything else (a path, another scheme)."""
    if value == ANY_ORIGIN:
        return value
    parsed = urlparse(value.strip().lower())
    plain = not (parsed.params or parsed.query or parsed.fragment) and parsed.path in ("", "/")
    if parsed.scheme not in ("http", "https") or not _HOST_PORT.fullmatch(parsed.netloc) or not plain:
        raise InvalidOriginError(f"not an origin (scheme://host[:port]): {value!r}")
    return f"{parsed.scheme}://{parsed.netloc}"
