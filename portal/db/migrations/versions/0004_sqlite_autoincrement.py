"""chats and bots never reuse a deleted row's id on SQLite (AUTOINCREMENT)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

PostgreSQL sequences never reuse ids; SQLite's plain INTEGER PRIMARY KEY hands the highest id out again
after that row is deleted. SQLite can only add AUTOINCREMENT by rebuilding the table.
"""

import warnings
from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("chats", "bots")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        # Rebuilding reflects the tables these refer to; SQLite cannot reflect the users table's
        # lower(username) index, which the rebuild does not touch anyway: nothing for an operator to see.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
            with op.batch_alter_table(
                table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
            ):
                pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
