"""`gate serve` (the gate service and the operator web UI in one process) and `gate status`."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click

from gate.cli import Env, pass_env
from gate.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHARED_FACES = REPO.parent / "shared" / "faces"


def make_app(ctx: Any, runtime: Any, *, simulate: bool) -> Any:
    from webui import create_app, health, kiosk, sim

    blueprints = [health.bp, kiosk.bp] + ([sim.bp] if simulate else [])
    app = create_app(ctx, extra_blueprints=blueprints, gate_runtime=runtime)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        # JSON-only, same-origin posts with no session: see webui.kiosk.same_origin_json.
        for blueprint in blueprints:
            csrf.exempt(blueprint)
    return app


def publishers_from(settings: Any) -> tuple[Any, ...]:
    from gate.integrations import publishers

    return publishers(settings)


@dataclass(frozen=True)
class WebServerSettings:
    """How the web UI's server bounds what clients can hold: a fixed pool of request threads, at most
    `connection_limit` open connections, and an idle connection (a request never finished) closed after
    `channel_timeout` seconds. Half-open connections wait in the server's event loop, not in a thread."""

    threads: int = 8
    connection_limit: int = 500
    channel_timeout: int = 30
    cleanup_interval: int = 10


def web_server_settings(settings: Any) -> WebServerSettings:
    """The [web] keys for the server, read here (with their defaults) and nowhere else."""
    section = settings.section("web")
    values: dict[str, int] = {}
    for name, default in ((f.name, f.default) for f in fields(WebServerSettings)):
        value = section.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"[web] {name} must be a whole number of at least 1, got {value!r}: "
                              f"fix it in {settings.config_file}.")
        values[name] = value
    return WebServerSettings(**values)


class WebServer:
    """Waitress serving one WSGI app. `run()` blocks its thread until `stop()` is called, from any
    thread (not from a signal handler: stop takes a lock the interrupted loop may hold)."""

    def __init__(self, app: Callable[..., Any], host: str, port: int, options: WebServerSettings) -> None:
        from waitress.server import create_server

        from webui import MAX_UPLOAD_BYTES

        # Our own socket map, so the loop below can be run and stopped without waitress internals.
        self._map: dict[int, Any] = {}
        self._stopping = threading.Event()
        self._server = create_server(
            app, map=self._map, host=host, port=port, threads=options.threads,
            connection_limit=options.connection_limit, channel_timeout=options.channel_timeout,
            cleanup_interval=options.cleanup_interval,
            # poll(), not select(): select() cannot watch file descriptors above 1023.
            asyncore_use_poll=True, ident="gate",
            # X-Forwarded-* are the app's to trust or not ([web] proxy_hops, werkzeug's ProxyFix);
            # waitress would drop them before the app saw them.
            clear_untrusted_proxy_headers=False,
            # Request bodies (face photos among them) stay in memory, never in a temporary file, as
            # webui.security.InMemoryRequest promises: waitress would spool anything over 512 KB. A
            # body over the web UI's own limit is refused before it is read.
            inbuf_overflow=MAX_UPLOAD_BYTES + 1, max_request_body_size=MAX_UPLOAD_BYTES + 1,
            # Responses (a person's data export) likewise: the high watermark (16 MB) pauses the app
            # long before this.
            outbuf_overflow=MAX_UPLOAD_BYTES)
        # One listen address gives one server; a name resolving to several (localhost) gives a group.
        listen = getattr(self._server, "effective_listen", None)
        first = listen[0] if listen else (self._server.effective_host, self._server.effective_port)
        self.host: str = str(first[0])
        self.port: int = int(first[1])

    def run(self) -> None:
        from waitress import wasyncore

        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=1.0, map=self._map, use_poll=True, count=1)
        finally:
            self._server.task_dispatcher.shutdown()
            wasyncore.close_all(self._map)

    def connections(self) -> int:
        """Client connections open right now, finished requests or not."""
        from waitress.channel import HTTPChannel

        return sum(isinstance(dispatcher, HTTPChannel) for dispatcher in list(self._map.values()))

    def stop(self) -> None:
        self._stopping.set()
        self._server.pull_trigger()  # wakes the loop out of poll() at once


def build_web_server(ctx: Any, runtime: Any, *, host: str, port: int, simulate: bool,
                     options: WebServerSettings | None = None) -> WebServer:
    """The web UI, kiosk and /health as `gate serve` serves them (also used by `gate bench halfopen`)."""
    options = options or web_server_settings(ctx.settings)
    return WebServer(make_app(ctx, runtime, simulate=simulate), host, port, options)


@click.command()
@click.option("--host", default=None, help="Listen address (default from [web] host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default from [web] port, 8080).")
@click.option("--simulate", is_flag=True, help="Simulated reader, relay board and camera, plus demo data and /sim.")
@pass_env
def serve(env: Env, host: str | None, port: int | None, simulate: bool) -> None:
    """Run the gate service, the kiosk screen (/kiosk), /health and the operator UI."""
    from gate.service.builder import build_runtime
    from gate.service.demo import seed_demo
    from gate.service.simrig import SimRig

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    ctx = env.context()
    settings = ctx.settings
    host = host or settings.web_host
    port = port if port is not None else settings.web_port
    options = web_server_settings(settings)  # a bad [web] key stops us before any device is opened
    rig = None
    if simulate:
        for line in seed_demo(ctx):
            click.echo(line)
        rig = SimRig().start()
    integrations = publishers_from(settings)
    runtime = build_runtime(ctx, rig=rig, publishers=tuple(p.publish for p in integrations))
    if SHARED_FACES.is_dir():
        runtime.extras["faces_dir"] = str(SHARED_FACES)
    # The door loop runs on its own thread from here on; the web server only posts events to it.
    runtime.start()
    try:
        server = build_web_server(ctx, runtime, host=host, port=port, simulate=simulate, options=options)
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
    try:
        server.run()
    finally:
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
    """Ask a running gate service for its devices, face model and last events (GET /health).

    Exits 1 when the gate is not OK (reader or relay board unreachable), for monitoring."""
    from gate.config import load_settings

    if url is None:
        settings = load_settings(env.data_dir)
        url = f"http://{settings.web_host}:{settings.web_port}"
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=5) as response:
            data = json.loads(response.read())
    except (urllib.error.URLError, OSError) as err:
        raise click.ClickException(f"No gate service answers at {url} ({err}): start it with `gate serve`.") from err
    if as_json:
        click.echo(json.dumps(data, indent=1))
        sys.exit(0 if data.get("ok") else 1)
    click.echo(f"gate {data['gate']}: {'OK' if data.get('ok') else 'NOT OK'}  phase {data['phase']}")
    door = data["door"]
    click.echo(f"  door     {door.get('state')}  link {'ok' if door.get('link_ok') else 'DOWN'}"
               f"  fire alarm {'YES' if door.get('fire_alarm') else 'no'}")
    reader = data["reader"]
    click.echo(f"  reader   {'online' if reader.get('online') else 'OFFLINE'}  secure channel {reader.get('secure_channel')}")
    click.echo(f"  camera   {data['camera'].get('state')}  face model {data['face_model'].get('state')}")
    db = data["database"]
    click.echo(f"  database {'ok' if db['ok'] else 'UNREACHABLE (card/PIN from local cache)'}")
    click.echo(f"  alarms   {', '.join(data['alarms']) or 'none'}")
    for event in data["last_events"][:10]:
        what = (f"{event['method']} {'granted' if event['granted'] else 'refused'} {event['reason']}"
                if event["kind"] == "access" else event.get("event", ""))
        click.echo(f"  {event['at'][:19]}  {what}")
    sys.exit(0 if data.get("ok") else 1)  # for monitoring: non-zero when the gate cannot open


def _schedule_commands() -> Sequence[click.Command]:
    from gate.cli import schedule

    return schedule.COMMANDS


COMMANDS = [serve, status, *_schedule_commands()]
