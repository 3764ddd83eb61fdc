"""Database tables (SQLAlchemy 2). The schema itself is created and changed by Alembic migrations."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utc_now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    keys: Mapped[list[ApiKey]] = relationship(back_populates="merchant", cascade="all, delete-orphan")
    origins: Mapped[list[AllowedOrigin]] = relationship(cascade="all, delete-orphan")


class ApiKey(Base):
    """A merchant's API key: only its SHA-256 is kept; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    merchant: Mapped[Merchant] = relationship(back_populates="keys")


class AllowedOrigin(Base):
    """A web origin (scheme://host[:port]) allowed to embed the merchant's try-on."""

    __tablename__ = "allowed_origins"
    __table_args__ = (UniqueConstraint("merchant_id", "origin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(300))


class ProductRow(Base):
    """A product: glasses (spec + image blobs) or makeup (spec only). Assets are blob-store keys."""

    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("merchant_id", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # "glasses" or a makeup type
    spec: Mapped[dict] = mapped_column(JSON)
    assets: Mapped[dict] = mapped_column(JSON, default=dict)  # {"front": key, "temple": key}
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now, onupdate=utc_now)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # +1 on every change


class UsageCount(Base):
    """Analytics: how often a product was tried, snapshotted, added to a cart, per day."""

    __tablename__ = "usage_counts"
    __table_args__ = (UniqueConstraint("product_id", "day", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    event: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer, default=0)


class CountedEvent(Base):
    """An event already counted for a try-on session and product: analytics count each once."""

    __tablename__ = "counted_events"
    __table_args__ = (UniqueConstraint("session_id", "product_id", "event"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)


class EmbedSighting(Base):
    """The last page origin the merchant's try-on was checked or loaded from: whether the snippet is
    installed (and where), for the dashboard's checklist."""

    __tablename__ = "embed_sightings"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"), primary_key=True)
    origin: Mapped[str] = mapped_column(String(300))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now)


class SessionFit(Base):
    """The glasses that fit the face measured in a try-on session: product SKUs and the ideal front
    width, nothing of the face itself; kept as long as the session's token is good."""

    __tablename__ = "session_fits"

    session_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id", ondelete="CASCADE"))
    fitting: Mapped[list] = mapped_column(JSON)
    ideal_width_mm: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utc_now, index=True)
