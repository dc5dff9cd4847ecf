"""a direct chat member's disconnect grace deadline (chat_members.away_until)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

The grace of 08 §54 lives in the database, so a deadline outlives the node that armed it: any node's
janitor archives a chat whose member stayed away past it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("away_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_chat_members_away_until"), ["away_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chat_members_away_until"))
        batch_op.drop_column("away_until")
