"""The glasses that fit a try-on session's face, for the store to ask for (tryon.web.advice).

A live session measures the shopper's face (tryon.fit); what it keeps here is only what a store
needs to list the right frames first: the SKUs that fit, best first, and the ideal front width.
No measurement of the face, no image. Rows go when the session's token expires (`forget_fits`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from tryon.sizing import FittingGlasses
from tryon.store.analytics import SESSION_MAX_AGE_S
from tryon.store.database import Database
from tryon.store.models import Merchant, SessionFit, utc_now


def record_fit(db: Database, merchant_id: int, session_id: str, fit: FittingGlasses) -> None:
    """Keep (or replace) the session's fitting glasses."""
    with db.session() as session:
        row = session.get(SessionFit, session_id)
        if row is None:
            row = SessionFit(session_id=session_id, merchant_id=merchant_id)
            session.add(row)
        elif row.merchant_id != merchant_id:
            return  # a session id is one merchant's: never overwritten from another's stream
        row.fitting, row.ideal_width_mm, row.updated_at = list(fit.fitting), fit.ideal_width_mm, utc_now()


def fitting_glasses(db: Database, merchant_slug: str, session_id: str) -> FittingGlasses | None:
    """The session's fitting glasses, or None while its face has not been measured."""
    with db.session() as session:
        row = session.scalar(
            select(SessionFit)
            .join(Merchant, Merchant.id == SessionFit.merchant_id)
            .where(SessionFit.session_id == session_id, Merchant.slug == merchant_slug)
        )
        return None if row is None else FittingGlasses(tuple(row.fitting), row.ideal_width_mm)


def forget_fits(db: Database, *, now: datetime | None = None) -> int:
    """Drop the fits of sessions whose tokens have expired; returns how many went."""
    cutoff = (now or utc_now()) - timedelta(seconds=SESSION_MAX_AGE_S)
    with db.session() as session:
        result = session.execute(delete(SessionFit).where(SessionFit.updated_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
