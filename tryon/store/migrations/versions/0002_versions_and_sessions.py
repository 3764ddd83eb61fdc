"""Product versions (optimistic concurrency: an edit names the version it was made on) and try-on
sessions' counted events (each event counted once per session and product).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("products", sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_table(
        "counted_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.String(32), nullable=False),
        sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.UniqueConstraint("session_id", "product_id", "event"),
    )


def downgrade() -> None:
    op.drop_table("counted_events")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("version")
