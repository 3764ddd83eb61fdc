"""API keys: random, shown once, stored as a SHA-256 digest (the key has 256 bits of entropy, so a
fast hash is safe here: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "tok_"


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
