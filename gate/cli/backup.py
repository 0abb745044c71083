"""`gate backup` and `gate restore`: database copies that can never bring a deleted person back."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import click

from gate.cli import CLI_ACTOR, Env, pass_env
from gate.context import GateContext
from gate.errors import KeyUnavailableError
from gate.store import audit, db, site_keys
from gate.store import backup as copies


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@click.command("backup")
@click.argument("destination", required=False, type=click.Path(dir_okay=False, path_type=Path))
@pass_env
def backup_command(env: Env, destination: Path | None) -> None:
    """Write a consistent copy of the database (never the key file) to DESTINATION, by default
    backups/gate-<date>-<time> in the data folder, readable by this user only."""
    ctx = env.context()
    if destination is None:
        stamp = datetime.now().astimezone().strftime("%Y%m%d-%H%M%S")
        destination = env.data_dir / "backups" / f"gate-{stamp}{copies.suffix_for(ctx.engine)}"
    with ctx.transaction() as session:
        audit.record(session, CLI_ACTOR, "backup.create", destination.name)
    written = copies.backup(ctx.engine, destination)
    click.echo(f"backup written to {written} ({written.stat().st_size} bytes, sha256 {_sha256(written)[:16]}…)")
    click.echo("The key file is not in it: keep the key file's own copy apart (docs/deletion.md).")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask; the current database is replaced.")
@pass_env
def restore_command(env: Env, source: Path, yes: bool) -> None:
    """Replace the database with a backup, then at once re-apply every deletion recorded since
    (the deletion ledger) and delete face data the destroyed master keys can no longer open.
    Stop the gate service first."""
    ctx = GateContext.open(env.data_dir, check_migrated=False, create=True)
    try:
        # Every gate's deletions this gate holds (its own and its copies of the others'): a damaged
        # ledger stops here, before anything is replaced.
        entries = len(ctx.upkeep().ledger_entries())
        try:
            keyring = ctx.key_file.load()
        except KeyUnavailableError as err:
            raise click.ClickException(f"{err} Restore refuses to run without it.") from err
        with ctx.sessions() as session:
            kept_slots = site_keys.snapshot(session)
        if not yes:
            click.confirm(f"Replace the database with {source}? Everything written since that backup is lost",
                          abort=True)
        copies.restore(ctx.engine, source)
        db.upgrade(ctx.engine)
        if kept_slots:
            # The site's membership and key are today's, never the backup's (docs/keys.md).
            with ctx.transaction() as session:
                site_keys.reinstate(session, kept_slots, keyring)
        report = ctx.upkeep().run(site_days=ctx.settings.template_retention_days, actor=CLI_ACTOR,
                                  now=ctx.clock(), forbid_minors=ctx.settings.forbid_face_for_minors,
                                  timezone=ctx.settings.site.timezone,
                                  visitor_days=ctx.settings.retention.visitor_days)
        with ctx.transaction() as session:
            audit.record(session, CLI_ACTOR, "backup.restore", source.name, sha256=_sha256(source),
                         ledger_entries=entries, consents_withdrawn=report.ledger.consents,
                         residents_removed=report.ledger.removed, templates_destroyed=report.ledger.templates
                         + report.unreadable + (report.purge.total if report.purge else 0))
    finally:
        ctx.close()
    ledger = report.ledger
    click.echo(f"restored {source}; deletion ledger re-applied ({entries} entries): "
               f"{ledger.consents} consents withdrawn again, {ledger.templates} face templates and "
               f"{ledger.links} links destroyed again, {ledger.removed} residents removed again, "
               f"{ledger.moved_out} marked moved out again")
    if report.unreadable:
        click.echo(f"{report.unreadable} face templates were wrapped by master keys destroyed since the backup "
                   "and were deleted; those residents keep card and PIN and may enroll their face again.")
    for problem in report.problems:
        click.echo(f"warning: {problem}", err=True)


COMMANDS = [backup_command, restore_command]
