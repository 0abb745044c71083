"""`gate serve` (the gate service and the operator web UI in one process) and `gate status`."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from gate.cli import Env, pass_env

REPO = Path(__file__).resolve().parents[2]
SHARED_FACES = REPO.parent / "shared" / "faces"


def publishers_from(ctx: Any) -> tuple[Any, ...]:
    """The integrations; refuses (ConfigError) resident ids for a recipient the published notice does not name."""
    from gate.errors import ConfigError
    from gate.integrations import publishers
    from gate.store.notices import current_notice

    if not ctx.schema_unchecked:
        with ctx.transaction() as session:
            notice = current_notice(session)
            notice_text = notice.text if notice is not None else None
        return publishers(ctx.settings, notice_text)
    # Started during a database outage: the published notice cannot be read, so an integration that
    # sends resident ids (which the notice must name) is not started; the others are.
    try:
        return publishers(ctx.settings, None)
    except ConfigError as err:
        logging.getLogger("gate.service").warning("integrations not started while the database is away: %s", err)
        return ()


@click.command()
@click.option("--host", default=None, help="Listen address (default from [web] host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from [web] port, 8080).")
@click.option("--simulate", is_flag=True, help="Simulated reader, relay board and camera, plus demo data and /sim.")
@click.option("--simulate-devices", is_flag=True,
              help="Simulated reader, relay board and camera and /sim, without demo data (also on a shared database).")
@pass_env
def serve(env: Env, host: str | None, port: int | None, simulate: bool, simulate_devices: bool) -> None:
    """Run the gate service, the kiosk screen (/kiosk), /health and the operator UI."""
    from gate.service.builder import build_runtime
    from gate.service.demo import require_own_database, seed_demo
    from gate.service.logs import configure_logging
    from gate.service.simrig import SimRig
    from gate.service.systemd import Notifier
    from webui.metrics import token_from
    from webui.server import build_web_server

    ctx = env.context(offline_ok=True)  # a database outage at start: card and PIN from the disk copy
    settings = ctx.settings
    configure_logging(settings.log, settings.data_dir)
    notifier = Notifier()  # sends nothing unless systemd started us with Type=notify
    notifier.status("starting: opening the devices")
    host = host or settings.web_host
    port = port if port is not None else settings.web_port
    rig = None
    if simulate:
        require_own_database(settings)  # never demo data in a site's shared database
    if simulate and not ctx.schema_unchecked:
        for line in seed_demo(ctx):
            click.echo(line)
    # Simulated hardware alone writes nothing into the database, so a site's gates may try it together.
    simulate = simulate or simulate_devices
    token_from(settings)  # a bad [metrics] token file refuses to start: before anything runs
    integrations = publishers_from(ctx)  # may refuse to start: before anything runs
    if simulate:
        rig = SimRig().start()
    runtime = build_runtime(ctx, rig=rig, publishers=tuple(p.publish for p in integrations))
    if SHARED_FACES.is_dir():
        runtime.extras["faces_dir"] = str(SHARED_FACES)
    notifier.attach(runtime)  # the door loop pings systemd's watchdog, so a hung loop is restarted
    # The door loop runs on its own thread from here on; the web server only posts events to it.
    runtime.start()
    from gate.service.homeassistant import attach_all

    attach_all(integrations, runtime)  # Home Assistant reads the running gate and may ask it to open once
    try:
        server = build_web_server(ctx, runtime, host=host, port=port, simulate=simulate)
    except BaseException:
        runtime.stop()
        if rig is not None:
            rig.stop()
        for integration in integrations:
            integration.close()
        raise
    stop = threading.Event()

    def shutdown(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    where = f"http://{server.host}:{server.port}"
    click.echo(f"gate service for gate '{runtime.gate_name}' on {where}  (kiosk {where}/kiosk, health {where}/health"
               + (f", simulator {where}/sim" if simulate else "") + ")")
    notifier.ready(f"gate '{runtime.gate_name}' serving on {where}")
    try:
        server.run()
    finally:
        notifier.stopping()
        runtime.stop()
        if rig is not None:
            rig.stop()
        for integration in integrations:
            integration.close()
        click.echo("gate service stopped")


@click.command()
@click.option("--url", default=None, help="Base URL of a running `gate serve` (default from [web]).")
@click.option("--json", "as_json", is_flag=True)
@pass_env
def status(env: Env, url: str | None, as_json: bool) -> None:
    """Ask a running gate service for its devices, face model and last events (GET /api/status).

    Sent from this machine it needs no sign-in; from elsewhere it sends the bearer token of [metrics]
    token_file when one is set (docs/operations.md).

    Exits 1 when the gate is not OK (reader or relay board unreachable) or degraded (an alarm takes
    away or weakens a way in it offers: camera, face model, key file, database), for monitoring."""
    from gate.config import load_settings
    from webui.metrics import token_from

    settings = load_settings(env.data_dir)
    if url is None:
        url = f"http://{settings.web_host}:{settings.web_port}"
    token = token_from(settings)
    request = urllib.request.Request(url.rstrip("/") + "/api/status",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as err:
        if err.code == 401:
            raise click.ClickException(f"The gate service at {url} wants the bearer token of [metrics] token_file: "
                                       "run `gate status` on the gate itself or set the token file.") from err
        raise click.ClickException(f"The gate service at {url} answered {err.code}: look at its log.") from err
    except (urllib.error.URLError, OSError) as err:
        raise click.ClickException(f"No gate service answers at {url} ({err}): start it with `gate serve`.") from err
    degraded = list(data.get("degraded") or [])
    healthy = bool(data.get("ok")) and not degraded
    if as_json:
        click.echo(json.dumps(data, indent=1))
        sys.exit(0 if healthy else 1)
    verdict = "OK" if healthy else ("DEGRADED" if data.get("ok") else "NOT OK")
    click.echo(f"gate {data['gate']}: {verdict}  phase {data['phase']}")
    if degraded:
        click.echo(f"  affected {', '.join(degraded)}")
    door = data["door"]
    click.echo(f"  door     {door.get('state')}  link {'ok' if door.get('link_ok') else 'DOWN'}"
               f"  fire alarm {'YES' if door.get('fire_alarm') else 'no'}")
    reader = data["reader"]
    click.echo(f"  reader   {'online' if reader.get('online') else 'OFFLINE'}  "
               f"secure channel {reader.get('secure_channel')}")
    click.echo(f"  camera   {data['camera'].get('state')}  face model {data['face_model'].get('state')}")
    db = data["database"]
    click.echo(f"  database {'ok' if db['ok'] else 'UNREACHABLE (card/PIN from local cache)'}")
    click.echo(f"  alarms   {', '.join(data['alarms']) or 'none'}")
    for event in data["last_events"][:10]:
        what = (f"{event['method']} {'granted' if event['granted'] else 'refused'} {event['reason']}"
                if event["kind"] == "access" else event.get("event", ""))
        click.echo(f"  {event['at'][:19]}  {what}")
    sys.exit(0 if healthy else 1)  # for monitoring: non-zero when the gate cannot open or a way in is hit


def _schedule_commands() -> Sequence[click.Command]:
    from gate.cli import schedule

    return schedule.COMMANDS


COMMANDS = [serve, status, *_schedule_commands()]
