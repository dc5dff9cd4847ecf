"""the bot that issued a bot login code (login_codes.bot_id)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

08 §65: a verified bot code of a Moderator+ user writes `USER_BOT_LOGIN` with the issuing bot's id, so the
code remembers its bot. A plain integer, not a foreign key: the audit row names the bot even after the bot
is deleted, and codes live ten minutes. (Numbered 0010 so the data-at-rest migration of issue 14 can be
0009; whichever merges second points its `down_revision` at the other.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bot_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_codes", schema=None) as batch_op:
        batch_op.drop_column("bot_id")
