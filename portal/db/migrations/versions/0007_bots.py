"""bot command statistics (issue 12: `POST /v1/bot/batch`)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08

Command records a bot reports are summed per bot, command and UTC day (06 §5.3); reset-stats and a bot's
deletion remove its rows.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_command_stats",
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("command", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bot_id"], ["bots.id"], name=op.f("fk_bot_command_stats_bot_id_bots"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("bot_id", "command", "day", name=op.f("pk_bot_command_stats")),
    )


def downgrade() -> None:
    op.drop_table("bot_command_stats")
