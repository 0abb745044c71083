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
    from sqlalchemy import select

    from gate.store.models import Gate

    with env.context().sessions() as session:
        rows = [{"name": g.name, "methods": g.methods, "liveness": g.liveness, "threshold": g.face_threshold,
                 "pulse_ms": g.pulse_ms, "assessed": bool(g.assessments)}
                for g in session.scalars(select(Gate).order_by(Gate.name))]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        click.echo(f"{row['name']:<16} {row['methods']:<32} liveness={row['liveness']} "
                   f"assessment={'yes' if row['assessed'] else 'no'}")


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
