"""time schedules, holidays and anti-passback (gate service)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules')),
    sa.UniqueConstraint('name', name=op.f('uq_schedules_name'))
    )
    op.create_table('holidays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holidays')),
    sa.UniqueConstraint('day', name=op.f('uq_holidays_day'))
    )
    op.create_table('schedule_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('days', sa.String(length=7), nullable=False),
    sa.Column('start', sa.String(length=5), nullable=False),
    sa.Column('end', sa.String(length=5), nullable=False),
    sa.Column('on_holidays', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_schedule_windows_schedule_id_schedules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_windows'))
    )
    op.create_index(op.f('ix_schedule_windows_schedule_id'), 'schedule_windows', ['schedule_id'], unique=False)
    op.create_table('schedule_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('group_name', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_schedule_assignments_resident_id_residents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'], name=op.f('fk_schedule_assignments_schedule_id_schedules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_assignments'))
    )
    op.create_index(op.f('ix_schedule_assignments_schedule_id'), 'schedule_assignments', ['schedule_id'], unique=False)
    op.create_index(op.f('ix_schedule_assignments_resident_id'), 'schedule_assignments', ['resident_id'], unique=False)
    op.create_index(op.f('ix_schedule_assignments_group_name'), 'schedule_assignments', ['group_name'], unique=False)
    op.create_table('passback_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('entry_gate_id', sa.Integer(), nullable=False),
    sa.Column('exit_gate_id', sa.Integer(), nullable=False),
    sa.Column('reset_minutes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_gate_id'], ['gates.id'], name=op.f('fk_passback_pairs_entry_gate_id_gates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['exit_gate_id'], ['gates.id'], name=op.f('fk_passback_pairs_exit_gate_id_gates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passback_pairs')),
    sa.UniqueConstraint('name', name=op.f('uq_passback_pairs_name'))
    )
    op.create_index(op.f('ix_passback_pairs_entry_gate_id'), 'passback_pairs', ['entry_gate_id'], unique=False)
    op.create_index(op.f('ix_passback_pairs_exit_gate_id'), 'passback_pairs', ['exit_gate_id'], unique=False)
    op.create_table('passback_presence',
    sa.Column('pair_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('inside', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pair_id'], ['passback_pairs.id'], name=op.f('fk_passback_presence_pair_id_passback_pairs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resident_id'], ['residents.id'], name=op.f('fk_passback_presence_resident_id_residents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pair_id', 'resident_id', name=op.f('pk_passback_presence'))
    )


def downgrade() -> None:
    op.drop_table('passback_presence')
    op.drop_index(op.f('ix_passback_pairs_exit_gate_id'), table_name='passback_pairs')
    op.drop_index(op.f('ix_passback_pairs_entry_gate_id'), table_name='passback_pairs')
    op.drop_table('passback_pairs')
    op.drop_index(op.f('ix_schedule_assignments_group_name'), table_name='schedule_assignments')
    op.drop_index(op.f('ix_schedule_assignments_resident_id'), table_name='schedule_assignments')
    op.drop_index(op.f('ix_schedule_assignments_schedule_id'), table_name='schedule_assignments')
    op.drop_table('schedule_assignments')
    op.drop_index(op.f('ix_schedule_windows_schedule_id'), table_name='schedule_windows')
    op.drop_table('schedule_windows')
    op.drop_table('holidays')
    op.drop_table('schedules')
