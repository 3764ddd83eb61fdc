"""Usage counts: how often shoppers start a try-on session with a product, try it, take a snapshot
and add it to the cart; one counter per product, day and event, each event counted at most once
per try-on session and product (the session comes from a signed token, tryon.web.tokens)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from tryon.errors import InvalidEventError, UnknownProductError
from tryon.store.context import MerchantContext
from tryon.store.database import Database
from tryon.store.models import CountedEvent, Merchant, ProductRow, UsageCount, utc_now

EVENTS = ("session", "product_tried", "snapshot_taken", "add_to_cart")
SESSION_MAX_AGE_S = 24 * 3600  # a try-on session's token is good this long (a page left open for a day)
INSERT_ATTEMPTS = 3  # two first events of the day may race to insert the counter


def record_event(db: Database, event: str, *, merchant_slug: str, sku: str, session_id: str) -> bool:
    """Count a widget event for a published product of the merchant (events come from shoppers'
    pages, so an unpublished product is unknown) unless this session counted it already; returns
    whether it was counted. The session's mark and the counter change in one transaction."""
    if event not in EVENTS:
        raise InvalidEventError(f"event must be one of {', '.join(EVENTS)}")
    product_id = _published_product_id(db, merchant_slug, sku)
    today = date.today()
    for _attempt in range(INSERT_ATTEMPTS):
        if _counted_already(db, session_id, product_id, event):
            return False
        try:
            with db.session() as session:
                session.add(CountedEvent(session_id=session_id, product_id=product_id, event=event))
                session.flush()  # the same session's same event, sent twice at once, fails here
                counter = session.scalar(
                    select(UsageCount).where(
                        UsageCount.product_id == product_id, UsageCount.day == today, UsageCount.event == event
                    )
                )
                if counter is None:
                    session.add(UsageCount(product_id=product_id, day=today, event=event, count=1))
                else:
                    counter.count = UsageCount.count + 1  # incremented in the database, not read-modify-write
            return True
        except IntegrityError:
            continue
    return False


def forget_sessions(db: Database, *, now: datetime | None = None) -> int:
    """Drop the marks of sessions whose tokens have expired (their events can no longer be sent);
    returns how many went. The counts themselves stay."""
    cutoff = (now or utc_now()) - timedelta(seconds=SESSION_MAX_AGE_S)
    with db.session() as session:
        result = session.execute(delete(CountedEvent).where(CountedEvent.created_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)


def _counted_already(db: Database, session_id: str, product_id: int, event: str) -> bool:
    with db.session() as session:
        mark = session.scalar(
            select(CountedEvent.id).where(
                CountedEvent.session_id == session_id,
                CountedEvent.product_id == product_id,
                CountedEvent.event == event,
            )
        )
    return mark is not None


def usage(ctx: MerchantContext) -> dict[str, dict[str, int]]:
    """Event totals per product SKU (products never used are left out)."""
    with ctx.db.session() as session:
        rows = session.execute(
            select(ProductRow.sku, UsageCount.event, UsageCount.count)
            .join(UsageCount, UsageCount.product_id == ProductRow.id)
            .where(ProductRow.merchant_id == ctx.merchant_id)
        )
        totals: dict[str, dict[str, int]] = {}
        for sku, event, count in rows:
            totals.setdefault(sku, dict.fromkeys(EVENTS, 0))[event] += count
    return totals


def _published_product_id(db: Database, merchant_slug: str, sku: str) -> int:
    """The row id of the merchant's published product `sku`; UnknownProductError when there is none."""
    with db.session() as session:
        product_id = session.scalar(
            select(ProductRow.id)
            .join(Merchant, Merchant.id == ProductRow.merchant_id)
            .where(Merchant.slug == merchant_slug, ProductRow.sku == sku, ProductRow.published.is_(True))
        )
    if product_id is None:
        raise UnknownProductError(f"unknown product {sku!r}")
    return product_id
