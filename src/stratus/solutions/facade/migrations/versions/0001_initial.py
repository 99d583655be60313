"""Initial schema: the legacy tables and the facade tables.

Revision ID: facade_0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stratus.solutions.facade.db import UtcDateTime

revision = "facade_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table."""
    op.create_table(
        "legacy_users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "legacy_permissions",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("legacy_users.id"), primary_key=True),
        sa.Column("permission", sa.String(64), primary_key=True),
    )
    op.create_table(
        "legacy_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("legacy_users.id"), nullable=False),
        sa.Column("issued_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_legacy_tokens_user_id", "legacy_tokens", ["user_id"])
    op.create_index("ix_legacy_tokens_expires_at", "legacy_tokens", ["expires_at"])
    op.create_table(
        "legacy_customers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "legacy_orders",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "customer_id", sa.String(32), sa.ForeignKey("legacy_customers.id"), nullable=False
        ),
        sa.Column("placed_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total_cents", sa.Integer, nullable=False),
    )
    op.create_index("ix_legacy_orders_customer_id", "legacy_orders", ["customer_id"])
    op.create_table(
        "legacy_products",
        sa.Column("sku", sa.String(32), primary_key=True),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("price_cents", sa.Integer, nullable=False),
    )
    op.create_table(
        "facade_loyalty",
        sa.Column(
            "customer_id", sa.String(32), sa.ForeignKey("legacy_customers.id"), primary_key=True
        ),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "facade_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "customer_id", sa.String(32), sa.ForeignKey("legacy_customers.id"), nullable=False
        ),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("legacy_users.id"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_facade_notes_customer_id", "facade_notes", ["customer_id"])
    op.create_table(
        "facade_countries",
        sa.Column("code", sa.String(2), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    )
    op.create_table(
        "facade_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_facade_audit_at", "facade_audit", ["at"])


def downgrade() -> None:
    """Drop every table."""
    for name in (
        "facade_audit",
        "facade_countries",
        "facade_notes",
        "facade_loyalty",
        "legacy_products",
        "legacy_orders",
        "legacy_customers",
        "legacy_tokens",
        "legacy_permissions",
        "legacy_users",
    ):
        op.drop_table(name)
