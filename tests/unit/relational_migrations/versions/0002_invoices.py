"""Add invoices (foreign key to accounts) and accounts.currency.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("currency", sa.String(3), nullable=False, server_default="EUR"))
    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invoices")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("currency")
