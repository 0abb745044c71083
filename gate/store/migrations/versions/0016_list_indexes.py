"""indexes for the operators' long lists at 100,000 residents and 10,000,000 events: residents sorted by
name and unit and filtered by status and group, system events apart from decisions, the audit log by
actor and date

Revision ID: 0016
Revises: 0012
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op


revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
#: Only new indexes: the release before this one reads and writes the database as before (docs/site.md).
compatible_with_previous = True

#: (name, table, columns): the same names as the models' Index() declarations.
INDEXES = (
    ('ix_residents_name_id', 'residents', ['name', 'id']),
    ('ix_residents_unit_id', 'residents', ['unit', 'id']),
    ('ix_residents_status', 'residents', ['status']),
    ('ix_residents_group_name', 'residents', ['group_name']),
    ('ix_access_events_method_at', 'access_events', ['method', 'at']),
    ('ix_audit_log_actor_id', 'audit_log', ['actor', 'id']),
    ('ix_audit_log_at', 'audit_log', ['at']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
