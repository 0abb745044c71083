"""`gate bench`: speed figures reported as numbers (no timed assertions in tests)."""

from __future__ import annotations

import json

import click

from gate.cli import Env, pass_env


@click.group()
def bench() -> None:
    """Benchmarks. Each prints medians and tails; --json for machines."""


@bench.command("access")
@click.option("--rounds", default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_access(rounds: int, as_json: bool) -> None:
    """Card and PIN decisions end to end through the access service (SQLite in a temporary folder)."""
    from gate.benchmarks import access_decisions

    result = access_decisions(rounds)
    if as_json:
        click.echo(json.dumps(result))
    else:
        for name, figures in result.items():
            click.echo(f"{name:<14} median {figures['median_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms  (n={figures['n']})")


__all__ = ["Env", "bench", "pass_env"]
