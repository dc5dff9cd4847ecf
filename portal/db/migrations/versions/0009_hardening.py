"""hardening (issue 14): login codes are kept in plain text only while pending

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('login_codes', schema=None) as batch_op:
        batch_op.alter_column('code', existing_type=sa.String(length=8), nullable=True)
    # Used and cancelled codes are never handed out again (the janitor clears expired ones).
    op.execute("UPDATE login_codes SET code = NULL WHERE used_at IS NOT NULL OR cancelled_at IS NOT NULL")


def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM login_codes WHERE code IS NULL")
    with op.batch_alter_table('login_codes', schema=None) as batch_op:
        batch_op.alter_column('code', existing_type=sa.String(length=8), nullable=False)
