"""The gate's own endpoints under attack (finding 7): a DNS-rebinding page cannot press the kiosk's
buttons, and /sim (with --simulate) answers only the kiosk clients. A real gate service on the
simulated reader and relay board (over pseudo-terminals) shows that nothing reached the door loop."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from gate.context import GateContext
from gate.service.runtime import GateRuntime
from webui.server import make_app

REMOTE = {"REMOTE_ADDR": "192.0.2.7"}


@pytest.fixture
def runtime(gctx: GateContext) -> Iterator[GateRuntime]:
    from gate.service.builder import build_runtime
    from gate.service.simrig import SimRig

    rig = SimRig().start()
    gate_runtime = build_runtime(gctx, rig=rig)
    gate_runtime.start()
    try:
        yield gate_runtime
    finally:
        gate_runtime.stop()
        rig.stop()


@pytest.fixture
def client(gctx: GateContext, runtime: GateRuntime) -> FlaskClient:
    app = make_app(gctx, runtime, simulate=True)
    app.config["TESTING"] = True
    return app.test_client()


def wait_for(runtime: GateRuntime, predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runtime.wait_idle(1.0)
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def card_reads(runtime: GateRuntime) -> int:
    return sum(1 for e in runtime.snapshot().last_events if e["kind"] == "access" and e["method"] == "card")


def test_a_rebinding_host_cannot_press_kiosk_buttons(client: FlaskClient, runtime: GateRuntime) -> None:
    press = {"action": "choose", "value": "pin"}
    rebound = client.post("/kiosk/action", json=press, headers={"Host": "evil.example"})
    assert rebound.status_code == 400
    runtime.wait_idle(1.0)
    assert runtime.snapshot().phase == "idle"
    assert client.get("/kiosk/state", headers={"Host": "evil.example:8080"}).status_code == 400
    assert client.post("/kiosk/action", json=press, headers={"Host": "127.0.0.1:8080"}).status_code == 202
    assert wait_for(runtime, lambda: runtime.snapshot().phase == "claim")


def test_sim_answers_only_the_kiosk_clients(client: FlaskClient, runtime: GateRuntime) -> None:
    assert wait_for(runtime, lambda: runtime.snapshot().reader.get("online") is True), "reader never came online"
    for path in ("/sim/", "/sim/state", "/sim/faces"):
        assert client.get(path, environ_base=REMOTE).status_code == 403, path
    assert client.post("/sim/card", json={"number": "188:24910"}, environ_base=REMOTE).status_code == 403
    assert client.post("/sim/input", json={"index": 1, "on": True}, environ_base=REMOTE).status_code == 403
    assert client.post("/sim/keys", json={"keys": "1001#"}, environ_base=REMOTE).status_code == 403
    runtime.wait_idle(1.0)
    # Nothing reached the gate: no card read, no fire loop from the refused /sim/input. (Other alarms are
    # not this test's business: a loaded machine can time out one poll of the simulated board.)
    assert card_reads(runtime) == 0 and "fire_alarm" not in runtime.snapshot().alarms
    # The same card from the gate's own machine reaches the reader and the door loop.
    assert client.post("/sim/card", json={"number": "188:24910"}).status_code == 202
    assert wait_for(runtime, lambda: card_reads(runtime) == 1)
