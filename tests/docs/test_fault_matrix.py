"""docs/faults.md names a test for every fault; each name must be a test that exists, so the table
cannot quietly point at a test that was renamed or removed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FAULTS = REPO / "docs" / "faults.md"


def _named_tests() -> list[tuple[str, str | None]]:
    """(file, test or None) for every `tests/...py[::name]` and every following `::name` in a cell."""
    named: list[tuple[str, str | None]] = []
    for line in FAULTS.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        current: str | None = None
        for ref in re.findall(r"`([^`]+)`", line):
            match = re.fullmatch(r"(tests/[\w/]+\.py)(?:::(\w+))?(?:\[.*\])?", ref)
            if match:
                current = match.group(1)
                named.append((current, match.group(2)))
                continue
            follow = re.fullmatch(r"::(\w+)(?:\[.*\])?", ref)
            if follow and current:
                named.append((current, follow.group(1)))
    return named


def test_every_test_the_fault_matrix_names_exists() -> None:
    named = _named_tests()
    assert len(named) > 40
    missing = []
    for file, test in named:
        path = REPO / file
        if not path.is_file():
            missing.append(file)
            continue
        if test is not None:
            functions = {n.name for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                         if isinstance(n, ast.FunctionDef)}
            if test not in functions:
                missing.append(f"{file}::{test}")
    assert not missing, f"docs/faults.md names tests that do not exist: {missing}"
