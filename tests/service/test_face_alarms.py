"""Face faults are alarms: the key file (missing, too open) and the face model, raised when seen and
cleared when gone; the gate is "degraded" for the ways in they hit, and `gate status` says so.
Card and PIN keep working throughout. (The camera's alarm needs real photos: tests/service/test_face_e2e.py.)"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gate.cli import cli
from gate.context import GateContext
from gate.face.engine import FaceEngine, ModelPaths
from gate.install import initialise
from tests.service.conftest import CARD, CODE, PIN, Gate, record_face_allowed
from tests.service.test_offline_journal import _serve, _until

FACE_WAYS = {"face", "card+face"}



def alarms(gate: Gate) -> set[str]:
    return set(gate.runtime.snapshot().alarms)


def test_key_file_too_open_or_missing_is_an_alarm_that_clears_and_card_and_pin_still_work(
        gate_factory, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=FaceEngine(ModelPaths(tmp_path / "a.dat", tmp_path / "b.dat")),
                        cache_refresh_seconds=0.3)
    record_face_allowed(gate.ctx, tmp_path)
    gate.runtime.reload_policy()
    key = gate.ctx.settings.key_file
    assert gate.wait_for(lambda: "key_file_fault" not in alarms(gate))
    # the model that does not load is an alarm of its own, and face is degraded by it
    assert gate.wait_for(lambda: "face_model_unavailable" in alarms(gate))
    assert gate.wait_for(lambda: FACE_WAYS <= set(gate.runtime.snapshot().degraded))

    key.chmod(0o644)
    assert gate.wait_for(lambda: "key_file_fault" in alarms(gate))
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    key.chmod(0o600)
    assert gate.wait_for(lambda: "key_file_fault" not in alarms(gate))

    moved = tmp_path / "moved.key"
    key.rename(moved)
    assert gate.wait_for(lambda: "key_file_fault" in alarms(gate))
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: gate.releases() >= 2)
    assert "pin" not in gate.runtime.snapshot().degraded
    moved.rename(key)
    assert gate.wait_for(lambda: "key_file_fault" not in alarms(gate))


def test_a_card_only_gate_is_not_degraded_by_face_faults(gate_factory, tmp_path: Path) -> None:
    gate = gate_factory(face_engine=FaceEngine(ModelPaths(tmp_path / "a.dat", tmp_path / "b.dat")))
    assert gate.wait_for(lambda: "face_model_unavailable" in alarms(gate))
    assert gate.runtime.snapshot().degraded == []


def _health(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/api/status", timeout=30) as response:
        data: dict[str, Any] = json.loads(response.read())
        return data


@pytest.mark.slow
def test_gate_status_exits_non_zero_while_degraded_and_zero_once_the_key_file_is_fixed(tmp_path: Path) -> None:
    if not FaceEngine().available:
        pytest.skip("the face model (dlib + face_recognition_models) is not installed")
    data = tmp_path / "data"
    initialise(data)
    config = data / "gate.toml"
    config.write_text(config.read_text().replace("# cache_refresh_seconds = 60", "cache_refresh_seconds = 1"))
    ctx = GateContext.open(data)
    try:
        record_face_allowed(ctx, tmp_path)
        key = ctx.settings.key_file
    finally:
        ctx.close()
    key.chmod(0o644)
    with _serve(data) as (_proc, url):
        _until("the gate came up with its key file alarm", lambda: _health(url)["ok"] is True
               and "key_file_fault" in _health(url)["alarms"])
        result = CliRunner().invoke(cli, ["--data-dir", str(data), "status", "--url", url])
        assert result.exit_code == 1, result.output
        assert "DEGRADED" in result.output.splitlines()[0] and "card+face" in result.output
        key.chmod(0o600)
        _until("the alarm cleared", lambda: _health(url)["ok"] is True and not _health(url)["degraded"])
        result = CliRunner().invoke(cli, ["--data-dir", str(data), "status", "--url", url])
        assert result.exit_code == 0, result.output
        assert "OK  phase" in result.output.splitlines()[0]
