"""`gate site show` and `gate site set KEY VALUE`: the site-wide settings, kept in the database."""

from __future__ import annotations

import json

import click

from gate.cli import CLI_ACTOR, Env, pass_env
from gate.config import sitewide
from gate.store import site_settings


@click.group("site")
def site() -> None:
    """Site-wide settings: one value for every gate (retention, PIN lock-outs, minors, time zone, ...)."""


@site.command("show")
@pass_env
def show(env: Env) -> None:
    """Print every site-wide setting and its value (the same at every gate)."""
    ctx = env.context()
    values = sitewide.values_of(ctx.settings)
    for name in sitewide.SITE_WIDE_KEYS:
        note = "   (applies when each gate restarts)" if name in sitewide.RESTART_KEYS else ""
        click.echo(f"{name} = {json.dumps(values[name], ensure_ascii=False)}{note}")


@site.command("set")
@click.argument("key")
@click.argument("value")
@pass_env
def set_(env: Env, key: str, value: str) -> None:
    """Set KEY (e.g. retention.template_days) to VALUE for every gate; checked as gate.toml checks it,
    written to the audit log with the old and the new value."""
    ctx = env.context()
    parsed = site_settings.parse_text(key, value)
    with ctx.transaction() as session:
        old, new = site_settings.change(session, key, parsed, actor=CLI_ACTOR, now=ctx.clock())
    if old == new:
        click.echo(f"{key} is already {json.dumps(new, ensure_ascii=False)}; nothing changed.")
        return
    when = ("at each gate's next restart" if key in sitewide.RESTART_KEYS
            else "at every running gate within seconds")
    click.echo(f"{key}: {json.dumps(old, ensure_ascii=False)} -> {json.dumps(new, ensure_ascii=False)} "
               f"(applies {when}).")


COMMANDS = (site,)
