"""The gate as a Home Assistant device over MQTT (discovery); off unless [homeassistant] enabled = true.

* On every connection (and when Home Assistant announces it restarted on <prefix>/status): the
  availability "online", every discovery document and the current state, all retained. The MQTT last
  will publishes "offline" (retained) if the gate drops off; `close()` publishes it on a clean stop.
* The state (one retained JSON document) is re-read from the gate whenever `notify()` is called (door
  events, gate events) and at least every `poll_seconds`, and published when it changed.
* Access decisions go to the event entity (not retained) without card, PIN, name or image.
* "Open once" commands, only with [homeassistant] commands = true, only from the command topic, and
  only as `ha_discovery.parse_command` allows; each refusal is logged with its reason. The accepted
  command is handed to the gate (`open_once`), which audits it and pulses the door.

paho's network loop and the state watcher each run on their own thread: nothing here runs on the gate
loop, and a slow or absent broker never holds the gate up.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import paho.mqtt.client as mqtt

from gate.config import HomeAssistantSection
from gate.integrations.ha_discovery import (
    AVAILABLE,
    NOT_AVAILABLE,
    OpenCommand,
    Refused,
    Topics,
    access_event,
    discovery,
    parse_command,
)
from gate.integrations.mqtt import Broker

log = logging.getLogger("gate.homeassistant")

StateSource = Callable[[], Mapping[str, object]]
Opener = Callable[[OpenCommand], None]
POLL_SECONDS = 1.0


def _version() -> str:
    """Shown on Home Assistant's device page (the installed package's version)."""
    try:
        return version("gate-controller")
    except PackageNotFoundError:
        return "unknown"


class HomeAssistantBridge:
    def __init__(self, broker: Broker, gate: str, config: HomeAssistantSection, *, include_resident: bool = False,
                 clock: Callable[[], float] = time.time, poll_seconds: float = POLL_SECONDS) -> None:
        self.gate = gate
        self.config = config
        self.include_resident = include_resident
        self.topics = Topics.of(config.discovery_prefix, config.topic, gate)
        self.clock = clock
        self.poll_seconds = poll_seconds
        #: Set once the broker acknowledged the command subscription (or, without commands, the connection).
        self.ready = threading.Event()
        self.client = broker.client()  # TLS files are read here: a bad one stops `gate serve` before it starts
        self.client.will_set(self.topics.availability, NOT_AVAILABLE, qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self._broker = broker
        self._state: StateSource | None = None
        self._open: Opener | None = None
        self._documents: dict[str, dict[str, Any]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._lock = threading.Lock()
        self._published: Mapping[str, object] | None = None
        self._last_command_at: float | None = None
        self._command_mid: int | None = None
        self._watcher: threading.Thread | None = None

    # -- wiring ----------------------------------------------------------------------------------
    def start(self, state: StateSource, open_once: Opener, *, has_door: bool) -> HomeAssistantBridge:
        self._state = state
        self._open = open_once
        self._documents = discovery(self.gate, self.topics, commands=self.config.commands, has_door=has_door,
                                    version=_version())
        self._watcher = threading.Thread(target=self._watch, name=f"homeassistant:{self.gate}", daemon=True)
        self._watcher.start()
        self._broker.connect(self.client)
        return self

    def notify(self) -> None:
        """Something changed at the gate (from any thread): re-read the state soon."""
        self._wake.set()

    def publish(self, entry: dict[str, Any]) -> None:
        """The event log's publisher: access decisions to the event entity; every event refreshes the state."""
        self.notify()
        payload = access_event(entry, self.include_resident)
        if payload is not None and self._connected.is_set():
            self.client.publish(self.topics.event, json.dumps(payload), qos=1, retain=False)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._watcher is not None:
            self._watcher.join(5)
        if self._connected.is_set():
            # A clean disconnect does not fire the last will: say "offline" ourselves.
            info = self.client.publish(self.topics.availability, NOT_AVAILABLE, qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass  # lost connection meanwhile: the broker publishes the last will instead
        self.client.disconnect()
        self.client.loop_stop()

    # -- MQTT callbacks (paho's thread) ----------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object, reason: Any,
                    properties: object) -> None:
        if reason.is_failure:
            log.warning("Home Assistant: the MQTT broker refused the connection (%s).", reason)
            return
        self._connected.set()
        self._announce()
        client.subscribe(self.topics.ha_status, qos=1)
        if self.config.commands:
            self._command_mid = client.subscribe(self.topics.command, qos=1)[1]
        else:
            self.ready.set()
        log.info("Home Assistant: gate %s announced under %s/ (commands %s).", self.gate,
                 self.topics.discovery_prefix, "on" if self.config.commands else "off")

    def _on_disconnect(self, *_: object) -> None:
        self._connected.clear()

    def _announce(self) -> None:
        self.client.publish(self.topics.availability, AVAILABLE, qos=1, retain=True)
        for topic, document in self._documents.items():
            self.client.publish(topic, json.dumps(document), qos=1, retain=True)
        with self._lock:
            self._published = None  # publish the state again, whether or not it changed
        self._wake.set()

    def _on_subscribe(self, client: mqtt.Client, userdata: object, mid: int, reasons: Any,
                      properties: object) -> None:
        if mid == self._command_mid:
            if any(r.is_failure for r in reasons):
                log.warning("Home Assistant: the broker refused the subscription to %s; commands will not "
                            "arrive.", self.topics.command)
            else:
                self.ready.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        if message.topic == self.topics.ha_status:
            if message.payload == b"online":
                self._announce()  # Home Assistant restarted: announce again
            return
        if message.topic != self.topics.command or not self.config.commands:
            return
        verdict = parse_command(bytes(message.payload), retained=bool(message.retain), now=self.clock(),
                                max_age=self.config.command_max_age_seconds, last_at=self._last_command_at)
        if isinstance(verdict, Refused):
            log.warning("Home Assistant: open command on %s refused: %s.", message.topic, verdict.reason)
            return
        self._last_command_at = verdict.at
        log.info("Home Assistant: open command accepted for gate %s.", self.gate)
        if self._open is not None:
            self._open(verdict)

    # -- the state watcher (its own thread) ------------------------------------------------------
    def _watch(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            if self._stop.is_set() or not self._connected.is_set() or self._state is None:
                continue
            try:
                state = dict(self._state())
            except Exception as err:  # noqa: BLE001 - a failing read never stops the watcher
                log.info("Home Assistant: could not read the gate's state: %s", err)
                continue
            with self._lock:
                if state == self._published:
                    continue
                self._published = state
            self.client.publish(self.topics.state, json.dumps(state), qos=1, retain=True)
