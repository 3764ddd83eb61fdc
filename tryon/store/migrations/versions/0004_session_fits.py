"""Which glasses fit, per try-on session: what a store may ask the service for (numbers and product
ids only, nothing of the face).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_fits",
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("merchant_id", sa.Integer, sa.ForeignKey("merchants.id", ondelete="CASCADE"), nullable=False),
        sa.Column("fitting", sa.JSON, nullable=False),
        sa.Column("ideal_width_mm", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("session_fits")
