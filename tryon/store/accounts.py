"""Merchant accounts and their API keys. A key is returned once, when issued, and stored only as a
digest (tryon.store.keys)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tryon.errors import ConflictError, InvalidKeyError, UnknownMerchantError
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


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown of an API key: its prefix (to recognise it by), when it was issued, if revoked."""

    prefix: str
    created_at: datetime
    revoked: bool


def list_keys(db: Database, slug: str) -> list[KeyInfo]:
    """The merchant's keys, oldest first (never the keys themselves: only their digests are kept)."""
    with db.session() as session:
        merchant = _merchant_row(session, slug)
        rows = sorted(merchant.keys, key=lambda row: (row.created_at, row.id))
        return [KeyInfo(row.prefix, row.created_at, row.revoked) for row in rows]


def revoke_key(db: Database, slug: str, prefix: str) -> None:
    """Revoke the merchant's key(s) starting with `prefix` (at least 8 characters); it stops working at
    once. UnknownMerchantError / InvalidKeyError when there is no such merchant or key."""
    if len(prefix) < 8:
        raise InvalidKeyError("name the key by at least its first 8 characters")
    with db.session() as session:
        merchant = _merchant_row(session, slug)
        matching = [row for row in merchant.keys if row.prefix == prefix[:8] and not row.revoked]
        if not matching:
            raise InvalidKeyError(f"merchant {slug!r} has no active key starting with {prefix[:8]!r}")
        for row in matching:
            row.revoked = True


def _merchant_row(session: Session, slug: str) -> Merchant:
    merchant = session.scalar(select(Merchant).where(Merchant.slug == slug))
    if merchant is None:
        raise UnknownMerchantError(f"unknown merchant {slug!r}")
    return merchant


def _key_row(key: str, merchant_id: int | None = None) -> ApiKey:
    """The stored form of a key: a short prefix to recognise it by, and its digest (the merchant is
    set by the relationship when the key is appended to a new merchant's keys)."""
    return ApiKey(merchant_id=merchant_id, prefix=key[:8], digest=key_digest(key))
