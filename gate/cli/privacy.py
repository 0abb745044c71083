"""Retention and accountability: `gate purge`, `gate retention-schedule`, `gate audit verify`."""

from __future__ import annotations

import sys

import click

from gate.cli import CLI_ACTOR, Env, pass_env
from gate.config import load_settings
from gate.store import audit as audit_log
from gate.store import retention


@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted, delete nothing.")
@pass_env
def purge(env: Env, dry_run: bool) -> None:
    """Delete face data past retention, of moved-out residents, and orphans. Never touches cards or PINs."""
    ctx = env.context()
    if dry_run:
        with ctx.sessions() as session:
            due = retention.due_for_deletion(session, ctx.settings.template_retention_days, ctx.clock(),
                                             forbid_minors=ctx.settings.forbid_face_for_minors,
                                             timezone=ctx.settings.site.timezone)
            for resident, template, reason in due:
                click.echo(f"{resident.code}: {reason} (last used {template.last_used_at:%Y-%m-%d})")
        click.echo(f"{len(due)} face templates due for deletion (dry run: nothing deleted)")
        return
    with ctx.transaction() as session:
        report = retention.purge(session, site_days=ctx.settings.template_retention_days, actor=CLI_ACTOR,
                                 now=ctx.clock(), forbid_minors=ctx.settings.forbid_face_for_minors,
                                 timezone=ctx.settings.site.timezone)
    click.echo(f"purged {report.total} face templates: expired={report.expired} moved_out={report.moved_out} "
               f"no_consent={report.no_consent} minor={report.minor} orphaned={report.orphaned}")


@click.command("retention-schedule")
@pass_env
def retention_schedule(env: Env) -> None:
    """Print the written retention schedule, generated from this site's configuration."""
    click.echo(retention.schedule_text(load_settings(env.data_dir).template_retention_days))


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


COMMANDS = [purge, retention_schedule, audit_group]
