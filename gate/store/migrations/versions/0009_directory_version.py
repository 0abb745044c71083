"""system_state 'directory_version': a counter bumped by the database itself when what card and PIN
decisions read changes, so every gate sees a revocation within seconds (gate.store.change_marker)

Revision ID: 0009
Revises: 0007
Create Date: 2027-01-10

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

KEY = 'directory_version'
#: What the offline copy holds (gate.access.offline_load). Not `gates`: the loop reads the policy
#: online between transactions, and the periodic refresh carries it into the copy.
TABLES = ('residents', 'cards', 'pins', 'consents', 'schedules', 'schedule_windows', 'schedule_assignments',
          'holidays')
OPERATIONS = ('insert', 'update', 'delete')

# PostgreSQL: a deferred constraint trigger runs at commit, after every other lock the transaction
# takes, so the counter's row lock is held for an instant and cannot be part of a deadlock; the
# transaction-local setting makes it one bump per transaction, however many rows changed.
PG_FUNCTION = f"""
CREATE FUNCTION gate_bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('gate.directory_bumped', true) IS DISTINCT FROM txid_current()::text THEN
        UPDATE system_state SET value = (value::bigint + 1)::text WHERE key = '{KEY}';
        PERFORM set_config('gate.directory_bumped', txid_current()::text, true);
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(sa.text(f"INSERT INTO system_state (key, value) VALUES ('{KEY}', '0')"))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(f"CREATE CONSTRAINT TRIGGER {table}_directory_version AFTER INSERT OR UPDATE OR DELETE "
                       f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                       "EXECUTE FUNCTION gate_bump_directory_version()")
        return
    # SQLite has one writer at a time: a plain row trigger in the same transaction is enough.
    for table in TABLES:
        for operation in OPERATIONS:
            op.execute(f"CREATE TRIGGER {table}_{operation}_directory_version AFTER {operation.upper()} ON {table} "
                       f"BEGIN UPDATE system_state SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) "
                       f"WHERE key = '{KEY}'; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_directory_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS gate_bump_directory_version()")
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{operation}_directory_version")
    op.execute(sa.text(f"DELETE FROM system_state WHERE key = '{KEY}'"))
