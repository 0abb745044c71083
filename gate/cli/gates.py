"""Gates, their accepted methods and the impact assessment face needs: `gate gates ...`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from gate.cli import CLI_ACTOR, Env, pass_env
from gate.errors import PolicyError
from gate.store import assessments, gates


@click.group("gates")
def gates_group() -> None:
    """Gates and the methods they accept."""


@gates_group.command("add")
@click.argument("name")
@click.option("--methods", default=gates.DEFAULT_METHODS, show_default=True)
@pass_env
def gates_add(env: Env, name: str, methods: str) -> None:
    with env.context().transaction() as session:
        gate = gates.add_gate(session, name, methods, actor=CLI_ACTOR)
        accepted = gate.methods
    click.echo(f"gate {name} accepts {accepted}")


@gates_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def gates_list(env: Env, as_json: bool) -> None:
    """Every gate of the site: methods, and from its heartbeat the host, release, state, when it was last
    seen and how far its clock is from the database's."""
    from gate.store.heartbeats import site_gates

    with env.context().sessions() as session:
        rows = site_gates(session)
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows]))
        return
    click.echo(f"{'NAME':<16} {'METHODS':<24} {'STATE':<9} {'VERSION':<9} {'LAST SEEN':<10} {'CLOCK':<9} HOST")
    for row in rows:
        seen = "-" if row.seen_seconds_ago is None else f"{row.seen_seconds_ago:.0f} s ago"
        offset = "-" if row.clock_offset_seconds is None else f"{row.clock_offset_seconds:+.1f} s"
        click.echo(f"{row.name:<16} {row.methods:<24} {row.state:<9} {row.version or '-':<9} {seen:<10} "
                   f"{offset:<9} {row.host or '-'}  liveness={row.liveness} "
                   f"assessment={'yes' if row.assessed else 'no'}")


@gates_group.command("remove")
@click.argument("name")
@click.option("--forget-events", is_flag=True,
              help="Remove a gate that has access events; they keep their rows without a gate.")
@pass_env
def gates_remove(env: Env, name: str, forget_events: bool) -> None:
    """Remove a gate no process runs (e.g. the unused 'main' of a site whose gates have their own names)."""
    with env.context().transaction() as session:
        events = gates.remove_gate(session, name, actor=CLI_ACTOR, forget_events=forget_events)
    click.echo(f"removed gate {name}" + (f"; {events} access events keep their rows without a gate" if events else ""))


@gates_group.command("rename")
@click.argument("old")
@click.argument("new")
@pass_env
def gates_rename(env: Env, old: str, new: str) -> None:
    """Rename a stopped gate; then set [gate] name to NEW in the gate.toml of the computer that runs it."""
    with env.context().transaction() as session:
        gates.rename_gate(session, old, new, actor=CLI_ACTOR)
    click.echo(f"gate {old} is now {new}: set [gate] name = \"{new}\" in the gate.toml of the computer that runs it")


@gates_group.command("set")
@click.argument("name")
@click.option("--methods", default=None, help="e.g. card,pin,face")
@click.option("--liveness", type=click.Choice(["none", "blink", "head_turn"]), default=None)
@click.option("--threshold", type=float, default=None, help="Face distance threshold (lower is stricter).")
@click.option("--pulse-ms", type=int, default=None)
@pass_env
def gates_set(env: Env, name: str, methods: str | None, liveness: str | None, threshold: float | None,
              pulse_ms: int | None) -> None:
    ctx = env.context()
    with ctx.transaction() as session:
        gate = gates.set_gate(session, gates.get_gate(session, name), actor=CLI_ACTOR, methods=methods,
                              liveness=liveness, threshold=threshold, pulse_ms=pulse_ms)
        accepted = gate.methods
        warning = gates.filing_warning(session, ctx.settings)
    click.echo(f"gate {name} accepts {accepted}")
    if warning:
        click.echo(f"warning: {warning}", err=True)


@gates_group.command("assess")
@click.argument("name")
@click.option("--date", "assessed_on", required=True, help="Date of the assessment, YYYY-MM-DD.")
@click.option("--approver", required=True)
@click.option("--document", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The assessment document; its SHA-256 is recorded.")
@pass_env
def gates_assess(env: Env, name: str, assessed_on: str, approver: str, document: Path) -> None:
    """Record the impact assessment (PIPL art. 55-56) that must precede face at a gate."""
    try:
        day = date.fromisoformat(assessed_on)
    except ValueError as err:
        raise PolicyError(f"--date must be YYYY-MM-DD, got {assessed_on!r}.") from err
    content = assessments.read_document(document)
    ctx = env.context()
    with ctx.transaction() as session:
        assessment = assessments.record_assessment(session, gates.get_gate(session, name), assessed_on=day,
                                                   approver=approver, document=content, actor=CLI_ACTOR,
                                                   site_timezone=ctx.settings.site.timezone, now=ctx.clock())
        digest = assessment.document_sha256
    click.echo(f"impact assessment recorded for gate {name} (document sha256 {digest})")


# -- retention and audit ------------------------------------------------------------------------------


COMMANDS = [gates_group]
