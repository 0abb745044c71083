"""Residents and their non-face credentials: `gate resident`, `gate card`, `gate pin`."""

from __future__ import annotations

import json
import sys

import click

from gate.cli import CLI_ACTOR, Env, pass_env
from gate.store import residents


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
@pass_env
def resident_add(env: Env, code: str, name: str, unit: str, birth_date: str | None, guardian: str | None) -> None:
    context = env.context()
    with context.transaction() as session:
        residents.add_resident(session, code=code, name=name, unit=unit,
                               birth_date=residents.parse_birth_date(birth_date), guardian_name=guardian,
                               actor=CLI_ACTOR, code_characters=context.settings.site.resident_codes)
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
