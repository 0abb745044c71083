"""alarm_acknowledgements: which raising of which alarm at which gate an operator acknowledged, and when

Revision ID: 0015
Revises: 0012
Create Date: 2027-01-20

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0019'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
#: Only a new table: the release before this one reads and writes the database as before (docs/site.md).
compatible_with_previous = True


def upgrade() -> None:
    op.create_table(
        'alarm_acknowledgements',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('gate_name', sa.String(length=64), nullable=False),
        sa.Column('alarm', sa.String(length=32), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=64), nullable=False),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_acknowledgements')),
        sa.UniqueConstraint('gate_name', 'alarm', 'raised_at', name=op.f('uq_alarm_acknowledgements_gate_name')),
    )


def downgrade() -> None:
    op.drop_table('alarm_acknowledgements')
