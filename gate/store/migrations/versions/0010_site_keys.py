"""gate_keys (the site keyring sealed per gate) and deletion_ledger (every gate's deletions, shared)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa



revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # New tables only: a gate of the previous version ignores them (expand, no contract).
    op.create_table(
        'gate_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('gate', sa.String(length=64), nullable=False),
        sa.Column('public_key', sa.LargeBinary(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=True),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('approved_by', sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_keys')),
        sa.UniqueConstraint('gate', name=op.f('uq_gate_keys_gate')),
    )
    op.create_table(
        'deletion_ledger',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('origin', sa.String(length=32), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('line', sa.Text(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deletion_ledger')),
        sa.UniqueConstraint('origin', 'seq', name=op.f('uq_deletion_ledger_origin')),
    )


def downgrade() -> None:
    op.drop_table('deletion_ledger')
    op.drop_table('gate_keys')
