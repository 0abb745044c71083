"""Residents and their non-face credentials: `gate resident`, `gate card`, `gate pin`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from gate.cli import CLI_ACTOR, Env, pass_env
from gate.store import exports, import_files, imports, residents, validity


def _read_secret(prompt: str) -> str:
    """From stdin: secrets are never taken on the command line, where `ps` and shell history would see them."""
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True)
    return sys.stdin.readline().rstrip("\r\n")


@click.group("resident")
def resident_group() -> None:
    """Residents."""


@resident_group.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--unit", default="")
@click.option("--birth-date", default=None, help="YYYY-MM-DD; under 14, face consent must come from a guardian.")
@click.option("--guardian", default=None, help="Guardian's name (for a minor).")
@click.option("--valid-from", default=None, help="YYYY-MM-DD, site time: the first day the resident may pass.")
@click.option("--valid-until", default=None, help="YYYY-MM-DD, site time, inclusive: e.g. the lease's last day.")
@pass_env
def resident_add(env: Env, code: str, name: str, unit: str, birth_date: str | None, guardian: str | None,
                 valid_from: str | None, valid_until: str | None) -> None:
    context = env.context()
    with context.transaction() as session:
        resident = residents.add_resident(session, code=code, name=name, unit=unit,
                                          birth_date=residents.parse_birth_date(birth_date), guardian_name=guardian,
                                          actor=CLI_ACTOR, code_characters=context.settings.site.resident_codes)
        validity.set_resident_validity(session, resident, validity.parse_date(valid_from, "start of validity"),
                                       validity.parse_date(valid_until, "end of validity"), actor=CLI_ACTOR)
    click.echo(f"added resident {code}")


@resident_group.command("edit")
@click.argument("code")
@click.option("--valid-from", default=None, help="YYYY-MM-DD, site time; \"\" removes the start.")
@click.option("--valid-until", default=None, help="YYYY-MM-DD, site time, inclusive; \"\" removes the end.")
@pass_env
def resident_edit(env: Env, code: str, valid_from: str | None, valid_until: str | None) -> None:
    """Change a resident's validity (a tenant's lease); an option left out keeps its value."""
    with env.context().transaction() as session:
        resident = residents.get_resident(session, code)
        start = resident.valid_from if valid_from is None else validity.parse_date(valid_from, "start of validity")
        end = resident.valid_until if valid_until is None else validity.parse_date(valid_until, "end of validity")
        changed = validity.set_resident_validity(session, resident, start, end, actor=CLI_ACTOR)
    shown = f"{start.isoformat() if start else '…'} – {end.isoformat() if end else '…'}"
    click.echo(f"resident {code} valid {shown}" if changed else f"resident {code}: nothing changed")


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


@resident_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say line by line what would change; change nothing.")
@pass_env
def resident_import(env: Env, file: Path, dry_run: bool) -> None:
    """Add or update residents, cards and groups from a CSV or XLSX file (docs/import.md).

    Every line is reported on stdout: add, change, unchanged or refused with the reason. Progress goes to
    stderr. PIN letters are printed from the web UI's import, so lines asking for a new PIN are refused here."""
    table = import_files.open_table(file.read_bytes(), file.name)
    ctx = env.context()
    click.echo(f"{file.name}: {table.kind}, {table.total if table.total is not None else '?'} line(s)"
               f"{' (dry run: nothing is changed)' if dry_run else ''}")
    shown = [0.0]

    def progress(result: imports.ImportResult) -> None:
        if time.monotonic() - shown[0] >= 1.0:  # a line a second, not one per transaction
            shown[0] = time.monotonic()
            click.echo(f"{result.done}/{table.total or '?'} lines", err=True)

    def line(result: imports.LineResult) -> None:
        click.echo(f"line {result.line}\t{result.code}\t{result.verdict.value}"
                   + (f"\t{result.text}" if result.detail else ""))

    result = imports.run_import(ctx.sessions, table, ctx.hasher, actor=CLI_ACTOR,
                                options=imports.Options(dry_run=dry_run, pins_allowed=False),
                                on_line=line, on_progress=progress, now=ctx.clock())
    counts = result.counts
    click.echo(f"{'would add' if dry_run else 'added'} {counts[imports.Verdict.ADD]}, "
               f"{'would change' if dry_run else 'changed'} {counts[imports.Verdict.CHANGE]}, "
               f"unchanged {counts[imports.Verdict.SAME]}, refused {counts[imports.Verdict.REFUSE]}")
    if result.failure:
        click.echo(result.failure, err=True)
        sys.exit(1)


@resident_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--headers", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Column headers in English or Chinese.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: stdout for csv).")
@pass_env
def resident_export(env: Env, fmt: str, headers: str, output: Path | None) -> None:
    """Residents, their cards and groups in the import's columns (no PINs), UTF-8 with BOM or XLSX."""
    if fmt == "xlsx" and output is None:
        raise click.UsageError("An XLSX export needs a file: add -o residents.xlsx.")
    ctx = env.context()
    with ctx.transaction() as session:
        total = exports.count(session)
        exports.record_export(session, CLI_ACTOR, fmt, total)
    with ctx.sessions() as session:
        if fmt == "xlsx":
            assert output is not None
            with output.open("wb") as book:
                exports.write_xlsx(session, book, headers)
        elif output is not None:
            with output.open("wb") as text:
                text.writelines(exports.csv_chunks(session, headers))
        else:
            sys.stdout.flush()
            for chunk in exports.csv_chunks(session, headers):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    if output:
        click.echo(f"exported {total} resident(s) to {output}", err=True)


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


@pin_group.command("clear")
@click.argument("code")
@pass_env
def pin_clear(env: Env, code: str) -> None:
    """Remove a resident's PIN (refused while it is their last way in without face)."""
    with env.context().transaction() as session:
        residents.clear_pin(session, residents.get_resident(session, code), actor=CLI_ACTOR)
    click.echo(f"PIN cleared for {code}")


# -- consent ------------------------------------------------------------------------------------------


COMMANDS = [resident_group, card_group, pin_group]
