"""The `gate` command. Expected errors print one actionable sentence to stderr and exit non-zero."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from gate.config import resolve_data_dir
from gate.context import GateContext
from gate.errors import GateError


class Env:
    """Lazily opened context: `gate init` must run before a database exists."""

    def __init__(self, data_dir_option: str | None) -> None:
        self._option = data_dir_option
        self._context: GateContext | None = None

    @property
    def data_dir(self) -> Path:
        return resolve_data_dir(self._option)

    def context(self, *, offline_ok: bool = False) -> GateContext:
        """`offline_ok`: `gate serve` starts (on its offline copy) while the database does not answer."""
        if self._context is None:
            self._context = GateContext.open(self.data_dir, offline_ok=offline_ok)
        return self._context

    def close(self) -> None:
        if self._context is not None:
            self._context.close()


pass_env = click.make_pass_decorator(Env)

#: Who the audit log names for changes made from the command line.
CLI_ACTOR = "cli"


class GateGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GateError as err:
            from gate.cli.language import error_sentence

            raise click.ClickException(error_sentence(err)) from err


@click.group(cls=GateGroup)
@click.option("--data-dir", envvar="GATE_DATA_DIR", type=click.Path(file_okay=False),
              help="Data folder (config, SQLite database, key folder). Or set GATE_DATA_DIR.")
@click.pass_context
def cli(ctx: click.Context, data_dir: str | None) -> None:
    """Gate controller: card and PIN always work; face is optional, 1:1 and consented."""
    env = Env(data_dir)
    ctx.obj = env
    ctx.call_on_close(env.close)


def _register() -> None:
    # One module per command group; imported here, not at the top, so `gate --help` stays quick.
    from gate.cli import (
        admin,
        backup,
        bench,
        consent,
        face,
        gates,
        privacy,
        residents,
        serve,
        setup,
        sim,
        site,
        sitewide,
    )

    groups = (setup, residents, consent, gates, privacy, backup, serve, site, sitewide)
    for command in (*(c for g in groups for c in g.COMMANDS), bench.bench, face.eval_group, sim.sim, admin.admin):
        cli.add_command(command)
    bench.bench.add_command(face.bench_face)
    bench.bench.add_command(sim.bench_relay)


_register()


#: Files the gate creates (database, journals, exports, keys) are its user's alone (finding 8).
PROCESS_UMASK = 0o077


def main() -> None:
    os.umask(PROCESS_UMASK)
    try:
        cli.main(prog_name="gate", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
