"""A loopback TCP proxy that can pass, refuse, stall and restore a gate's link to its database.

`LinkProxy(("127.0.0.1", 5432))` listens on an ephemeral loopback port; point a database URL at
`proxy.port`. Modes:

* `pass_()` (the start): bytes flow both ways;
* `refuse()`: new connections are closed at once (a server that is down); `cut()` also closes the
  open ones (a server that restarted);
* `stall()`: connections are accepted and bytes are read from both sides but held, not forwarded,
  also on connections already open -- what a dropped link looks like to a client on the far side of
  a router: the server never sees the query and the client never sees an answer. The kernel still
  acknowledges what it receives, so this models a server (or link) that hangs, and no client-side
  TCP timer fires: only the gate's own deadline can notice;
* `restore()`: back to passing; the bytes held during the stall are delivered then, in order, as a
  link that comes back delivers its retransmissions (so a late answer does reach the client).

Each direction of each connection has its own pump thread (select with a short tick), so a stalled
side never blocks another connection. Made for tests; it is the harness the multi-gate tests share.
"""

from __future__ import annotations

import select
import socket
import threading
from typing import Literal

Mode = Literal["pass", "refuse", "stall"]
TICK = 0.02


class _Pump:
    """One direction of one connection: read from `src`, hold while stalled, write to `dst`."""

    def __init__(self, proxy: LinkProxy, src: socket.socket, dst: socket.socket, pair: _Pair) -> None:
        self.proxy, self.src, self.dst, self.pair = proxy, src, dst, pair
        self.held = bytearray()
        self.eof = False
        self.thread = threading.Thread(target=self.run, name="link-proxy-pump", daemon=True)

    def run(self) -> None:
        try:
            while not self.pair.closed:
                if not self.eof:
                    readable, _, _ = select.select([self.src], [], [], TICK)
                    if readable:
                        data = self.src.recv(65536)
                        if not data:
                            self.eof = True
                        else:
                            self.held += data
                else:
                    self.pair.closed_event.wait(TICK)
                if self.held and self.proxy.mode != "stall":
                    self.dst.sendall(bytes(self.held))
                    self.held.clear()
                if self.eof and not self.held:
                    break
        except OSError:
            pass
        self.pair.close()


class _Pair:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.closed = False
        self.closed_event = threading.Event()
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self.closed_event.set()
        for sock in (self.client, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class LinkProxy:
    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.upstream = upstream
        self.mode: Mode = "pass"
        self._listener = socket.create_server((host, 0))
        self._listener.settimeout(TICK * 5)
        self.host, self.port = self._listener.getsockname()[:2]
        self._pairs: list[_Pair] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="link-proxy", daemon=True)
        self.accepted = 0

    def start(self) -> LinkProxy:
        self._thread.start()
        return self

    def url_for(self, database_url: str) -> str:
        """The same database URL, through this proxy (host and port replaced)."""
        from sqlalchemy.engine import make_url

        return make_url(database_url).set(host=self.host, port=self.port).render_as_string(hide_password=False)

    # -- modes ----------------------------------------------------------------------------------
    def pass_(self) -> None:
        self.mode = "pass"

    restore = pass_

    def refuse(self) -> None:
        self.mode = "refuse"

    def stall(self) -> None:
        self.mode = "stall"

    def cut(self) -> None:
        """Close every open connection (both sides), as a restarted server or a reset link does."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            pair.close()

    @property
    def open_connections(self) -> int:
        with self._lock:
            self._pairs = [p for p in self._pairs if not p.closed]
            return len(self._pairs)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(2)
        self._listener.close()
        self.cut()

    def __enter__(self) -> LinkProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the accept loop ------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            if self.mode == "refuse":
                client.close()
                continue
            try:
                # The server side is opened at once, also while stalled: the stall is in the bytes.
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            client.settimeout(None)
            pair = _Pair(client, server)
            with self._lock:
                self._pairs.append(pair)
            for src, dst in ((client, server), (server, client)):
                _Pump(self, src, dst, pair).thread.start()
