"""GET /metrics: Prometheus metrics of a gate on the simulated rig (real OSDP and Modbus bytes), scraped
through the real app and parsed with prometheus_client's own parser."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from gate.cli import cli
from gate.config import MetricsSection
from gate.core import machine as m
from gate.core.decision import Reason
from gate.errors import ConfigError
from gate.face.engine import FaceEngine, ModelPaths
from gate.install import initialise
from gate.secrets.tokens import read_token
from gate.service.simrig import DOOR_SENSOR
from gate.store import consent, residents
from tests.service.conftest import CARD, CODE, PIN, Gate, allow_face
from tests.store.helpers import random_encodings
from webui.server import make_app

TOKEN = "0123456789abcdef0123456789abcdef"
UNKNOWN_CARD = "1:1"
WRONG_PIN = "000000"
NAME = "Test Resident"  # the resident conftest.make_installation adds

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def client_for(gate: Gate, **metrics: object) -> FlaskClient:
    """The app `gate serve` builds, with `[metrics]` set as given (enabled unless said otherwise)."""
    section = MetricsSection(**{"enabled": True, **metrics})  # type: ignore[arg-type]
    ctx = dataclasses.replace(gate.ctx, settings=dataclasses.replace(gate.ctx.settings, metrics=section))
    app = make_app(ctx, gate.runtime, simulate=False)
    app.config["TESTING"] = True
    return app.test_client()


def scrape(client: FlaskClient, **kw: object) -> Samples:
    response = client.get("/metrics", **kw)  # type: ignore[arg-type]
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset({"gate": "main", **labels}.items())))


def decisions(samples: Samples, method: str, outcome: str, reason: str) -> float:
    return value(samples, "gate_decisions_total", method=method, outcome=outcome, reason=reason) or 0.0


def write_token(path: Path, text: str = TOKEN, mode: int = 0o600) -> Path:
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


# -- the counters, fed by real decisions ------------------------------------------------------------
def test_a_card_granted_and_a_card_refused_are_counted_with_their_latency(gate: Gate) -> None:
    client = client_for(gate)
    gate.card(UNKNOWN_CARD)
    assert gate.wait_for(lambda: decisions(scrape(client), "card", "refused", "unknown_card") == 1)
    gate.card(CARD)
    assert gate.wait_for(lambda: decisions(scrape(client), "card", "granted", "granted") == 1)
    samples = scrape(client)
    assert value(samples, "gate_decision_seconds_count", method="card") == 2
    assert (value(samples, "gate_decision_seconds_sum", method="card") or 0) > 0
    assert value(samples, "gate_decision_seconds_bucket", method="card", le="+Inf") == 2
    # The registry is the runtime's own: nothing lands in the library's global one.
    assert REGISTRY.get_sample_value("gate_decisions_total", {"gate": "main", "method": "card", "outcome": "granted",
                                                              "reason": "granted"}) is None


def test_no_resident_card_pin_or_name_in_any_label(gate: Gate) -> None:
    client = client_for(gate)
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.releases() >= 1)
    gate.card(UNKNOWN_CARD)
    assert gate.wait_for(lambda: decisions(scrape(client), "card", "refused", "unknown_card") == 1)
    gate.pin_on_screen(CODE, WRONG_PIN)
    assert gate.wait_for(lambda: decisions(scrape(client), "pin", "refused", "wrong_pin") == 1)
    gate.pin_on_screen(CODE, PIN)
    assert gate.wait_for(lambda: decisions(scrape(client), "pin", "granted", "granted") == 1)
    samples = scrape(client)
    assert sum(v for (name, _), v in samples.items() if name == "gate_decisions_total") == 4
    with gate.ctx.transaction() as session:
        resident_code = residents.get_resident(session, CODE).code
    # The card as typed and in its canonical form (188 x 65536 + 24910), the unknown card both ways too.
    secrets = {CARD, "12345678", "188", "24910", UNKNOWN_CARD, "65537", CODE, resident_code, NAME, "Test",
               "Resident", PIN, WRONG_PIN}
    labels = {v for (_, pairs) in samples for _, v in pairs}
    leaked = sorted(s for s in secrets for label in labels if s.lower() in label.lower())
    assert not leaked, f"label values {sorted(labels)} carry {leaked}"


def test_face_attempts_are_timed_and_face_refusals_counted(gate_factory, tmp_path: Path) -> None:
    # The model files are missing: the attempt runs on the face worker and ends "unavailable" without dlib.
    gate = gate_factory(face_engine=FaceEngine(ModelPaths(tmp_path / "a.dat", tmp_path / "b.dat")))
    client = client_for(gate)
    allow_face(gate, tmp_path)
    assert value(scrape(client), "gate_face_templates") == 0
    gate.runtime.post(m.Choose("face"))
    gate.runtime.post(m.EnterCode(CODE))  # no consent yet: refused before any camera opens
    assert gate.wait_for(lambda: decisions(scrape(client), "face", "refused", "no_consent") == 1)
    with gate.ctx.transaction() as session:
        resident = residents.get_resident(session, CODE)
        consent.grant_consent(session, resident, operator="test", retention_days=365)
        gate.ctx.store.save(session, resident, random_encodings(), "dlib-test")
    assert value(scrape(client), "gate_face_templates") == 1
    gate.runtime.post(m.TimedOut(gate.runtime.snapshot().transaction))  # leave the refusal screen
    gate.runtime.post(m.Choose("face"))
    gate.runtime.post(m.EnterCode(CODE))
    assert gate.wait_for(lambda: decisions(scrape(client), "face", "refused", "face_unavailable") == 1)
    samples = scrape(client)
    assert value(samples, "gate_face_verification_seconds_count", outcome="unavailable") == 1
    assert value(samples, "gate_decision_seconds_count", method="face") == 2


# -- the gauges, read from the snapshot when scraped -----------------------------------------------
def test_door_state_and_alarm_gauges_follow_the_door(gate: Gate) -> None:
    client = client_for(gate)
    samples = scrape(client)
    assert value(samples, "gate_door_open") == 0 and value(samples, "gate_door_state", state="locked") == 1
    assert value(samples, "gate_door_state", state="unknown") == 0
    assert value(samples, "gate_alarm", alarm="door_forced") == 0
    assert value(samples, "gate_up") == 1
    gate.rig.set_input(DOOR_SENSOR, False)  # opened without a grant: forced
    assert gate.wait_for(lambda: value(scrape(client), "gate_door_open") == 1)
    assert gate.wait_for(lambda: value(scrape(client), "gate_alarm", alarm="door_forced") == 1)
    gate.rig.set_input(DOOR_SENSOR, True)
    assert gate.wait_for(lambda: value(scrape(client), "gate_door_open") == 0)
    assert gate.wait_for(lambda: value(scrape(client), "gate_alarm", alarm="door_forced") == 0)


def test_device_links_journal_and_degraded_ways(gate: Gate) -> None:
    client = client_for(gate)
    assert gate.wait_for(lambda: value(scrape(client), "gate_device_up", device="reader") == 1)
    samples = scrape(client)
    assert value(samples, "gate_device_up", device="relay") == 1
    assert value(samples, "gate_device_up", device="database") == 1
    assert value(samples, "gate_device_up", device="camera") == 1  # the rig's pushed feed, no fault
    assert value(samples, "gate_offline_journal_events") == 0
    assert value(samples, "gate_way_degraded", way="card") == 0
    assert value(samples, "gate_alarm", alarm="database_offline") == 0
    gate.rig.stop()  # the reader and the relay board go silent
    assert gate.wait_for(lambda: value(scrape(client), "gate_device_up", device="reader") == 0)
    assert gate.wait_for(lambda: value(scrape(client), "gate_device_up", device="relay") == 0)
    samples = scrape(client)
    assert value(samples, "gate_alarm", alarm="reader_offline") == 1
    assert value(samples, "gate_way_degraded", way="card") == 1


# -- who may scrape ---------------------------------------------------------------------------------
def test_off_by_default(gate: Gate) -> None:
    app = make_app(gate.ctx, gate.runtime, simulate=False)
    assert gate.ctx.settings.metrics.enabled is False
    assert app.test_client().get("/metrics").status_code == 404


def test_with_a_token_it_is_required_from_anywhere(gate: Gate, tmp_path: Path) -> None:
    client = client_for(gate, token_file=str(write_token(tmp_path / "metrics.token")))
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "token" in missing.get_data(as_text=True)
    assert client.get("/metrics", headers={"Authorization": "Bearer " + TOKEN[:-1] + "0"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic " + TOKEN}).status_code == 401
    good = {"Authorization": "Bearer " + TOKEN}
    assert value(scrape(client, headers=good), "gate_up") == 1
    assert value(scrape(client, headers=good, environ_base={"REMOTE_ADDR": "192.0.2.7"}), "gate_up") == 1
    # A relative token_file is in the data folder.
    write_token(gate.ctx.settings.data_dir / "metrics.token")
    relative = client_for(gate, token_file="metrics.token")
    assert relative.get("/metrics").status_code == 401 and scrape(relative, headers=good)


def test_without_a_token_only_this_machine_may_scrape(gate: Gate) -> None:
    client = client_for(gate)
    assert value(scrape(client, environ_base={"REMOTE_ADDR": "127.0.0.1"}), "gate_up") == 1
    assert value(scrape(client, environ_base={"REMOTE_ADDR": "::1"}), "gate_up") == 1
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403 and "token_file" in remote.get_data(as_text=True)
    # A reverse proxy on this machine makes every client look local: its forwarding header gives it away.
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "192.0.2.7"})
    assert proxied.status_code == 403


def test_no_sign_in_and_no_csrf_token_needed(gate: Gate) -> None:
    client = client_for(gate)
    assert client.get("/metrics").status_code == 200  # no operator session, no redirect to the sign-in page
    assert client.post("/metrics").status_code == 405  # nothing to post: GET only


# -- the token file ---------------------------------------------------------------------------------
def test_the_token_file_must_be_private_and_long_enough(tmp_path: Path) -> None:
    assert read_token(write_token(tmp_path / "ok"), "[metrics]") == TOKEN
    with pytest.raises(ConfigError, match=r"readable by other users: run `chmod 600 .*`\.$"):
        read_token(write_token(tmp_path / "open", mode=0o644), "[metrics]")
    with pytest.raises(ConfigError, match=r"does not exist: create it with `openssl rand -hex 32 > "):
        read_token(tmp_path / "missing", "[metrics]")
    with pytest.raises(ConfigError, match=r"at least 32 printable characters"):
        read_token(write_token(tmp_path / "short", "abc"), "[metrics]")
    with pytest.raises(ConfigError, match=r"at least 32 printable characters"):
        read_token(write_token(tmp_path / "two", TOKEN + " " + TOKEN), "[metrics]")


def test_serve_refuses_a_bad_token_file_before_anything_starts(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from gate.service import builder

    data = tmp_path / "data"
    initialise(data)
    config = data / "gate.toml"
    config.write_text(config.read_text().replace("# enabled = false\n# token_file", "enabled = true\ntoken_file", 1))
    built: list[object] = []
    monkeypatch.setattr(builder, "build_runtime", lambda *a, **kw: built.append(a) or pytest.fail("runtime built"))
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "serve", "--port", "0"])
    assert result.exit_code != 0 and built == []  # refused before the runtime (and its devices) existed
    assert f"The [metrics] token file {data / 'keys' / 'metrics.token'} does not exist" in result.output
    assert "Traceback" not in result.output and "gate service for gate" not in result.output


def test_reasons_and_methods_are_a_fixed_set(gate: Gate) -> None:
    from gate.core.decision import Decision
    from gate.core.policy import Method

    with pytest.raises(ValueError):
        gate.runtime.metrics.decision(Method.CARD, Decision(False, "Test Resident"), 0.1)  # type: ignore[arg-type]
    gate.runtime.metrics.decision(Method.CARD, Decision(False, Reason.UNKNOWN_CARD), 0.1)
