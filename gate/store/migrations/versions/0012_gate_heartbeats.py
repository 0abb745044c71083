"""gate_heartbeats (who runs which gate, its release, clock offset and state) and schema_revisions (which
newer revisions an older release may keep running on)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
#: Only new tables: the release before this one reads and writes the database as before (docs/site.md).
compatible_with_previous = True


def upgrade() -> None:
    op.create_table(
        'gate_heartbeats',
        sa.Column('gate_id', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('instance', sa.String(length=32), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
        sa.Column('clock_offset_seconds', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['gate_id'], ['gates.id'], name=op.f('fk_gate_heartbeats_gate_id_gates'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('gate_id', name=op.f('pk_gate_heartbeats')),
    )
    op.create_table(
        'schema_revisions',
        sa.Column('revision', sa.String(length=32), nullable=False),
        sa.Column('down_revision', sa.String(length=32), nullable=True),
        sa.Column('compatible_with_previous', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('revision', name=op.f('pk_schema_revisions')),
    )


def downgrade() -> None:
    op.drop_table('schema_revisions')
    op.drop_table('gate_heartbeats')
