"""validity dates on residents and cards; visitors, visitor_gates and access_events.visitor_id (tenants and
visitors, docs/tenants.md); visitor tables bump the directory version like the other tables the offline copy holds

Revision ID: 0013
Revises: 0012
Create Date: 2027-02-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
#: New tables and nullable columns only: the release before this one reads and writes as before (it does
#: not know validity, so on a mixed site an older gate lets an ended tenant in until it is upgraded).
compatible_with_previous = True

#: As in 0009: the offline copy now holds visitor codes, so a change to them reaches every gate within seconds.
TABLES = ('visitors', 'visitor_gates')
OPERATIONS = ('insert', 'update', 'delete')
KEY = 'directory_version'


def upgrade() -> None:
    for table in ('residents', 'cards'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('valid_from', sa.Date(), nullable=True))
            batch.add_column(sa.Column('valid_until', sa.Date(), nullable=True))
    op.create_index(op.f('ix_residents_valid_until'), 'residents', ['valid_until'])
    op.create_table(
        'visitors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=64), nullable=False),
        sa.Column('locator', sa.String(length=8), nullable=False),
        sa.Column('code_hash', sa.String(length=200), nullable=False),
        sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
        sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.Column('remaining', sa.Integer(), nullable=False),
        sa.Column('issued_by', sa.String(length=64), nullable=False),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visitors')),
    )
    op.create_index(op.f('ix_visitors_locator'), 'visitors', ['locator'])
    op.create_table(
        'visitor_gates',
        sa.Column('visitor_id', sa.Integer(), nullable=False),
        sa.Column('gate_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['visitor_id'], ['visitors.id'], name=op.f('fk_visitor_gates_visitor_id_visitors'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['gate_id'], ['gates.id'], name=op.f('fk_visitor_gates_gate_id_gates'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('visitor_id', 'gate_id', name=op.f('pk_visitor_gates')),
    )
    with op.batch_alter_table('access_events') as batch:
        batch.add_column(sa.Column('visitor_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f('fk_access_events_visitor_id_visitors'), 'visitors', ['visitor_id'], ['id'],
                                 ondelete='SET NULL')
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:  # the function comes from 0009
            op.execute(f"CREATE CONSTRAINT TRIGGER {table}_directory_version AFTER INSERT OR UPDATE OR DELETE "
                       f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                       "EXECUTE FUNCTION gate_bump_directory_version()")
        return
    for table in TABLES:
        for operation in OPERATIONS:
            op.execute(f"CREATE TRIGGER {table}_{operation}_directory_version AFTER {operation.upper()} ON {table} "
                       f"BEGIN UPDATE system_state SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
                       f"WHERE key = '{KEY}'; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_directory_version ON {table}")
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{operation}_directory_version")
    with op.batch_alter_table('access_events') as batch:
        batch.drop_constraint(op.f('fk_access_events_visitor_id_visitors'), type_='foreignkey')
        batch.drop_column('visitor_id')
    op.drop_table('visitor_gates')
    op.drop_index(op.f('ix_visitors_locator'), table_name='visitors')
    op.drop_table('visitors')
    op.drop_index(op.f('ix_residents_valid_until'), table_name='residents')
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), not a batch copy: copying `residents` drops the
    # old table, and with foreign keys on that cascades to every consent and card of every resident.
    for table in ('residents', 'cards'):
        op.drop_column(table, 'valid_until')
        op.drop_column(table, 'valid_from')
