"""Rolling upgrades (docs/site.md "Upgrading a site"): one gate migrates the shared database, the others,
still on the older release, keep deciding until their software is upgraded; what cannot be done safely is
refused with one sentence. A future release is simulated by a copy of the migrations folder with one more
revision beyond this code's head."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from gate.context import GateContext
from gate.errors import NotMigratedError
from gate.store import db, residents, schema
from gate.store.models import AccessEvent, Resident
from tests.conftest import GateCli, make_installation

FUTURE = "9999"


def future_release(tmp_path: Path, *, compatible: bool, body: str | None = None) -> Path:
    """This code's migrations plus revision 9999 on top: what a newer release would ship."""
    folder = tmp_path / "future_migrations"
    shutil.copytree(db.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    body = body or """
        with op.batch_alter_table('residents') as batch:
            batch.add_column(sa.Column('future_note', sa.String(length=40), nullable=True))
        op.create_table('future_things', sa.Column('id', sa.Integer(), primary_key=True))
    """
    upgrade = textwrap.indent(textwrap.dedent(body).strip(), "    ")
    (folder / "versions" / f"{FUTURE}_future.py").write_text(
        '"""A later release\'s migration (test only)."""\n'
        "from alembic import op\nimport sqlalchemy as sa\n\n"
        f"revision = {FUTURE!r}\ndown_revision = {db.head_revision()!r}\nbranch_labels = None\n"
        f"depends_on = None\ncompatible_with_previous = {compatible!r}\n\n\n"
        f"def upgrade() -> None:\n{upgrade}\n\n\ndef downgrade() -> None:\n    pass\n", encoding="utf-8")
    return folder


def migrate_with(data_dir: Path, migrations: Path) -> None:
    """The newer release's `gate db upgrade`, run on the shared database."""
    context = GateContext.open(data_dir, check_migrated=False)
    try:
        db.upgrade(context.engine, migrations)
        assert db.current_revision(context.engine) == FUTURE
    finally:
        context.close()


def test_an_older_release_keeps_deciding_after_a_newer_one_migrates(tmp_path, database_url, caplog):
    data_dir = make_installation(tmp_path / "data", database_url)
    migrate_with(data_dir, future_release(tmp_path, compatible=True))

    with caplog.at_level("WARNING"):
        context = GateContext.open(data_dir)  # today's code, the database one release ahead
    try:
        assert context.schema_note is not None and FUTURE in context.schema_note
        assert FUTURE in caplog.text
        # It writes (rows without the newer column) and reads, and decides card and PIN as before.
        with context.transaction() as session:
            resident = residents.add_resident(session, code="A1", name="Alice", actor="test")
            residents.add_card(session, resident, "123:45678", actor="test")
            residents.set_pin(session, resident, "482915", context.hasher, actor="test")
        access = context.access()
        assert access.card("main", "123,45678").decision.granted
        assert access.pin("main", "A1", "482915").decision.granted
        assert not access.card("main", "999,99999").decision.granted
        with context.sessions() as session:
            assert [e.granted for e in session.scalars(select(AccessEvent).order_by(AccessEvent.id))] == [
                True, True, False]
            assert session.scalar(select(Resident.name).where(Resident.code == "A1")) == "Alice"
            # The newer release's column is there, left empty by the older code.
            assert session.execute(sa.text("SELECT future_note FROM residents")).scalar_one() is None
    finally:
        context.close()


def test_an_older_release_refuses_a_newer_schema_not_marked_compatible(tmp_path, database_url):
    data_dir = make_installation(tmp_path / "data", database_url)
    migrate_with(data_dir, future_release(tmp_path, compatible=False))
    with pytest.raises(NotMigratedError) as refused:
        GateContext.open(data_dir)
    message = str(refused.value)
    assert f"migration {FUTURE}" in message and "not compatible" in message
    assert "upgrade this gate's software" in message
    assert message.count(".") == 1 and message.endswith(".")


def test_a_newer_schema_without_the_revision_record_is_refused(tmp_path):
    data_dir = make_installation(tmp_path / "data")
    migrate_with(data_dir, future_release(tmp_path, compatible=True))
    context = GateContext.open(data_dir, check_migrated=False)
    with context.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM schema_revisions"))
    context.close()
    with pytest.raises(NotMigratedError, match="cannot tell is compatible"):
        GateContext.open(data_dir)


def test_db_upgrade_on_an_older_release_facing_a_newer_database_says_so(tmp_path):
    data_dir = make_installation(tmp_path / "data")
    migrate_with(data_dir, future_release(tmp_path, compatible=True))
    result = GateCli(data_dir)("db", "upgrade")
    assert result.exit_code == 1
    assert "newer than this gate's code" in result.stderr and "upgrade this gate's software" in result.stderr
    assert "Traceback" not in result.output + result.stderr and "Can't locate" not in result.stderr


def test_a_gate_meeting_an_older_schema_is_refused_with_the_advice(tmp_path):
    data_dir = make_installation(tmp_path / "data")
    context = GateContext.open(data_dir)
    config = db.alembic_config(context.engine.url.render_as_string(hide_password=False))
    from alembic import command

    command.downgrade(config, "0007")
    context.close()
    with pytest.raises(NotMigratedError, match=r"is at migration 0007, the code needs .*db upgrade"):
        GateContext.open(data_dir)
    assert "database at" in GateCli(data_dir).ok("db", "upgrade")
    GateContext.open(data_dir).close()


# -- the policy, enforced on every migration that claims to be compatible -----------------------------


def _shape(engine: sa.Engine) -> dict[str, dict[str, dict[str, object]]]:
    inspector = sa.inspect(engine)
    return {table: {c["name"]: c for c in inspector.get_columns(table)}
            for table in inspector.get_table_names() if table != "alembic_version"}


def _compatible_revisions() -> list[schema.Revision]:
    return [r for r in schema.known_revisions(db.MIGRATIONS_DIR).values()
            if r.compatible_with_previous and r.down_revision is not None]


def test_migrations_from_0012_on_say_whether_they_are_compatible():
    """The flag is the migration author's promise; leaving it out would silently mean "not compatible"."""
    from alembic.script import ScriptDirectory

    for item in ScriptDirectory(str(db.MIGRATIONS_DIR)).walk_revisions():
        if item.revision >= "0012":
            assert hasattr(item.module, schema.FLAG), f"migration {item.revision} must set {schema.FLAG}"


@pytest.mark.parametrize("revision", _compatible_revisions(), ids=lambda r: r.revision)
def test_a_compatible_migration_only_expands(tmp_path, revision):
    """What the previous release's models need still holds after the migration: no table or column
    dropped, no column narrowed to NOT NULL, every added column nullable or with a server default (the
    older code's INSERTs leave it out)."""
    from alembic import command

    engine = db.make_engine(f"sqlite:///{tmp_path / 'shape.db'}")
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    command.upgrade(config, revision.down_revision)
    before = _shape(engine)
    command.upgrade(config, revision.revision)
    after = _shape(engine)
    engine.dispose()
    for table, columns in before.items():
        assert table in after, f"{revision.revision} drops table {table}"
        for name, column in columns.items():
            assert name in after[table], f"{revision.revision} drops {table}.{name}"
            assert column["nullable"] or not after[table][name]["nullable"], \
                f"{revision.revision} makes {table}.{name} NOT NULL"
        for name in after[table].keys() - columns.keys():
            added = after[table][name]
            assert added["nullable"] or added.get("default") is not None, \
                f"{revision.revision} adds {table}.{name} NOT NULL without a server default"


def test_the_policy_check_catches_a_not_null_column(tmp_path):
    """The check above is real: a migration adding a NOT NULL column without a default fails it."""
    folder = future_release(tmp_path, compatible=True, body="""
        with op.batch_alter_table('gates') as batch:
            batch.add_column(sa.Column('zone', sa.String(length=40), nullable=False))
    """)
    engine = db.make_engine(f"sqlite:///{tmp_path / 'shape.db'}")
    from alembic import command

    config = db.alembic_config(engine.url.render_as_string(hide_password=False), folder)
    command.upgrade(config, db.head_revision())
    before = _shape(engine)
    command.upgrade(config, FUTURE)
    added = _shape(engine)["gates"]["zone"]
    engine.dispose()
    assert "zone" not in before["gates"] and not added["nullable"] and added.get("default") is None
