"""wrong-PIN counters that decay: when a counter's window started and its last failure

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Expand only: two nullable columns. A row without `first_failure_at` (written before this revision)
is read as failures of unknown age, which no longer count; a lock still running is kept to its end.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('lockouts') as batch:
        batch.add_column(sa.Column('first_failure_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lockouts') as batch:
        batch.drop_column('last_failure_at')
        batch.drop_column('first_failure_at')
