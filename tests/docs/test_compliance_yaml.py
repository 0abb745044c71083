"""compliance.yaml maps every behaviour of shared/compliance.md to its status and the tests that prove it.
The map must stay whole and honest: every id listed, every status known, every named test real, nothing
"done" without a test and nothing short of done without a reason."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPLIANCE_YAML = REPO / "compliance.yaml"
COMPLIANCE_MD = REPO.parent / "shared" / "compliance.md"
STATUSES = {"done", "partial", "not_applicable"}
# The ids of compliance.md's tables, kept here so the check works without shared/ beside the repository.
DOCUMENT_IDS = (
    "C1 C2 C3 C4 C5 C6 A1 A2 A3 M1 M2 M3 M4 M5 M6 R1 R2 R3 R4 R5 P1 P2 P3 P4 N1 U1 U2 U3 U4 S1 S2 S4".split()
)
NODE_RE = re.compile(r"(tests/[\w/]+\.py)::(?:(\w+)::)?(\w+)")


def _entries() -> list[dict[str, Any]]:
    data = yaml.safe_load(COMPLIANCE_YAML.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("behaviours"), list), \
        "compliance.yaml must be a mapping with a list under 'behaviours'"
    for number, entry in enumerate(data["behaviours"]):
        assert isinstance(entry, dict) and isinstance(entry.get("id"), str), \
            f"entry {number} of compliance.yaml has no id"
    return data["behaviours"]


def _ids_in_compliance_md() -> list[str]:
    """The first cell of every table row whose first cell is an id (C1, M6, S4 ...)."""
    found = []
    for line in COMPLIANCE_MD.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\|\s*([A-Z]\d+)\s*\|", line)
        if match:
            found.append(match.group(1))
    return found


@cache
def _defined(file: str) -> frozenset[str]:
    """`name` for every module-level function and `Class::name` for every method of a class in `file`."""
    tree = ast.parse((REPO / file).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(f"{node.name}::{item.name}" for item in node.body
                         if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef))
    return frozenset(names)


def _problem_with_node(node: object) -> str | None:
    if not isinstance(node, str):
        return f"{node!r} is not a test node id"
    match = NODE_RE.fullmatch(node)
    if match is None:
        return f"{node!r} is not a node id of the form tests/path/test_file.py::[Class::]test_name"
    file, cls, name = match.groups()
    if not (REPO / file).is_file():
        return f"{file} does not exist"
    wanted = f"{cls}::{name}" if cls else name
    if wanted not in _defined(file):
        return f"{file} defines no {wanted}"
    return None


def test_every_id_of_compliance_md_is_listed_once() -> None:
    ids = [entry["id"] for entry in _entries()]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"compliance.yaml lists these ids more than once: {duplicates}"
    expected = list(DOCUMENT_IDS)
    if COMPLIANCE_MD.is_file():
        from_document = _ids_in_compliance_md()
        assert len(from_document) >= len(DOCUMENT_IDS), "compliance.md's tables could not be read"
        expected += [i for i in from_document if i not in expected]
    missing = [i for i in expected if i not in ids]
    assert not missing, f"compliance.yaml does not list these ids of compliance.md: {missing}"


def test_every_entry_has_a_rule_a_behaviour_an_allowed_status_and_a_list_of_tests() -> None:
    for entry in _entries():
        for key in ("rule", "behaviour"):
            value = entry.get(key)
            assert isinstance(value, str) and value.strip(), f"{entry['id']}: no {key}"
        assert entry.get("status") in STATUSES, \
            f"{entry['id']}: status {entry.get('status')!r} is not one of {sorted(STATUSES)}"
        assert isinstance(entry.get("tests"), list), f"{entry['id']}: 'tests' must be a list (empty if none)"
        unknown = set(entry) - {"id", "rule", "behaviour", "status", "reason", "tests"}
        assert not unknown, f"{entry['id']}: unknown keys {sorted(unknown)}"


def test_nothing_is_done_without_a_test_and_nothing_less_without_a_reason() -> None:
    for entry in _entries():
        if entry.get("status") == "done":
            assert entry.get("tests"), f"{entry['id']} is done but names no test"
        else:
            reason = entry.get("reason")
            assert isinstance(reason, str) and reason.strip(), \
                f"{entry['id']} is {entry.get('status')} without a reason"


def test_every_test_named_exists() -> None:
    for entry in _entries():
        for node in entry.get("tests") or []:
            problem = _problem_with_node(node)
            assert problem is None, f"{entry['id']}: {problem}"
