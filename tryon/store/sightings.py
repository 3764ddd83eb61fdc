"""Where each merchant's try-on was last embedded from: the dashboard's "snippet installed" check.

Embed-page loads and the loader's pre-checks note the page's origin; writes are throttled per
merchant (the same origin again after `refresh_s`, another origin after `switch_s`), so a busy
product page costs a database write every few minutes, not one per view.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tryon.store.context import MerchantContext
from tryon.store.database import Database
from tryon.store.models import EmbedSighting, utc_now


@dataclass(frozen=True)
class Sighting:
    origin: str
    seen_at: datetime


class SightingLog:
    """Throttled recording of embed origins (per process: each instance writes on its own)."""

    def __init__(self, db: Database, refresh_s: float = 300.0, switch_s: float = 10.0) -> None:
        self.db = db
        self.refresh_s, self.switch_s = refresh_s, switch_s
        self._written: dict[int, tuple[str, float]] = {}  # merchant id -> (origin, when), bounded by merchants
        self._lock = threading.Lock()

    def note(self, merchant_id: int, origin: str) -> bool:
        """Record `origin` as the merchant's latest unless it was written recently; True when written."""
        now = time.monotonic()
        with self._lock:
            last = self._written.get(merchant_id)
            if last is not None and now - last[1] < (self.refresh_s if last[0] == origin else self.switch_s):
                return False
            self._written[merchant_id] = (origin, now)
        try:
            with self.db.session() as session:
                session.merge(EmbedSighting(merchant_id=merchant_id, origin=origin[:300], seen_at=utc_now()))
        except IntegrityError:  # another process inserted the first row at the same moment: its origin stands
            return False
        return True


def last_sighting(ctx: MerchantContext) -> Sighting | None:
    """The origin the merchant's try-on was last seen embedded from, and when."""
    with ctx.db.session() as session:
        row = session.scalar(select(EmbedSighting).where(EmbedSighting.merchant_id == ctx.merchant_id))
        return Sighting(row.origin, row.seen_at) if row else None
