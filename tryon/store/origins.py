"""The web origins allowed to embed a merchant's try-on (checked by tryon.web.public against the
Origin header, and used for the embed page's frame-ancestors policy)."""

from __future__ import annotations

from urllib.parse import urlparse

from sqlalchemy import delete, select

from tryon.errors import InvalidOriginError
from tryon.store.context import MerchantContext
from tryon.store.models import AllowedOrigin

ANY_ORIGIN = "*"


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
    parsed = urlparse(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path not in ("", "/"):
        raise InvalidOriginError(f"not an origin (scheme://host[:port]): {value!r}")
    return f"{parsed.scheme}://{parsed.netloc}".lower()
