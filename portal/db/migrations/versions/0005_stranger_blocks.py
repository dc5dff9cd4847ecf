"""stranger blocks (issue 11: the moderators' block list of stranger sessions)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('stranger_blocks',
    sa.Column('block_key', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_stranger_blocks_issued_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_stranger_blocks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('block_key', name=op.f('pk_stranger_blocks'))
    )
    with op.batch_alter_table('stranger_blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stranger_blocks_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('stranger_blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stranger_blocks_user_id'))
    op.drop_table('stranger_blocks')
