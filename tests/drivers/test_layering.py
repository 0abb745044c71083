"""The drivers stand alone: they never import the gate (except the pure card-number codec), and
importing them stays cheap (no OpenCV until a capture opens)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DRIVERS = REPO / "drivers"
#: The one gate module a driver may use: card numbers are what readers and their simulators speak.
ALLOWED = {"gate.core.cardnumber"}


def gate_imports(source: str, path: str = "<string>") -> list[tuple[int, str]]:
    """(line, module) of every import of ``gate`` or below in the source, however it is spelled."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "gate":
                found += [(node.lineno, f"gate.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return [(line, name) for line, name in found if name == "gate" or name.startswith("gate.")]


def test_the_checker_sees_every_spelling():
    source = ("import gate.errors\nfrom gate.face.errors import X\nfrom gate import config\n"
              "from gate.core.cardnumber import normalize_card\nimport importlib\n"
              "importlib.import_module('gate.face.images')\nimport gateway\nfrom .gate import y\n")
    assert gate_imports(source) == [(1, "gate.errors"), (2, "gate.face.errors"), (3, "gate.config"),
                                    (4, "gate.core.cardnumber"), (6, "gate.face.images")]


def test_drivers_import_nothing_of_the_gate_but_the_card_number_codec():
    files = sorted(DRIVERS.rglob("*.py"))
    assert len(files) > 20
    offending = [f"{path.relative_to(REPO)}:{line} imports {name}"
                 for path in files
                 for line, name in gate_imports(path.read_text(), str(path))
                 if name not in ALLOWED]
    assert offending == []


def _fresh_import(statement: str) -> list[str]:
    """Modules loaded by ``statement`` in a new interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_importing_the_cameras_does_not_load_opencv():
    loaded = _fresh_import("import drivers.camera")
    assert "cv2" not in loaded
    assert not [m for m in loaded if m == "gate" or m.startswith("gate.")]


@pytest.mark.parametrize("statement", [
    "import drivers",
    "import drivers.config, drivers.door, drivers.relays, drivers.readers, drivers.camera, drivers.errors",
    "import drivers.readers.line, drivers.readers.osdp, drivers.relays.modbus, drivers.sim.rig",
])
def test_importing_the_drivers_loads_nothing_of_the_gate_service(statement):
    loaded = _fresh_import(statement)
    gate = {m for m in loaded if m == "gate" or m.startswith("gate.")}
    # gate.errors only because CardNumberError is a GateError; gate and gate.core are its packages.
    assert gate <= {"gate", "gate.core", "gate.core.cardnumber", "gate.errors"}
    assert "cv2" not in loaded and "sqlalchemy" not in loaded and "flask" not in loaded
