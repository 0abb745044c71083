"""resident_trigrams: every three-character piece of each resident's code, name and unit (lower case), kept
by the database's own triggers, so a residents search of three or more characters reads a few index
ranges instead of every resident (gate.store.resident_query)

A plain table rather than SQLite FTS5: deleting from an FTS5 index (SQLite 3.40) writes a tombstone and
leaves the deleted name's pieces in the index's older segments until a merge; here a delete removes the
rows, and SQLite's secure_delete zeroes them (docs/deletion.md). The same table and triggers work on
PostgreSQL without the pg_trgm extension.

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-01

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None
#: A new table filled by triggers: the release before this one reads and writes residents as before, and
#: the triggers keep the table in step with what it writes (docs/site.md).
compatible_with_previous = True

TABLE = 'resident_trigrams'
#: The columns a search looks into (gate.store.resident_query.search_condition).
COLUMNS = ('code', 'name', 'unit')

# SQLite: lower() folds ASCII only, exactly what LIKE ignores, so every resident a LIKE finds has every
# piece of the lowered search text. A WITH inside a subquery is allowed in a trigger (not at its top).
_SQLITE_GRAMS = """
    INSERT OR IGNORE INTO resident_trigrams (gram, resident_id)
    SELECT DISTINCT substr(f.t, s.n, 3), NEW.id
    FROM (SELECT lower(NEW.code) AS t UNION ALL SELECT lower(NEW.name) UNION ALL SELECT lower(NEW.unit)) AS f
    JOIN (WITH RECURSIVE s(n) AS (
              SELECT 1 UNION ALL SELECT n + 1 FROM s
              WHERE n < max(length(lower(coalesce(NEW.code, ''))), length(lower(coalesce(NEW.name, ''))),
                            length(lower(coalesce(NEW.unit, '')))) - 2)
          SELECT n FROM s) AS s ON s.n <= length(f.t) - 2;
"""
SQLITE_TRIGGERS = {
    'residents_insert_trigrams': f"AFTER INSERT ON residents BEGIN {_SQLITE_GRAMS} END",
    'residents_update_trigrams': ("AFTER UPDATE OF code, name, unit ON residents BEGIN "
                                  f"DELETE FROM {TABLE} WHERE resident_id = OLD.id; {_SQLITE_GRAMS} END"),
    'residents_delete_trigrams': f"AFTER DELETE ON residents BEGIN DELETE FROM {TABLE} WHERE resident_id = OLD.id; END",
}
SQLITE_BACKFILL = f"""
    INSERT OR IGNORE INTO {TABLE} (gram, resident_id)
    WITH RECURSIVE s(n) AS (
        SELECT 1 UNION ALL SELECT n + 1 FROM s
        WHERE n < (SELECT max(max(length(lower(code)), length(lower(name)), length(lower(unit)))) - 2
                   FROM residents))
    SELECT substr(f.t, s.n, 3), f.id
    FROM (SELECT id, lower(code) AS t FROM residents UNION ALL SELECT id, lower(name) FROM residents
          UNION ALL SELECT id, lower(unit) FROM residents) AS f
    JOIN s ON s.n <= length(f.t) - 2
    ORDER BY 1, 2
"""

# PostgreSQL: ILIKE compares lower() of both sides under the column's collation; the same lower() here.
PG_GRAMS = """
    SELECT DISTINCT substr(f.t, s.n, 3), {id}
    FROM unnest(ARRAY[lower({row}code), lower({row}name), lower({row}unit)]) AS f(t)
    CROSS JOIN LATERAL generate_series(1, length(f.t) - 2) AS s(n)
"""
PG_FUNCTION = f"""
CREATE FUNCTION gate_resident_trigrams() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM {TABLE} WHERE resident_id = OLD.id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO {TABLE} (gram, resident_id) {PG_GRAMS.format(id='NEW.id', row='NEW.')};
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column('gram', sa.String(length=3), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('gram', 'resident_id', name='pk_resident_trigrams'),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_resident_trigrams_resident_id', TABLE, ['resident_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"INSERT INTO {TABLE} (gram, resident_id) "
                   f"SELECT g.* FROM residents r CROSS JOIN LATERAL ({PG_GRAMS.format(id='r.id', row='r.')}) AS g")
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER residents_trigrams AFTER INSERT OR DELETE OR UPDATE OF code, name, unit "
                   "ON residents FOR EACH ROW EXECUTE FUNCTION gate_resident_trigrams()")
        return
    op.execute(SQLITE_BACKFILL)
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS residents_trigrams ON residents")
        op.execute("DROP FUNCTION IF EXISTS gate_resident_trigrams()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_resident_trigrams_resident_id', table_name=TABLE)
    op.drop_table(TABLE)
