"""access_events.journal_id: events replayed from a gate's local journal, each written once

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a unique constraint to an existing table in place.
    with op.batch_alter_table('access_events') as batch:
        batch.add_column(sa.Column('journal_id', sa.String(length=32), nullable=True))
        batch.create_unique_constraint(op.f('uq_access_events_journal_id'), ['journal_id'])


def downgrade() -> None:
    with op.batch_alter_table('access_events') as batch:
        batch.drop_constraint(op.f('uq_access_events_journal_id'), type_='unique')
        batch.drop_column('journal_id')
