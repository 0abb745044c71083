"""The operations view, alarm banner and acknowledgement, door commands, /health and /api/status through
the real app on the simulated gate (one gate per test: starting one costs seconds)."""

from __future__ import annotations

from sqlalchemy import select

from gate.service.simrig import DOOR_SENSOR
from gate.store.models import AlarmAcknowledgement, AuditEntry, OperatorRole
from tests.service.conftest import Gate
from tests.webui.conftest import AuthActions
from webui import sse
from webui.server import make_app

REMOTE = {"REMOTE_ADDR": "10.0.0.5"}


def test_health_says_only_ok_or_degraded_and_the_status_wants_a_sign_in(gate: Gate) -> None:
    app = make_app(gate.ctx, gate.runtime, simulate=True)
    app.config["TESTING"] = True
    client = app.test_client()
    assert gate.wait_for(lambda: client.get("/health").get_json()["ok"] is True)
    health = client.get("/health", environ_base=REMOTE).get_json()
    assert set(health) == {"ok", "status", "failed", "face_engine"} and health["status"] in ("ok", "degraded")
    gate.rig.set_input(DOOR_SENSOR, False)  # forced: a door alarm is not for passers-by to read
    assert gate.wait_for(lambda: "door_forced" in gate.runtime.alarm_times())
    assert "door" not in str(client.get("/health", environ_base=REMOTE).get_json())

    assert client.get("/api/status", environ_base=REMOTE).status_code == 401
    status = client.get("/api/status").get_json()  # this machine (loopback)
    assert status["last_events"] and "door_forced" in status["alarms_since"]
    auth = AuthActions(client, gate.ctx)
    auth.login("watcher", OperatorRole.AUDITOR)
    assert client.get("/api/status", environ_base=REMOTE).status_code == 200


def test_banner_acknowledgement_and_door_commands_from_the_operations_page(gate: Gate) -> None:
    app = make_app(gate.ctx, gate.runtime, simulate=True)
    app.config["TESTING"] = True
    client = app.test_client()
    auth = AuthActions(client, gate.ctx)
    auth.login("alice", OperatorRole.OPERATOR)
    assert 'id="alarm-banner"' not in client.get("/residents").get_data(as_text=True)

    gate.rig.set_input(DOOR_SENSOR, False)
    assert gate.wait_for(lambda: "door_forced" in gate.runtime.alarm_times())
    page = client.get("/residents").get_data(as_text=True)
    assert 'id="alarm-banner"' in page and "Door forced open" in page
    view = client.get("/operations/").get_data(as_text=True)
    assert 'class="state door-forced"' in view
    raised = gate.runtime.alarm_times()["door_forced"].isoformat()
    done = auth.post("/operations/acknowledge", {"gate": "main", "alarm": "door_forced", "raised_at": raised,
                                                 "next": "/residents"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/residents")
    assert 'id="alarm-banner"' not in client.get("/residents").get_data(as_text=True)
    with gate.ctx.sessions() as session:
        ack = session.scalars(select(AlarmAcknowledgement)).one()
        assert ack.acknowledged_by == "alice"
        assert session.scalars(select(AuditEntry).where(AuditEntry.action == "alarm.acknowledge")).one()
    gate.rig.set_input(DOOR_SENSOR, True)

    refused = auth.post("/operations/door", {"action": "open_once", "reason": ""}, follow_redirects=True)
    assert "Give a reason" in refused.get_data(as_text=True) and gate.releases() == 0
    opened = auth.post("/operations/door", {"action": "open_once", "reason": "parcel"}, follow_redirects=True)
    assert "opened once" in opened.get_data(as_text=True)
    assert gate.wait_for(lambda: gate.releases() == 1)

    # Every stream slot taken: the next live view is told to come back (EventSource retries by itself).
    app.extensions["operations_streams"] = slots = sse.StreamSlots(1)
    assert slots.take()
    assert client.get("/operations/stream").status_code == 503
    slots.give_back()
    streamed = client.get("/operations/stream", buffered=False)
    assert streamed.status_code == 200 and streamed.mimetype == "text/event-stream"
    chunks = iter(streamed.response)
    assert next(chunks).decode().startswith("retry: ")
    assert 'data-gate="main"' in next(chunks).decode()
    streamed.close()
    assert slots.take()  # the closed stream gave its slot back


def test_a_stream_sends_at_once_then_only_changes_and_ends_by_itself() -> None:
    shown = iter(["a", "a", "b\nc", "b\nc"])
    now = [0.0]

    def wait(seen: int, timeout: float) -> int:
        now[0] += timeout
        return seen + 1

    out = list(sse.stream(lambda: next(shown), wait, 0, seconds=3.0, clock=lambda: now[0]))
    assert out == [f"retry: {sse.RETRY_MS}\n\n", "data: a\n\n", "data: b\ndata: c\n\n"]
    assert sse.slots_for(8) == 4 and sse.slots_for(1) == 1
