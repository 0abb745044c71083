"""Commands for the data the gate decides on: init, db, keys, residents, cards, PINs, consent, gates,
retention and audit. Every change goes through gate's services, so it is audited the same way as in
the web UI."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click

from gate.store import audit as audit_log
from gate.store import consent as consent_service
from gate.store import db, gates, residents, retention, rotation
from gate import install
from gate.cli import Env, pass_env
from gate.errors import PolicyError
from gate.secrets.keys import KeyFile
from gate.config import load_settings

CLI_ACTOR = "cli"


def _read_secret(prompt: str) -> str:
    """From stdin: secrets are never taken on the command line, where `ps` and shell history would see them."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True)
    return sys.stdin.readline().rstrip("\r\n")


# -- init / db / keys ---------------------------------------------------------------------------------
@click.command()
@pass_env
def init(env: Env) -> None:
    """Create config, master key and a migrated SQLite database in the data folder."""
    done = install.initialise(env.data_dir)
    for line in done or ["nothing to do: the data folder is already initialised"]:
        click.echo(line)


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@pass_env
def db_upgrade(env: Env) -> None:
    """Apply all migrations."""
    settings = load_settings(env.data_dir)
    engine = db.make_engine(settings.database_url)
    try:
        before = db.current_revision(engine)
        db.upgrade(engine)
        after = db.current_revision(engine)
    finally:
        engine.dispose()
    click.echo(f"database at {after}" + ("" if before != after else " (already up to date)"))


@click.group("keys")
def keys_group() -> None:
    """The master key that wraps every template's data key."""


@keys_group.command("init")
@pass_env
def keys_init(env: Env) -> None:
    """Create the master key file (refuses to overwrite one)."""
    settings = load_settings(env.data_dir)
    KeyFile(settings.key_file).create()
    click.echo(f"created master key {settings.key_file}")


@keys_group.command("rotate")
@pass_env
def keys_rotate(env: Env) -> None:
    """Re-wrap every data key under a new master key. Safe to interrupt and run again."""
    ctx = env.context()

    def progress(done: int, total: int) -> None:
        click.echo(f"re-wrapped {done}/{total} data keys", err=True)

    report = rotation.rotate(ctx.sessions, ctx.key_file, actor=CLI_ACTOR, progress=progress)
    click.echo(f"master key is now {report.new_key_id}; re-wrapped {report.rewrapped} data keys"
               + (" (finished an interrupted rotation)" if report.resumed else ""))


# -- residents, cards, PINs ---------------------------------------------------------------------------
@click.group("resident")
def resident_group() -> None:
    """Residents."""


@resident_group.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--unit", default="")
@click.option("--minor", is_flag=True, help="Under 14: face consent must come from a guardian.")
@click.option("--guardian", default=None, help="Guardian's name (for a minor).")
@pass_env
def resident_add(env: Env, code: str, name: str, unit: str, minor: bool, guardian: str | None) -> None:
    with env.context().transaction() as session:
        residents.add_resident(session, code=code, name=name, unit=unit, is_minor=minor,
                               guardian_name=guardian, actor=CLI_ACTOR)
    click.echo(f"added resident {code}")


@resident_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def resident_list(env: Env, as_json: bool) -> None:
    with env.context().sessions() as session:
        rows = [
            {"code": r.code, "name": r.name, "unit": r.unit, "status": r.status.value,
             "cards": len(r.cards), "pin": r.pin is not None, "face": r.face_pseudonym is not None}
            for r in residents.list_residents(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['code']:<12} {row['name']:<24} {row['unit']:<8} {row['status']:<9} "
                   f"cards={row['cards']} pin={'yes' if row['pin'] else 'no'} face={'yes' if row['face'] else 'no'}")


@resident_group.command("remove")
@click.argument("code")
@pass_env
def resident_remove(env: Env, code: str) -> None:
    """Delete everything held about a resident (the audit log keeps only the internal id and counts)."""
    ctx = env.context()
    with ctx.transaction() as session:
        counts = residents.remove_resident(session, residents.get_resident(session, code), ctx.store, actor=CLI_ACTOR)
    click.echo(f"removed resident {code}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


@resident_group.command("move-out")
@click.argument("code")
@pass_env
def resident_move_out(env: Env, code: str) -> None:
    """Mark moved out: face data is deleted at once, cards and PINs stop working."""
    ctx = env.context()
    with ctx.transaction() as session:
        destroyed = residents.move_out(session, residents.get_resident(session, code), ctx.store, actor=CLI_ACTOR)
    click.echo(f"resident {code} moved out; face templates destroyed: {destroyed}")


@click.group("card")
def card_group() -> None:
    """Cards."""


@card_group.command("add")
@click.argument("code")
@click.argument("number")
@click.option("--label", default="")
@pass_env
def card_add(env: Env, code: str, number: str, label: str) -> None:
    with env.context().transaction() as session:
        card = residents.add_card(session, residents.get_resident(session, code), number, actor=CLI_ACTOR, label=label)
        uid = card.uid
    click.echo(f"card {uid} added to {code}")


@card_group.command("remove")
@click.argument("number")
@pass_env
def card_remove(env: Env, number: str) -> None:
    with env.context().transaction() as session:
        residents.remove_card(session, number, actor=CLI_ACTOR)
    click.echo("card removed")


@click.group("pin")
def pin_group() -> None:
    """PINs (read from stdin, stored only as argon2id hashes)."""


@pin_group.command("set")
@click.argument("code")
@pass_env
def pin_set(env: Env, code: str) -> None:
    """Set a resident's PIN, read from stdin."""
    pin = _read_secret("PIN")
    ctx = env.context()
    with ctx.transaction() as session:
        residents.set_pin(session, residents.get_resident(session, code), pin, ctx.hasher, actor=CLI_ACTOR)
    click.echo(f"PIN set for {code}")


# -- consent ------------------------------------------------------------------------------------------
@click.group("consent")
def consent_group() -> None:
    """Separate consent to face processing."""


@consent_group.command("grant")
@click.argument("code")
@click.option("--operator", required=True, help="Who recorded the consent.")
@click.option("--guardian", default=None, help="For a resident under 14: the guardian who consented.")
@click.option("--retention-days", type=int, default=None, help="Defaults to the site's retention period.")
@pass_env
def consent_grant(env: Env, code: str, operator: str, guardian: str | None, retention_days: int | None) -> None:
    ctx = env.context()
    with ctx.transaction() as session:
        resident = residents.get_resident(session, code)
        consent = consent_service.grant_consent(
            session, resident, operator=operator, guardian_name=guardian,
            retention_days=retention_days or ctx.settings.template_retention_days,
            forbid_minors=ctx.settings.forbid_face_for_minors)
        version = consent.notice.version
    click.echo(f"face consent recorded for {code} against notice version {version}")


@consent_group.command("withdraw")
@click.argument("code")
@click.option("--operator", required=True)
@pass_env
def consent_withdraw(env: Env, code: str, operator: str) -> None:
    """Withdraw consent: the face template is destroyed at once."""
    ctx = env.context()
    with ctx.transaction() as session:
        destroyed = consent_service.withdraw_consent(session, residents.get_resident(session, code), ctx.store,
                                                     operator=operator)
    click.echo(f"consent withdrawn for {code}; face templates destroyed: {destroyed}")


# -- gates --------------------------------------------------------------------------------------------
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
    with env.context().transaction() as session:
        assessment = gates.record_assessment(session, gates.get_gate(session, name), assessed_on=day,
                                             approver=approver, document=document, actor=CLI_ACTOR)
        digest = assessment.document_sha256
    click.echo(f"impact assessment recorded for gate {name} (document sha256 {digest})")


# -- retention and audit ------------------------------------------------------------------------------
@click.command()
@click.option("--dry-run", is_flag=True, help="List what would be deleted, delete nothing.")
@pass_env
def purge(env: Env, dry_run: bool) -> None:
    """Delete face data past retention, of moved-out residents, and orphans. Never touches cards or PINs."""
    ctx = env.context()
    if dry_run:
        with ctx.sessions() as session:
            due = retention.due_for_deletion(session, ctx.settings.template_retention_days, ctx.clock())
            for resident, template, reason in due:
                click.echo(f"{resident.code}: {reason} (last used {template.last_used_at:%Y-%m-%d})")
        click.echo(f"{len(due)} face templates due for deletion (dry run: nothing deleted)")
        return
    with ctx.transaction() as session:
        report = retention.purge(session, site_days=ctx.settings.template_retention_days, actor=CLI_ACTOR,
                                 now=ctx.clock())
    click.echo(f"purged {report.total} face templates: expired={report.expired} moved_out={report.moved_out} "
               f"no_consent={report.no_consent} orphaned={report.orphaned}")


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


COMMANDS = [init, db_group, keys_group, resident_group, card_group, pin_group, consent_group, gates_group,
            purge, retention_schedule, audit_group]
