"""Retention and accountability: `gate purge`, `gate retention-schedule`, `gate audit verify`,
`gate privacy record`."""

from __future__ import annotations

import json
import sys

import click

from gate.cli import CLI_ACTOR, Env, pass_env
from gate.store import audit as audit_log
from gate.store import retention


@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted, delete nothing.")
@pass_env
def purge(env: Env, dry_run: bool) -> None:
    """Delete face data past retention, of moved-out residents, and orphans; re-apply the deletion ledger;
    rotate the master key if a deletion asked for it. Never touches cards or PINs."""
    ctx = env.context()
    if dry_run:
        with ctx.sessions() as session:
            # Deadlines in the database's time: every gate finds the same templates due (issue 17).
            due = retention.due_for_deletion(session, ctx.settings.template_retention_days, ctx.site_now(session),
                                             forbid_minors=ctx.settings.forbid_face_for_minors,
                                             timezone=ctx.settings.site.timezone)
            for resident, template, reason in due:
                click.echo(f"{resident.code}: {reason} (last used {template.last_used_at:%Y-%m-%d})")
        click.echo(f"{len(due)} face templates due for deletion (dry run: nothing deleted)")
        return

    def progress(done: int, total: int) -> None:
        click.echo(f"re-wrapped {done}/{total} data keys", err=True)

    result = ctx.upkeep().run(site_days=ctx.settings.template_retention_days, actor=CLI_ACTOR, now=ctx.site_now(),
                              progress=progress, forbid_minors=ctx.settings.forbid_face_for_minors,
                              timezone=ctx.settings.site.timezone, visitor_days=ctx.settings.retention.visitor_days)
    report = result.purge
    assert report is not None
    click.echo(f"purged {report.total} face templates: expired={report.expired} moved_out={report.moved_out} "
               f"no_consent={report.no_consent} minor={report.minor} orphaned={report.orphaned}")
    if result.ledger.changed or result.unreadable:
        click.echo(f"deletion ledger re-applied: {result.ledger.changed} changes; "
                   f"{result.unreadable} templates under destroyed master keys deleted")
    if result.rotation is not None:
        click.echo(f"deletions finished: master key rotated to {result.rotation.new_key_id}, the old one destroyed")
    for problem in result.problems:
        click.echo(f"warning: {problem}", err=True)


@click.command("retention-schedule")
@pass_env
def retention_schedule(env: Env) -> None:
    """Print the written retention schedule, generated from this site's settings (the same at every gate)."""
    click.echo(retention.schedule_text(env.context().settings.template_retention_days))


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("verify")
@pass_env
def audit_verify(env: Env) -> None:
    """Recompute the chain; exit 1 if any entry was edited, deleted or reordered."""
    with env.context().sessions() as session:
        report = audit_log.verify(session)
    if not report.ok:
        click.echo(f"audit log BROKEN after {report.entries} entries: {report.problem}", err=True)
        sys.exit(1)
    click.echo(f"audit log intact: {report.entries} entries, head {report.head}")


@click.group("privacy")
def privacy_group() -> None:
    """Accountability records for the regulator and the impact assessment."""


@privacy_group.command("record")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@pass_env
def privacy_record(env: Env, as_json: bool) -> None:
    """The record of processing (PIPL 54-56): purposes, data, storage, recipients, security, retention, counts."""
    from gate.store.processing_record import processing_record

    ctx = env.context()
    with ctx.sessions() as session:
        record = processing_record(session, ctx.settings, ctx.clock()).as_dict()
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    for heading, value in record.items():
        click.echo(f"{heading.replace('_', ' ')}:")
        for line in _lines(value):
            click.echo(f"  {line}")


def _lines(value: object) -> list[str]:
    if isinstance(value, dict):
        return [f"{k.replace('_', ' ')}: {v if v not in (None, '') else '-'}" for k, v in value.items()]
    if isinstance(value, list):
        return [", ".join(f"{k}={v}" for k, v in item.items()) if isinstance(item, dict) else str(item)
                for item in value] or ["none"]
    return [str(value)]


COMMANDS = [purge, retention_schedule, audit_group, privacy_group]
