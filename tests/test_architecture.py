"""The import rules of docs/architecture.md, checked: each layer imports only the layers below it.

The table here and the one in docs/architecture.md say the same thing; a test below reads the document
so the two cannot drift apart.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: layer -> the project packages it may import (besides itself). Third-party libraries are free, except
#: where FORBIDDEN_LIBRARIES says otherwise.
BASE = ("gate.errors", "gate.clock", "gate.i18n")
ALLOWED: dict[str, tuple[str, ...]] = {
    "gate": (),  # the package itself: a docstring, nothing else
    "gate.errors": (),
    "gate.clock": (),
    "gate.i18n": ("gate.errors", "gate.clock"),
    # The marker imports nothing: the core names its messages, the layer showing them translates.
    "gate.core": ("gate.errors", "gate.i18n.marker"),
    "gate.secrets": BASE,
    "gate.config": (*BASE, "gate.core", "drivers.config", "drivers.errors"),
    "gate.site_config": (*BASE, "gate.config", "gate.store", "drivers.config", "drivers.errors"),
    "gate.store": (*BASE, "gate.core", "gate.secrets", "gate.config"),
    # The face pipeline decodes uploads with the camera drivers' strict image decoder.
    "gate.face": (*BASE, "gate.core", "gate.secrets", "gate.store", "gate.config", "drivers.camera.images",
                  "drivers.errors"),
    "gate.access": (*BASE, "gate.core", "gate.secrets", "gate.store", "gate.config"),
    "gate.integrations": (*BASE, "gate.config"),
    "gate.context": (*BASE, "gate.core", "gate.secrets", "gate.store", "gate.access", "gate.config"),
    "gate.install": (*BASE, "gate.core", "gate.secrets", "gate.store", "gate.config"),
    "gate.service": (*BASE, "gate.core", "gate.secrets", "gate.store", "gate.access", "gate.face",
                     "gate.config", "gate.context", "gate.integrations", "drivers"),
    "gate.bench": (*BASE, "gate.core", "gate.secrets", "gate.store", "gate.access", "gate.face",
                   "gate.config", "gate.context", "gate.install", "gate.service", "drivers", "webui"),
    "gate.cli": ("gate", "drivers", "webui"),
    "webui": (*BASE, "gate.core", "gate.secrets", "gate.store", "gate.access", "gate.face", "gate.config",
              "gate.site_config", "gate.context", "gate.service"),
    # Drivers are a library of their own: the one piece of the application they share is the pure
    # card-number codec, so a reader can hand over canonical numbers.
    "drivers": ("gate.core.cardnumber",),
}

#: Modules the pure core must never load, even indirectly: I/O, storage, crypto, devices, web.
HEAVY = ("sqlalchemy", "argon2", "cryptography", "cv2", "dlib", "numpy", "serial", "flask", "pymodbus",
         "osdp", "threading", "socket", "sqlite3", "psycopg")


def _layer(module: str) -> str:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or (layer != "gate" and module.startswith(layer + ".")):
            return layer
    raise AssertionError(f"{module} belongs to no layer of docs/architecture.md: add it there and here")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for top in ("gate", "drivers", "webui"):
        for path in sorted((REPO / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's scripts run inside Alembic, with the models only
            rel = path.relative_to(REPO).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            found.append((".".join(parts), path))
    return found


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] in ("gate", "drivers", "webui")}


def _allowed(layer: str, target: str) -> bool:
    if target == layer or target.startswith(layer + "."):
        return True
    if target == "gate":
        return True  # `from gate import x`: gate.x is checked on its own
    # `from drivers.camera import images` names the package too: an ancestor of an allowed module is fine.
    return any(target == ok or target.startswith(ok + ".") or ok.startswith(target + ".") for ok in ALLOWED[layer])


@pytest.mark.parametrize(("module", "path"), _modules(), ids=[m for m, _ in _modules()])
def test_each_module_imports_only_the_layers_below_it(module: str, path: Path) -> None:
    layer = _layer(module)
    wrong = sorted(t for t in _imports(path) if not _allowed(layer, t))
    assert not wrong, f"{module} ({layer}) imports {wrong}; see docs/architecture.md for what it may import"


def test_importing_the_core_loads_no_io_storage_crypto_device_or_web_library() -> None:
    code = ("import sys, pkgutil, importlib, gate.core\n"
            "for m in pkgutil.walk_packages(gate.core.__path__, 'gate.core.'): importlib.import_module(m.name)\n"
            "print(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                cwd=REPO).stdout.split())
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, f"gate.core must stay pure, but importing it loaded {heavy}"
    assert "gate.core.decision" in loaded and "gate.core.machine" in loaded


def test_the_core_never_reads_the_clock() -> None:
    for path in (REPO / "gate" / "core").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\.(now|utcnow|today)\(|time\.(time|monotonic)\(", text), (
            f"{path.name} reads the clock: pass `now` in instead")


def test_the_architecture_document_names_every_layer() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [layer for layer in ALLOWED if f"`{layer}`" not in doc]
    assert not missing, f"docs/architecture.md does not describe {missing}"
