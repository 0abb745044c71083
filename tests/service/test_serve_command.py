"""`gate serve --simulate` as a real process on a fresh data folder, then `gate status` against it."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from gate.cli import cli
from gate.install import initialise

GATE = Path(sys.executable).with_name("gate")


def test_serve_simulate_on_a_fresh_folder_and_status(tmp_path: Path) -> None:
    data = tmp_path / "data"
    initialise(data)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(GATE), "--data-dir", str(data), "serve", "--simulate", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True)  # type: ignore[union-attr]
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

        def health() -> dict:
            with urllib.request.urlopen(url + "/health", timeout=10) as response:
                return json.loads(response.read())

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
        proc.stdout.close()  # type: ignore[union-attr]
    assert proc.returncode == 0
