"""The wheel, built from the checkout and installed into a fresh virtual environment, is a working gate.

The new environment borrows the shared virtualenv's third-party packages through a .pth line (a
directory named in a .pth file is only put on sys.path; the .pth files inside it, among them the
editable install of this checkout, are not run), so only the installed wheel can provide `gate`,
`webui` and `drivers`; the test proves it by asking the new interpreter where they come from.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
#: In the checkout, not needed by an installed gate.
NOT_SHIPPED = ("webui/screenshots/",)


def _tracked_files() -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=REPO, check=True, capture_output=True, text=True).stdout
    return [name for name in listing.split("\0") if name and (REPO / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy, so the build leaves no build/ or egg-info in the checkout.
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    for name in _tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--disable-pip-version-check", "-q", "-w", str(tmp / "dist"), str(source)],
                   check=True, capture_output=True, text=True)
    (built,) = (tmp / "dist").glob("gate_controller-*.whl")
    return built


def test_wheel_holds_every_file_of_the_packages(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    wanted = {name for name in _tracked_files()
              if name.split("/")[0] in ("gate", "drivers", "webui") and not name.startswith(NOT_SHIPPED)}
    assert wanted - shipped == set()
    # The ones an installed gate cannot start without, named so a failure says what is at stake.
    assert {"gate/store/migrations/env.py", "gate/store/migrations/script.py.mako", "gate/notice_default.json",
            "webui/templates/base.html", "webui/static/style.css", "webui/kiosk/templates/kiosk.html",
            "webui/kiosk/static/kiosk.js"} <= shipped
    assert any(re.fullmatch(r"gate/store/migrations/versions/\w+\.py", name) for name in shipped)


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "-q", str(wheel)], check=True, capture_output=True, text=True)
    # Only after the install: pip must not see (nor try to replace) the shared venv's editable install.
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    shared = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "shared-venv-deps.pth").write_text("".join(f"{path}\n" for path in sorted(shared)))
    return where


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GATE_DATA_DIR", "GATE_DATABASE_URL",
                                                            "GATE_KEY_FILE")} | {"PYTHONUNBUFFERED": "1"}


def test_installed_wheel_runs_the_gate(venv: Path, tmp_path: Path) -> None:
    env, gate, data = _clean_env(), str(venv / "bin" / "gate"), str(tmp_path / "data")

    def run(*args: str) -> str:
        done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    origins = json.loads(run(str(venv / "bin" / "python"), "-c",
                             "import json, gate, webui, drivers; "
                             "print(json.dumps([m.__file__ for m in (gate, webui, drivers)]))"))
    assert all(Path(origin).is_relative_to(venv) for origin in origins), origins

    run(gate, "--data-dir", data, "init")
    run(gate, "--data-dir", data, "db", "upgrade")
    proc = subprocess.Popen([gate, "--data-dir", data, "serve", "--simulate", "--port", "0"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout
    assert out is not None
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in out:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        url = None
        while url is None:
            seen.append(lines.get(timeout=60))
            if (match := re.search(r"on (http://127\.0\.0\.1:\d+)", seen[-1])):
                url = match.group(1)
        with urllib.request.urlopen(url + "/api/status", timeout=10) as response:
            assert json.loads(response.read())["gate"] == "main"
        with urllib.request.urlopen(url + "/kiosk", timeout=10) as response:
            page = response.read().decode()
        assert "Present your card" in page
        stylesheet = re.search(r'href="(/kiosk/kiosk-static/kiosk\.css[^"]*)"', page)
        assert stylesheet is not None, page
        with urllib.request.urlopen(url + stylesheet.group(1), timeout=10) as response:
            assert response.status == 200 and response.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        reader.join(10)
        out.close()
    while not lines.empty():
        seen.append(lines.get())
    assert proc.returncode == 0, "".join(seen)
    assert "gate service stopped" in "".join(seen)
