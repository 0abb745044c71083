"""The production web server: waitress serving the operator UI, the kiosk and /health.

Waitress reads requests in one event loop and hands only complete requests to a fixed pool of threads,
so a client that connects and never finishes its request costs a socket, not a thread; idle connections
are closed after `[web] channel_timeout`. The door loop runs on its own threads and never waits on this
server: handlers only post events to the runtime and read its snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask

from gate.config import WebSection
from webui import MAX_UPLOAD_BYTES, create_app, health, kiosk, metrics, sim, status_api

if TYPE_CHECKING:
    from gate.context import GateContext
    from gate.service.runtime import GateRuntime


def make_app(ctx: GateContext, runtime: GateRuntime, *, simulate: bool) -> Flask:
    blueprints = [health.bp, status_api.bp, kiosk.bp] + ([sim.bp] if simulate else [])
    app = create_app(ctx, extra_blueprints=blueprints, gate_runtime=runtime)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        # JSON-only, same-origin posts with no session: see webui.kiosk.same_origin_json.
        for blueprint in blueprints:
            csrf.exempt(blueprint)
    metrics.install(app, ctx.settings)  # GET only, for scrapers: no CSRF, no sign-in
    return app



class WebServer:
    """Waitress serving one WSGI app. `run()` blocks its thread until `stop()` is called, from any
    thread (not from a signal handler: stop takes a lock the interrupted loop may hold)."""

    def __init__(self, app: Callable[..., Any], host: str, port: int, options: WebSection) -> None:
        from waitress.server import create_server

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


def build_web_server(ctx: GateContext, runtime: GateRuntime, *, host: str, port: int, simulate: bool,
                     options: WebSection | None = None) -> WebServer:
    """The web UI, kiosk and /health as `gate serve` serves them (also used by `gate bench halfopen`)."""
    return WebServer(make_app(ctx, runtime, simulate=simulate), host, port, options or ctx.settings.web)
