"""`gate serve --simulate` as a real process on a fresh data folder, then `gate status` against it; the
web server's bounds (fixed thread pool, idle connections closed) seen from outside the process."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gate.cli import cli
from gate.config import WebSection, load_settings
from gate.errors import ConfigError
from gate.install import initialise
from webui import MAX_UPLOAD_BYTES
from webui.server import WebServer

GATE = Path(sys.executable).with_name("gate")


def test_serve_simulate_on_a_fresh_folder_and_status(tmp_path: Path) -> None:
    data = tmp_path / "data"
    initialise(data)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(GATE), "--data-dir", str(data), "serve", "--simulate", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    out = proc.stdout
    assert out is not None

    def pump() -> None:
        for line in out:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        url = None
        seen = []
        while url is None:
            line = lines.get(timeout=60)
            seen.append(line)
            if (match := re.search(r"on (http://127\.0\.0\.1:\d+)", line)):
                url = match.group(1)
        assert any("demo resident 1001" in line for line in seen)

        def health() -> dict[str, Any]:
            with urllib.request.urlopen(url + "/api/status", timeout=10) as response:
                data: dict[str, Any] = json.loads(response.read())
                return data

        while not health()["reader"].get("online"):
            lines.get(timeout=1) if not lines.empty() else threading.Event().wait(0.1)
        request = urllib.request.Request(url + "/sim/card", data=json.dumps({"number": "188:24910"}).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(request, timeout=10).read()
        while True:  # the JSON log line of the decision
            line = lines.get(timeout=30)
            if line.startswith("{") and '"event": "access"' in line:
                assert json.loads(line)["granted"] is True
                assert "24910" not in line
                break
        while not any(e.get("method") == "card" for e in health()["last_events"]):
            threading.Event().wait(0.1)
        result = CliRunner().invoke(cli, ["--data-dir", str(data), "status", "--url", url])
        # exit 0 when OK, 1 when a device is unreachable (a loaded machine can drop the simulated link)
        assert result.exit_code == (0 if "OK  phase" in result.output.splitlines()[0].replace("NOT OK", "") else 1)
        assert "card granted" in result.output and "reader   online" in result.output
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        reader.join(10)
        out.close()
    assert proc.returncode == 0


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no Threads line in /proc status")


@contextmanager
def _served(tmp_path: Path, web_keys: str) -> Iterator[tuple[subprocess.Popen[str], str, int]]:
    """`gate serve --simulate` on a fresh folder with `web_keys` added to [web]; stopped by SIGTERM."""
    data = tmp_path / "data"
    initialise(data)
    config = data / "gate.toml"
    config.write_text(config.read_text().replace("port = 8080\n", "port = 8080\n" + web_keys))
    proc = subprocess.Popen([str(GATE), "--data-dir", str(data), "serve", "--simulate", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    out = proc.stdout
    assert out is not None

    def drain_output() -> None:
        for _ in out:
            pass

    drain = threading.Thread(target=drain_output, daemon=True)
    try:
        address = None
        for line in out:
            if (address := re.search(r"on http://(127\.0\.0\.1):(\d+)", line)):
                break
        assert address is not None, "gate serve printed no address"
        drain.start()
        yield proc, f"http://{address.group(1)}:{address.group(2)}", int(address.group(2))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        if drain.is_alive():
            drain.join(10)
        out.close()
    assert proc.returncode == 0


def test_half_open_connections_hold_no_threads_and_are_closed_when_idle(tmp_path: Path) -> None:
    held: list[socket.socket] = []
    with _served(tmp_path, "threads = 2\nchannel_timeout = 2\ncleanup_interval = 1\n") as (proc, url, port):
        try:
            with urllib.request.urlopen(url + "/health", timeout=10) as response:
                assert response.status == 200
            before = _threads(proc.pid)
            for _ in range(100):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x")  # never finished
                held.append(sock)
            started = time.monotonic()
            with urllib.request.urlopen(url + "/api/status", timeout=10) as response:
                assert json.loads(response.read())["gate"] == "main"
            # Werkzeug's threaded server started one thread per connection here.
            assert _threads(proc.pid) <= before + 2
            # channel_timeout = 2 (cleanup every second): the server hangs up on every unfinished request.
            for sock in held:
                sock.settimeout(max(1.0, 15 - (time.monotonic() - started)))
                assert sock.recv(1) == b""
        finally:
            for sock in held:
                sock.close()


def _kiosk_cancel(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url + "/kiosk/action", data=json.dumps({"action": "cancel"}).encode(),
                                     headers={"Content-Type": "application/json", **headers}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_forwarded_headers_reach_the_app_behind_a_proxy(tmp_path: Path) -> None:
    # [web] proxy_hops is the app's own ProxyFix; the web server must pass X-Forwarded-* on to it
    # (waitress strips them by default), or a LAN client behind the proxy would count as the kiosk.
    with _served(tmp_path, "proxy_hops = 1\n") as (_, url, _port):
        assert _kiosk_cancel(url, {}) == 202
        assert _kiosk_cancel(url, {"X-Forwarded-For": "192.0.2.7", "X-Forwarded-Proto": "https"}) == 403


def test_web_server_settings_defaults_and_bad_values(tmp_path: Path) -> None:
    data = tmp_path / "data"
    initialise(data)
    web = load_settings(data).web
    assert (web.threads, web.connection_limit, web.channel_timeout, web.cleanup_interval) == (8, 500, 30, 10)
    config = data / "gate.toml"
    config.write_text(config.read_text().replace("port = 8080\n", "port = 8080\nthreads = 0\n"))
    with pytest.raises(ConfigError, match=r"\[web\] threads must be a whole number between 1 and 256, got 0"):
        load_settings(data)
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "serve", "--port", "0"])
    assert result.exit_code == 1 and "[web] threads must be" in result.output


def _probe(environ: dict[str, Any], start_response: Callable[..., object]) -> list[bytes]:
    """Says how the server handed over the request body: in memory or as a file on disk."""
    stream = environ["wsgi.input"]
    size = len(stream.read())
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{'memory' if isinstance(stream, io.BytesIO) else 'file'} {size}".encode()]


def test_request_bodies_stay_in_memory_and_oversized_ones_are_refused() -> None:
    server = WebServer(_probe, "127.0.0.1", 0, WebSection())
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    try:
        photo = os.urandom(3 * 1024 * 1024)  # a large phone photo; waitress would spool over 512 KB
        request = urllib.request.Request(f"http://127.0.0.1:{server.port}/", data=photo, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.read() == f"memory {len(photo)}".encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_UPLOAD_BYTES + 1}\r\n\r\n".encode())
            assert sock.recv(64).startswith(b"HTTP/1.1 413")
    finally:
        server.stop()
        serving.join(10)
    assert not serving.is_alive()
