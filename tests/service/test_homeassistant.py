"""Home Assistant over the real Mosquitto on 127.0.0.1:1883: discovery read back retained, state that follows
the simulated door, access events without resident data, and "open once" commands (live, time-stamped,
audited) while retained, stale, plain and replayed ones do nothing. Every test has its own topics."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from gate.config import HomeAssistantSection
from gate.integrations.homeassistant import HomeAssistantBridge
from gate.integrations.mqtt import Broker
from gate.service.homeassistant import ACTOR, attach
from gate.service.remote_open import AUDIT_ACTION
from gate.service.simrig import DOOR_SENSOR, FIRE_ALARM
from gate.store.models import AccessEvent, AuditEntry
from tests.service.conftest import CARD, CODE, PIN, WAIT, Gate
from tests.service.test_integrations import broker_up

pytestmark = pytest.mark.skipif(not broker_up(), reason="no MQTT broker on 127.0.0.1:1883 (run "
                                                        "scripts/test-services to start Mosquitto)")


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> dict:
        return json.loads(self.payload)


class Listener:
    """A plain MQTT client on the test's side: subscribes, collects, publishes."""

    def __init__(self, *patterns: str) -> None:
        import paho.mqtt.client as mqtt

        self.messages: queue.Queue[Message] = queue.Queue()
        self.seen: list[Message] = []
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe([(t, 1) for t in patterns]) if patterns else \
            subscribed.set()
        self.client.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
        self.client.on_message = lambda c, u, m: self.messages.put(Message(m.topic, bytes(m.payload), bool(m.retain)))
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert subscribed.wait(WAIT), "the test's MQTT client never subscribed"

    def wait_for(self, predicate: Callable[[Message], bool], timeout: float = WAIT) -> Message:
        for message in self.seen:
            if predicate(message):
                return message
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                try:
                    message = self.messages.get(timeout=0.1)
                except queue.Empty:
                    continue
                self.seen.append(message)
                if predicate(message):
                    return message
        finally:
            timer.cancel()
        raise AssertionError(f"no such message; seen {[m.topic for m in self.seen]}")

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@dataclass
class Home:
    gate: Gate
    bridge: HomeAssistantBridge
    prefix: str

    @property
    def topics(self):
        return self.bridge.topics

    def command(self, at: float | None = None, action: str = "OPEN") -> str:
        return json.dumps({"action": action, "at": time.time() if at is None else at})


@pytest.fixture
def home(gate_factory) -> Iterator[Callable[..., Home]]:
    unique = uuid.uuid4().hex[:10]
    prefix, topic = f"ha-test-{unique}", f"gate-test-{unique}/ha"
    bridges: list[HomeAssistantBridge] = []

    def make(*, commands: bool = True, max_age: float = 30.0, before_start: Callable[[Home], None] | None = None,
             **gate_kw) -> Home:
        section = HomeAssistantSection(enabled=True, discovery_prefix=prefix, topic=topic, commands=commands,
                                       command_max_age_seconds=max_age)
        bridge = HomeAssistantBridge(Broker(), "main", section, include_resident=gate_kw.pop("include_resident", False))
        bridges.append(bridge)
        gate = gate_factory(publishers=(bridge.publish,), **gate_kw)
        made = Home(gate, bridge, prefix)
        if before_start is not None:
            before_start(made)
        attach(bridge, gate.runtime)
        assert bridge.ready.wait(WAIT), "the bridge never connected"
        return made

    yield make
    for bridge in bridges:
        bridge.close()
    # Leave no retained message behind on the shared broker.
    cleaner = Listener(f"{prefix}/#", f"gate-test-{unique}/#")
    leftovers = []
    while True:  # the retained copies arrive right after subscribing; a quiet half second ends them
        try:
            leftovers.append(cleaner.messages.get(timeout=0.5))
        except queue.Empty:
            break
    for message in leftovers:
        if message.retain:
            cleaner.publish(message.topic, b"", retain=True)
    cleaner.close()


def _audits(gate: Gate) -> list[AuditEntry]:
    with gate.ctx.transaction() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == AUDIT_ACTION)))


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "gate.homeassistant" and "refused" in r.getMessage()]


def _wait_refusals(gate: Gate, caplog: pytest.LogCaptureFixture, n: int) -> list[str]:
    assert gate.wait_for(lambda: len(_refusals(caplog)) >= n), _refusals(caplog)
    return _refusals(caplog)


# -- discovery ------------------------------------------------------------------------------------------
def test_discovery_documents_are_published_retained_for_one_device(home) -> None:
    h = home()
    listener = Listener(f"{h.prefix}/#", f"{h.topics.base}/#")  # subscribed after: only retained copies come
    try:
        expected = {f"{h.prefix}/{component}/main/{object_id}/config" for component, object_id in (
            ("lock", "lock"), ("binary_sensor", "door"), ("binary_sensor", "fire_alarm"), ("event", "access"),
            ("sensor", "reader"), ("sensor", "relay"), ("sensor", "camera"), ("sensor", "database"))}
        documents = {}
        for topic in expected:
            message = listener.wait_for(lambda m, t=topic: m.topic == t)
            assert message.retain, topic
            documents[topic] = message.json()
        assert len({json.dumps(d["device"], sort_keys=True) for d in documents.values()}) == 1  # one device
        assert len({d["unique_id"] for d in documents.values()}) == len(expected)
        lock = documents[f"{h.prefix}/lock/main/lock/config"]
        assert lock["command_topic"] == h.topics.command and lock["payload_open"] == "OPEN"
        assert lock["retain"] is False and '"at"' in lock["command_template"] and "now()" in lock["command_template"]
        door = documents[f"{h.prefix}/binary_sensor/main/door/config"]
        assert door["device_class"] == "door" and door["state_topic"] == h.topics.state
        assert documents[f"{h.prefix}/event/main/access/config"]["event_types"] == ["granted", "denied"]
        assert documents[f"{h.prefix}/sensor/main/relay/config"]["entity_category"] == "diagnostic"
        assert all(d["availability_topic"] == h.topics.availability for d in documents.values())
        online = listener.wait_for(lambda m: m.topic == h.topics.availability)
        assert (online.payload, online.retain) == (b"online", True)
        state = listener.wait_for(lambda m: m.topic == h.topics.state)
        assert state.retain
        assert state.json() | {"alarms": []} == {"lock": "LOCKED", "door": "OFF", "fire_alarm": "OFF",
                                                 "reader": state.json()["reader"], "relay": "online",
                                                 "camera": "off", "database": "online", "alarms": []}
    finally:
        listener.close()


def test_without_commands_the_lock_offers_no_open_and_the_command_topic_is_not_heard(home) -> None:
    h = home(commands=False)
    listener = Listener(f"{h.prefix}/#")
    try:
        lock = listener.wait_for(lambda m: m.topic == f"{h.prefix}/lock/main/lock/config").json()
        assert "payload_open" not in lock
        listener.publish(h.topics.command, h.command())
        # Home Assistant's "online" after it: once the bridge has re-announced, the command (sent first)
        # would have reached the gate's queue already.
        listener.seen.clear()
        listener.publish(h.topics.ha_status, "online")
        again = listener.wait_for(lambda m: m.topic == f"{h.prefix}/lock/main/lock/config")
        assert not again.retain  # a live re-announcement, not the retained copy
        h.gate.runtime.wait_idle()
        assert h.gate.releases() == 0 and _audits(h.gate) == []
    finally:
        listener.close()


def test_the_last_will_says_offline_when_the_gate_drops_off(home) -> None:
    h = home()
    listener = Listener(h.topics.availability)
    try:
        assert listener.wait_for(lambda m: m.payload == b"online").retain
        # A dropped connection (no clean goodbye): the broker publishes the will.
        h.bridge.client._sock_close()  # noqa: SLF001 - paho's own way to lose the socket
        offline = listener.wait_for(lambda m: m.payload == b"offline")
        assert offline.topic == h.topics.availability
    finally:
        listener.close()


# -- state ----------------------------------------------------------------------------------------------
def test_state_follows_the_simulated_door_and_fire_alarm(home) -> None:
    h = home()
    listener = Listener(h.topics.state)
    try:
        def state_is(alarm: str | None = None, **want: object) -> dict:
            return listener.wait_for(lambda m: all(m.json().get(k) == v for k, v in want.items())
                                     and (alarm is None or alarm in m.json()["alarms"])).json()

        state_is(lock="LOCKED", door="OFF")
        h.gate.rig.set_input(DOOR_SENSOR, False)  # the door contact opens (forced: nobody was granted)
        state_is(lock="OPEN", door="ON", alarm="door_forced")
        h.gate.rig.set_input(DOOR_SENSOR, True)
        state_is(lock="LOCKED", door="OFF", alarms=[])
        h.gate.rig.set_input(FIRE_ALARM, False)  # the loop opens: the door is held released
        state_is(fire_alarm="ON", lock="UNLOCKED")
        h.gate.rig.set_input(FIRE_ALARM, True)
        state_is(fire_alarm="OFF", lock="LOCKED")
    finally:
        listener.close()


def test_access_events_carry_decision_method_and_reason_but_no_resident_data(home) -> None:
    h = home()
    listener = Listener(h.topics.event)
    try:
        h.gate.pin_on_screen(CODE, PIN)
        granted = listener.wait_for(lambda m: True)
        assert not granted.retain
        event = granted.json()
        assert (event["event_type"], event["method"], event["reason"]) == ("granted", "pin", "granted")
        h.gate.pin_on_screen(CODE, "000000")
        denied = listener.wait_for(lambda m: m.json()["event_type"] == "denied").json()
        assert denied["method"] == "pin" and denied["reason"]
        for payload in (granted.payload, json.dumps(denied).encode()):
            text = payload.decode()
            assert "resident" not in text and CODE not in text and PIN not in text and "Test Resident" not in text
            assert "24910" not in text and CARD not in text
    finally:
        listener.close()


def test_access_events_carry_the_resident_id_only_when_included(home) -> None:
    h = home(include_resident=True)
    listener = Listener(h.topics.event)
    try:
        h.gate.pin_on_screen(CODE, PIN)
        event = listener.wait_for(lambda m: True).json()
        assert isinstance(event["resident_id"], int) and CODE not in json.dumps(event)
    finally:
        listener.close()


# -- commands -------------------------------------------------------------------------------------------
def test_an_open_command_opens_the_door_once_and_is_audited(home, caplog) -> None:
    caplog.set_level(logging.INFO)
    h = home()
    sender = Listener()
    try:
        command = h.command()
        sender.publish(h.topics.command, command)
        assert h.gate.wait_for(lambda: h.gate.releases() == 1), "the door was not released"
        (entry,) = _audits(h.gate)
        assert entry.actor == ACTOR == "homeassistant" and entry.subject == "main"
        assert h.topics.command in entry.details
        with h.gate.ctx.transaction() as session:
            rows = session.scalars(select(AccessEvent).where(AccessEvent.reason == "remote_open")).all()
            assert len(rows) == 1 and rows[0].method == "door"
        sender.publish(h.topics.command, command)  # the same message again: a replay
        assert "a replay" in _wait_refusals(h.gate, caplog, 1)[0]
        h.gate.runtime.wait_idle()
        assert h.gate.releases() == 1 and len(_audits(h.gate)) == 1
        assert h.gate.wait_for(lambda: h.gate.runtime.snapshot().door.state == "locked")  # the pulse ended
    finally:
        sender.close()


def test_a_retained_command_is_never_acted_on(home, caplog) -> None:
    caplog.set_level(logging.INFO)
    sender = Listener()
    try:
        # Left retained on the broker before the gate (re)starts, as after esp-rfid's reboots.
        h = home(before_start=lambda made: sender.publish(made.topics.command, made.command(), retain=True))
        assert "retained" in _wait_refusals(h.gate, caplog, 1)[0]
        sender.publish(h.topics.command, h.command())  # a live one afterwards still works: exactly one release
        assert h.gate.wait_for(lambda: h.gate.releases() == 1)
        h.gate.runtime.wait_idle()
        assert h.gate.releases() == 1 and len(_audits(h.gate)) == 1
    finally:
        sender.close()


def test_stale_plain_and_other_commands_do_nothing(home, caplog) -> None:
    caplog.set_level(logging.INFO)
    h = home(max_age=5)
    sender = Listener()
    try:
        for payload in (h.command(at=time.time() - 60), "OPEN", h.command(action="UNLOCK"),
                        h.command(at=time.time() + 3600), json.dumps({"action": "OPEN", "at": "now"})):
            sender.publish(h.topics.command, payload)
        reasons = _wait_refusals(h.gate, caplog, 5)
        assert "stale" in reasons[0] and "not JSON" in reasons[1] and "only OPEN" in reasons[2]
        assert "ahead" in reasons[3] and "not a number" in reasons[4]
        h.gate.runtime.wait_idle()
        assert h.gate.releases() == 0 and _audits(h.gate) == []
        assert "hunter" not in caplog.text
    finally:
        sender.close()


def test_an_open_is_refused_when_it_cannot_be_audited(home, caplog) -> None:
    caplog.set_level(logging.INFO)
    h = home()
    h.gate.runtime.database.lost(RuntimeError("test: database away"))
    h.gate.runtime.open_once(ACTOR, "test")
    h.gate.runtime.wait_idle()
    assert h.gate.releases() == 0 and _audits(h.gate) == []
    assert any("could not be audited" in r.getMessage() for r in caplog.records)
