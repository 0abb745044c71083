"""Which schema this code may work on: rolling upgrades across the gates of one site (docs/site.md).

Migrations expand, then contract: a release's migrations only add tables, nullable (or defaulted)
columns and indexes, and say so with `compatible_with_previous = True` in the migration module; a removal
or a new NOT NULL comes one release later, in a migration marked False. The code that upgrades a database
records every revision it knows, with that flag, in `schema_revisions`, because an older release meeting a
newer schema cannot read migration files it does not have. From that table an older gate learns whether
it may keep running:

* schema at this code's head: work as usual;
* schema older than this code: refuse, with the command that upgrades it;
* schema newer, every revision between it and this code's head marked compatible: work, with a warning
  in the log and a note on /health, until this gate's software is upgraded too;
* schema newer and not known to be compatible: refuse with one sentence that says to upgrade the software.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, delete, insert, inspect, select

from gate.errors import NotMigratedError
from gate.store.models import SchemaRevision

#: The name of the flag a migration module sets (True: the release before it keeps working on it).
FLAG = "compatible_with_previous"


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    compatible_with_previous: bool


def known_revisions(migrations_dir: Path) -> dict[str, Revision]:
    """Every revision in a migrations folder with its flag; a migration without the flag counts as not
    compatible (the safe reading: an older gate refuses rather than guesses)."""
    script = ScriptDirectory(str(migrations_dir))
    found: dict[str, Revision] = {}
    for item in script.walk_revisions():
        down = item.down_revision
        if isinstance(down, (tuple, list)):  # a merge point: the policy has no branches; take the first
            down = down[0] if down else None
        found[item.revision] = Revision(item.revision, down, bool(getattr(item.module, FLAG, False)))
    return found


def head_of(migrations_dir: Path) -> str:
    head = ScriptDirectory(str(migrations_dir)).get_current_head()
    assert head is not None
    return head


def record_revisions(connection: Connection, migrations_dir: Path) -> None:
    """Write what this code knows into `schema_revisions` (after an upgrade, in its transaction)."""
    if not inspect(connection).has_table(SchemaRevision.__tablename__):
        return  # upgraded only to a revision before the table existed
    connection.execute(delete(SchemaRevision))
    rows = [{"revision": r.revision, "down_revision": r.down_revision,
             "compatible_with_previous": r.compatible_with_previous}
            for r in known_revisions(migrations_dir).values()]
    if rows:
        connection.execute(insert(SchemaRevision), rows)


def _recorded(connection: Connection) -> dict[str, Revision]:
    if not inspect(connection).has_table(SchemaRevision.__tablename__):
        return {}
    return {row.revision: Revision(row.revision, row.down_revision, bool(row.compatible_with_previous))
            for row in connection.execute(select(SchemaRevision.revision, SchemaRevision.down_revision,
                                                 SchemaRevision.compatible_with_previous))}


@dataclass(frozen=True)
class NewerSchema:
    """The database's schema is newer than this code's and every step up to it is compatible."""

    current: str
    head: str

    @property
    def note(self) -> str:
        return (f"The database is at migration {self.current}, newer than this gate's code ({self.head}); the "
                "newer migrations are marked compatible, so this gate keeps working: upgrade its software soon.")


def newer_than_head(connection: Connection, current: str, head: str) -> NewerSchema:
    """A schema this code does not know: compatible (walk back to our head through compatible steps) or a
    refusal naming why."""
    recorded = _recorded(connection)
    revision: str | None = current
    seen: set[str] = set()
    while revision != head:
        step = recorded.get(revision) if revision is not None else None
        if step is None or revision in seen:
            raise NotMigratedError(
                f"The database is at migration {current}, which this gate's code ({head}) does not know and "
                "cannot tell is compatible: upgrade this gate's software to the release that made it.")
        if not step.compatible_with_previous:
            raise NotMigratedError(
                f"The database is at migration {current}, newer than this gate's code ({head}), and migration "
                f"{step.revision} is not compatible with older releases: upgrade this gate's software.")
        seen.add(step.revision)
        revision = step.down_revision
    return NewerSchema(current, head)


def refuse_downgrade(current: str | None, migrations_dir: Path) -> None:
    """`gate db upgrade` on an older release facing a newer database: one sentence, not Alembic's
    "Can't locate revision" traceback. Upgrading never goes down."""
    if current is None or current in known_revisions(migrations_dir):
        return
    raise NotMigratedError(
        f"The database is at migration {current}, newer than this gate's code ({head_of(migrations_dir)}): "
        "there is nothing to upgrade here; upgrade this gate's software instead.")
