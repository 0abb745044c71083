"""`gate bench halfopen`: card-to-relay latency while the web server holds half-open connections.

The web UI is served exactly as `gate serve` serves it (`webui.server.build_web_server`, waitress
with the [web] bounds) in the process that runs the door loop. Half-open connections are TCP
connections that sent part of a request line and then nothing: under a thread-per-connection server
each one holds a thread until the client gives up.

The figure with them and the figure without them come from the same run, in alternating blocks (so
a machine getting busier half-way through shows up in both). Every round, in both blocks, is
followed by one GET /health, timed: the web UI must keep answering while the connections are held.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gate.bench.access import summarize
from gate.bench.gate import card_to_relay, simulated_gate
from webui.server import WebServer, build_web_server

#: What a stalled client sends: the start of a request, never its end.
PARTIAL_REQUEST = b"GET /health HTTP/1.1\r\nHost: gate"
WAIT = 30.0


def _until(what: str, done: Callable[[], bool], wait: float = WAIT) -> None:
    deadline = time.monotonic() + wait
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} within {wait:.0f} s")
        time.sleep(0.01)  # bench only: not a request handler


@contextmanager
def half_open(server: WebServer, count: int) -> Iterator[list[socket.socket]]:
    """`count` half-open connections, accepted by the server (not just queued by the kernel)."""
    # The bench is the server's only client: wait out the last /health connection's close.
    _until("the web server did not close finished connections", lambda: server.connections() == 0)
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((server.host, server.port), timeout=10)
            sock.sendall(PARTIAL_REQUEST)
            held.append(sock)
        _until(f"the web server did not accept {count} connections", lambda: server.connections() >= count)
        yield held
    finally:
        for sock in held:
            sock.close()
    _until("the web server did not close the abandoned connections", lambda: server.connections() == 0)


def _still_open(held: list[socket.socket]) -> int:
    """How many of the connections the server has not hung up on (without blocking)."""
    count = 0
    for sock in held:
        sock.setblocking(False)
        try:
            count += sock.recv(1, socket.MSG_PEEK) != b""  # data would be an answer: also still open
        except BlockingIOError:
            count += 1
        except OSError:
            pass
        finally:
            sock.setblocking(True)
    return count


def halfopen_latency(rounds: int = 60, connections: int = 300, blocks: int = 3) -> dict[str, Any]:
    """Card-to-relay and /health latency without and with `connections` half-open connections."""
    if rounds < blocks or blocks < 1 or connections < 1:
        raise ValueError("rounds must be at least blocks, and blocks and connections at least 1")
    with simulated_gate() as bench:
        server = build_web_server(bench.ctx, bench.runtime, host="127.0.0.1", port=0, simulate=True)
        serving = threading.Thread(target=server.run, name="web", daemon=True)
        serving.start()
        url = f"http://{server.host}:{server.port}/health"
        health: list[float] = []

        def timed_health() -> None:
            start = time.perf_counter()
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
            health.append((time.perf_counter() - start) * 1000)

        without: list[float] = []
        with_: list[float] = []
        health_without: list[float] = []
        health_with: list[float] = []
        held_least = connections
        try:
            timed_health()  # the first request builds Flask's lazy state; not a figure
            per_block = [rounds // blocks + (i < rounds % blocks) for i in range(blocks)]
            for n in per_block:
                health.clear()
                without += card_to_relay(bench.rig, n, warmup=1, after_each=timed_health)
                health_without += health[1:]  # the warm-up round's request is not a figure
                with half_open(server, connections) as held:
                    health.clear()
                    with_ += card_to_relay(bench.rig, n, warmup=1, after_each=timed_health)
                    health_with += health[1:]
                    held_least = min(held_least, _still_open(held))
        finally:
            server.stop()
            serving.join(WAIT)
    base, loaded = summarize(without), summarize(with_)
    return {
        "connections": connections,
        "held": held_least,
        "card_to_relay": base,
        "card_to_relay_half_open": loaded,
        "ratio_median": round(loaded["median_ms"] / base["median_ms"], 3),
        "ratio_p99": round(loaded["p99_ms"] / base["p99_ms"], 3),
        "health": summarize(health_without),
        "health_half_open": summarize(health_with),
    }
