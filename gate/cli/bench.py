"""`gate bench`: speed figures reported as numbers (no timed assertions in tests)."""

from __future__ import annotations

import json
from pathlib import Path

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
    from gate.bench.access import access_decisions

    result = access_decisions(rounds)
    if as_json:
        click.echo(json.dumps(result))
    else:
        for name, figures in result.items():
            click.echo(f"{name:<14} median {figures['median_ms']:.2f} ms  p99 {figures['p99_ms']:.2f} ms  "
                       f"(n={figures['n']})")


@bench.command("import")
@click.option("--rows", default=100_000, show_default=True, help="Residents in the generated file.")
@click.option("--database-url", default=None, help="Run on this database (e.g. PostgreSQL) instead of SQLite.")
@click.option("--json", "as_json", is_flag=True)
def bench_import(rows: int, database_url: str | None, as_json: bool) -> None:
    """A generated residents file imported, with card decisions taken on the decision path meanwhile."""
    from gate.bench.imports import import_with_decisions

    result = import_with_decisions(rows, database_url)
    if as_json:
        click.echo(json.dumps(result))
        return
    idle, during = result["card_idle"], result["card_during_import"]
    assert isinstance(idle, dict) and isinstance(during, dict)
    click.echo(f"import         {result['rows']} rows in {result['seconds']} s ({result['rows_per_second']} rows/s), "
               f"added {result['added']}{'; ' + str(result['failure']) if result['failure'] else ''}")
    click.echo(f"card, idle     median {idle['median_ms']:.1f} ms  p99 {idle['p99_ms']:.1f} ms  (n={idle['n']})")
    click.echo(f"card, import   median {during['median_ms']:.1f} ms  p99 {during['p99_ms']:.1f} ms  "
               f"max {during['max_ms']:.1f} ms  not granted {during['not_granted']}  (n={during['n']})")


__all__ = ["Env", "bench", "pass_env"]


@bench.command("gate")
@click.option("--rounds", default=50, show_default=True, help="Card rounds (PIN: half as many).")
@click.option("--face-rounds", default=10, show_default=True, help="Face rounds (0 to skip).")
@click.option("--json", "as_json", is_flag=True)
def bench_gate(rounds: int, face_rounds: int, as_json: bool) -> None:
    """Card-, PIN- and face-to-relay latency through the simulated OSDP reader and Modbus board."""
    from pathlib import Path

    from gate.bench.gate import gate_latency

    faces = Path(__file__).resolve().parents[2].parent / "shared" / "faces"
    result = gate_latency(rounds, face_rounds, faces if faces.is_dir() else None)
    if as_json:
        click.echo(json.dumps(result))
        return
    for name, f in result.items():
        extra = f"  refused {f['refused']} ({', '.join(f['refusal_reasons'])})" if f.get("refused") else ""
        click.echo(f"{name:<14} median {f['median_ms']:.1f} ms  p95 {f['p95_ms']:.1f} ms  "
                   f"p99 {f['p99_ms']:.1f} ms  (n={f['n']}){extra}")
    if "face_to_relay" not in result:
        click.echo("face_to_relay  skipped: ../shared/faces not found")


@bench.command("halfopen")
@click.option("--rounds", default=60, show_default=True, type=click.IntRange(3, 10_000),
              help="Card rounds with the connections held, and as many without.")
@click.option("--connections", default=300, show_default=True, type=click.IntRange(1, 5_000))
@click.option("--json", "as_json", is_flag=True)
def bench_halfopen(rounds: int, connections: int, as_json: bool) -> None:
    """Card-to-relay latency while the web server (as `gate serve` runs it) holds half-open connections,
    against the same figure without them in the same run; and /health latency meanwhile."""
    from gate.bench.halfopen import halfopen_latency

    result = halfopen_latency(rounds, connections)
    if as_json:
        click.echo(json.dumps(result))
        return
    n = result["connections"]
    for name, label in (("card_to_relay", "card to relay"), ("card_to_relay_half_open", f"  + {n} half-open"),
                        ("health", "GET /health"), ("health_half_open", f"  + {n} half-open")):
        f = result[name]
        click.echo(f"{label:<20} median {f['median_ms']:.1f} ms  p95 {f['p95_ms']:.1f} ms  "
                   f"p99 {f['p99_ms']:.1f} ms  (n={f['n']})")
    click.echo(f"card to relay with/without: median {result['ratio_median']:.2f}x, p99 {result['ratio_p99']:.2f}x "
               f"(goal: within 1.2x); {result['held']}/{n} connections still held at the end of every block")


@bench.command("login")
@click.option("--rounds", default=40, show_default=True, type=click.IntRange(1, 10_000),
              help="Sign-ins of each kind (argon2id at production cost: about 3 per second each).")
@click.option("--json", "as_json", is_flag=True)
def bench_login(rounds: int, as_json: bool) -> None:
    """Refused sign-in time for an unknown username and a locked account against a known username with a
    wrong password, in the same run: the sign-in page must not tell which usernames exist."""
    from gate.bench.login import login_timing

    result = login_timing(rounds)
    if as_json:
        click.echo(json.dumps(result))
        return
    for name, label in (("known_wrong_password", "known, wrong password"), ("unknown_username", "unknown username"),
                        ("locked_account", "locked account")):
        f = result[name]
        click.echo(f"{label:<22} median {f['median_ms']:.1f} ms  p95 {f['p95_ms']:.1f} ms  p99 {f['p99_ms']:.1f} ms  "
                   f"(n={f['n']})")
    click.echo(f"unknown/known median {result['ratio_unknown']:.2f}x, locked/known {result['ratio_locked']:.2f}x "
               "(goal: 1.00x within noise)")


@bench.command("upload")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1, 100), help="Uploads per case.")
@click.option("--faces", "faces", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Face photos folder for the 640x480 reference (default ../shared/faces beside the checkout).")
@click.option("--json", "as_json", is_flag=True)
def bench_upload(rounds: int, faces: Path | None, as_json: bool) -> None:
    """Peak memory (RSS high-water mark over idle, each case in a child process) of one photo posted to
    the enrollment page's check route: a 36 MP PNG, a 12 MP PNG and JPEG, and a 640x480 JPEG."""
    from gate.bench.upload import upload_memory

    faces = faces or Path(__file__).resolve().parents[2].parent / "shared" / "faces"
    result = upload_memory(rounds, faces if faces.is_dir() else None)
    if as_json:
        click.echo(json.dumps(result))
        return
    for f in result.values():
        if not isinstance(f, dict):
            continue
        statuses = ", ".join(f"HTTP {s}" if s else "decoder only" for s in sorted(set(f["statuses"])))
        click.echo(f"{f['label']:<40} {f['file_mb']:>6.2f} MB file  +{f['over_idle_mb']:>6.1f} MB over idle "
                   f"({f['idle_mb']:.0f} MB)  {f['vs_640x480']:>7.2f}x the 640x480 JPEG  "
                   f"median {f['request']['median_ms']:.0f} ms  {statuses}")
    click.echo(f"goal: at most +{result['goal_mb']:.0f} MB over idle for any one upload the route takes in")


@bench.command("offline")
@click.option("--rounds", default=30, show_default=True, type=click.IntRange(3, 10_000),
              help="Card rounds with the database file free, and as many with it locked.")
@click.option("--json", "as_json", is_flag=True)
def bench_offline(rounds: int, as_json: bool) -> None:
    """Card-to-relay latency while another process holds an exclusive lock on the SQLite file (decided
    from the offline copy), against the same figure without the lock in the same run."""
    from gate.bench.offline import offline_latency

    result = offline_latency(rounds)
    if as_json:
        click.echo(json.dumps(result))
        return
    for name, label in (("card_to_relay", "card to relay"), ("card_to_relay_locked", "  file locked")):
        f = result[name]
        click.echo(f"{label:<16} median {f['median_ms']:.1f} ms  p95 {f['p95_ms']:.1f} ms  "
                   f"p99 {f['p99_ms']:.1f} ms  (n={f['n']})")
    click.echo(f"first card after the lock: {result['first_card_locked_ms']:.1f} ms (opens the circuit)")
    click.echo(f"locked/free: median {result['ratio_median']:.2f}x; goal: median <= {result['goal_median_ms']:.0f} ms "
               f"with the file locked; {result['journaled']} events journaled, replayed: {result['replayed']}")


@bench.command("all")
@click.option("--quick", is_flag=True, help="A few rounds each: a smoke run, not figures to quote.")
@click.option("--faces", "faces", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Face photos folder (default ../shared/faces beside the checkout); "
                   "face rows are skipped without it.")
@click.option("--json", "as_json", is_flag=True)
def bench_all(quick: bool, faces: Path | None, as_json: bool) -> None:
    """Every benchmark (access, relay, gate, face, halfopen, upload, offline), summed up in one table."""
    from gate.bench.table import format_table, run_all

    faces = faces or Path(__file__).resolve().parents[2].parent / "shared" / "faces"
    rows = run_all(quick, faces if faces.is_dir() else None,
                   progress=lambda name: click.echo(f"running {name} ...", err=True))
    if as_json:
        click.echo(json.dumps([row.as_dict() for row in rows]))
    else:
        click.echo(format_table(rows))


@bench.command("scale")
@click.option("--residents", default=100_000, show_default=True, type=click.IntRange(10, 10_000_000),
              help="Residents in the large installation (each with a card).")
@click.option("--events", default=10_000_000, show_default=True, type=click.IntRange(100, 1_000_000_000),
              help="Access events in the large installation.")
@click.option("--rounds", default=20, show_default=True, type=click.IntRange(1, 10_000), help="Requests per page.")
@click.option("--quick", is_flag=True, help="1,000 residents, 20,000 events, 3 rounds and argon2id at the test "
              "suite's cost: a smoke run, not figures.")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def bench_scale(env: Env, residents: int, events: int, rounds: int, quick: bool, as_json: bool) -> None:
    """Card and PIN decisions, the residents page and search, the events pages, the event CSV export and the
    dashboard at a compound's size, beside a 10-resident install in the same run. The large installation
    is built once into <data>/bench-cache/ and reused."""
    from gate.bench.scale import GOAL_MS, GOAL_RATIO, meets_goal, scale_latency
    from gate.bench.table import Row, format_table

    if quick:
        residents, events, rounds = 1_000, 20_000, 3
    result = scale_latency(env.data_dir / "bench-cache", residents, events, rounds,
                           progress=lambda text: click.echo(text, err=True), cheap=quick)
    if as_json:
        click.echo(json.dumps(result))
        return
    rows: list[Row] = []
    big, small = f"{residents:,} residents", f"{result['small_residents']} residents"
    for name, f in result["figures"].items():
        verdict = meets_goal(name, f)
        note = f"{f['ratio']:.2f}x the small install" + (
            "" if verdict is None else "; meets the goal" if verdict else "; MISSES the goal")
        note += f"; {f['note']}" if f["note"] else ""
        for label, figures, text in ((big, f["big"], note), (small, f["small"], "")):
            rows.append(Row(f"{name}, {label}", int(figures["n"]), figures["median_ms"], figures["p95_ms"],
                            figures["p99_ms"], text))
    click.echo(format_table(rows))
    built = result["build_seconds"]
    origin = "from the cache" if built is None else f"built in {built:.0f} s"
    click.echo(f"{events:,} events; large install {origin} ({result['cache']}); goal: pages <= {GOAL_MS:.0f} ms "
               f"median and <= {GOAL_RATIO}x the small install, decisions <= {GOAL_RATIO}x")
