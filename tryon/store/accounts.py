"""Merchant accounts and their API keys. A key is returned once, when issued, and stored only as a
digest (tryon.store.keys)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tryon.errors import ConflictError, UnknownMerchantError
from tryon.store.database import Database
from tryon.store.keys import key_digest, new_key
from tryon.store.models import ApiKey, Merchant
from tryon.store.records import MerchantAccount
from tryon.store.slugs import require_slug


def create_merchant(db: Database, slug: str, *, name: str) -> tuple[MerchantAccount, str]:
    """A new merchant and its first API key; ConflictError when the slug is taken."""
    require_slug(slug, field="merchant slug")
    key = new_key()
    try:
        with db.session() as session:
            merchant = Merchant(slug=slug, name=name)
            merchant.keys.append(_key_row(key))
            session.add(merchant)
            session.flush()
            account = MerchantAccount.from_row(merchant)
    except IntegrityError:
        raise ConflictError(f"merchant {slug!r} exists already") from None
    return account, key


def issue_key(db: Database, slug: str) -> str:
    """A further API key for an existing merchant (e.g. to rotate keys without downtime)."""
    key = new_key()
    with db.session() as session:
        merchant = session.scalar(select(Merchant).where(Merchant.slug == slug))
        if merchant is None:
            raise UnknownMerchantError(f"unknown merchant {slug!r}")
        session.add(_key_row(key, merchant_id=merchant.id))
    return key


def find_merchant(db: Database, slug: str) -> MerchantAccount | None:
    """The merchant with this slug, or None."""
    with db.session() as session:
        merchant = session.scalar(select(Merchant).where(Merchant.slug == slug))
        return MerchantAccount.from_row(merchant) if merchant else None


def authenticate(db: Database, key: str) -> MerchantAccount | None:
    """The merchant an API key belongs to, or None (unknown or revoked key)."""
    with db.session() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.digest == key_digest(key), ApiKey.revoked.is_(False)))
        return MerchantAccount.from_row(row.merchant) if row else None


def _key_row(key: str, merchant_id: int | None = None) -> ApiKey:
    """The stored form of a key: a short prefix to recognise it by, and its digest (the merchant is
    set by the relationship when the key is appended to a new merchant's keys)."""
    return ApiKey(merchant_id=merchant_id, prefix=key[:8], digest=key_digest(key))
