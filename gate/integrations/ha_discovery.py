"""Home Assistant MQTT discovery, pure: the topics, the retained discovery documents, the access-event
payload and the rules an "open once" command must pass. No I/O; `homeassistant.py` does the MQTT.

The rules for a command (docs/homeassistant.md): esp-rfid's users learned that a retained "open"
re-opens the door after every reboot of the controller, and Home Assistant's lock.mqtt docs warn about
retained commands too. So a command is acted on only if it is live (never retained), is JSON naming the
OPEN action, carries a time stamp within `max_age` seconds of the gate's clock, and is newer than the
last one accepted (a command copied and replayed within the window is refused too).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AVAILABLE, NOT_AVAILABLE = "online", "offline"
#: What Home Assistant sends (lock.mqtt's command_template): the button's payload and its own clock.
COMMAND_TEMPLATE = '{"action": "{{ value }}", "at": {{ now().timestamp() }}}'
#: A command is a few dozen bytes; anything much longer is not one.
MAX_COMMAND_BYTES = 512
#: The states the diagnostic sensors can take.
LINK_STATES = ["online", "offline", "none"]
CAMERA_STATES = ["on", "off", "fault", "none"]


def node_id(gate: str) -> str:
    """The gate's name as Home Assistant's discovery topics allow it ([a-zA-Z0-9_-])."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", gate) or "gate"


@dataclass(frozen=True)
class Topics:
    discovery_prefix: str
    base: str  # <[homeassistant] topic>/<gate name>

    @classmethod
    def of(cls, discovery_prefix: str, topic: str, gate: str) -> Topics:
        return cls(discovery_prefix.strip("/"), f"{topic.strip('/')}/{node_id(gate)}")

    @property
    def availability(self) -> str:
        return f"{self.base}/availability"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def command(self) -> str:
        return f"{self.base}/command"

    @property
    def ha_status(self) -> str:
        """Home Assistant's birth and last-will topic: "online" when it (re)starts."""
        return f"{self.discovery_prefix}/status"

    def config(self, component: str, gate: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{node_id(gate)}/{object_id}/config"


def discovery(gate: str, topics: Topics, *, commands: bool, has_door: bool,
              version: str = "0") -> dict[str, dict[str, Any]]:
    """config topic -> discovery document, one device per gate. Published retained."""
    node = node_id(gate)
    device = {"identifiers": [f"gate_{node}"], "name": f"Gate {gate}", "manufacturer": "gate-controller",
              "model": "access-control gate", "sw_version": version}
    common = {"device": device, "origin": {"name": "gate-controller", "sw_version": version},
              "availability_topic": topics.availability, "payload_available": AVAILABLE,
              "payload_not_available": NOT_AVAILABLE, "qos": 1}

    def entity(object_id: str, name: str | None, **fields: Any) -> dict[str, Any]:
        return {**common, "name": name, "unique_id": f"gate_{node}_{object_id}", **fields}

    def state(key: str) -> dict[str, Any]:
        return {"state_topic": topics.state, "value_template": f"{{{{ value_json.{key} }}}}"}

    out: dict[str, dict[str, Any]] = {}
    if has_door:
        lock = entity("lock", None, **state("lock"), state_locked="LOCKED", state_unlocked="UNLOCKED",
                      state_open="OPEN", state_jammed="JAMMED", command_topic=topics.command,
                      command_template=COMMAND_TEMPLATE, payload_lock="LOCK", payload_unlock="UNLOCK",
                      retain=False, optimistic=False, json_attributes_topic=topics.state,
                      json_attributes_template="{{ {'alarms': value_json.alarms} | tojson }}")
        if commands:
            lock["payload_open"] = "OPEN"  # only then does Home Assistant offer "Open"
        out[topics.config("lock", gate, "lock")] = lock
        out[topics.config("binary_sensor", gate, "door")] = entity(
            "door", "Door", **state("door"), device_class="door", payload_on="ON", payload_off="OFF")
        out[topics.config("binary_sensor", gate, "fire_alarm")] = entity(
            "fire_alarm", "Fire alarm", **state("fire_alarm"), device_class="safety", payload_on="ON",
            payload_off="OFF")
    out[topics.config("event", gate, "access")] = entity(
        "access", "Access", state_topic=topics.event, event_types=["granted", "denied"])
    for key, name, options in (("reader", "Reader", LINK_STATES), ("relay", "Relay board", LINK_STATES),
                               ("camera", "Camera", CAMERA_STATES), ("database", "Database", LINK_STATES)):
        out[topics.config("sensor", gate, key)] = entity(
            key, name, **state(key), device_class="enum", options=options, entity_category="diagnostic")
    return out


def access_event(entry: Mapping[str, object], include_resident: bool) -> dict[str, object] | None:
    """The event entity's payload for one gate event, or None if it is not an access decision.

    Named fields only (never the entry as a whole): the decision, method, reason and time; the
    resident's internal id only when [mqtt] include_resident is on."""
    if entry.get("kind") != "access":
        return None
    payload: dict[str, object] = {"event_type": "granted" if entry.get("granted") else "denied",
                                  "method": entry.get("method"), "reason": entry.get("reason"),
                                  "at": entry.get("at"), "offline": bool(entry.get("offline", False))}
    if include_resident and entry.get("resident_id") is not None:
        payload["resident_id"] = entry["resident_id"]
    return payload


@dataclass(frozen=True)
class OpenCommand:
    at: float  # Home Assistant's time stamp (epoch seconds)


@dataclass(frozen=True)
class Refused:
    reason: str  # one sentence for the log


def parse_command(payload: bytes, *, retained: bool, now: float, max_age: float,
                  last_at: float | None) -> OpenCommand | Refused:
    """Whether a message on the command topic opens the door once. Pure: the caller passes its clock."""
    if retained:
        return Refused("a retained command is never acted on (it would open the door again after every "
                       "restart); clear it with an empty retained message")
    if len(payload) > MAX_COMMAND_BYTES:
        return Refused(f"the command is longer than {MAX_COMMAND_BYTES} bytes")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict) or "action" not in data or "at" not in data:
        return Refused('the command is not JSON like {"action": "OPEN", "at": <epoch seconds>} (plain payloads '
                       "carry no time stamp)")
    action, at = data["action"], data["at"]
    if action != "OPEN":
        return Refused(f"only OPEN is accepted, not {str(action)[:20]!r}: the door locks itself after each "
                       "opening and is never left unlocked")
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
        return Refused("the command's time stamp is not a number of seconds")
    if now - at > max_age:
        return Refused(f"the command is stale: sent {now - at:.1f} s ago, more than {max_age:g} s")
    if at - now > max_age:
        return Refused(f"the command's time stamp is {at - now:.1f} s ahead of the gate's clock")
    if last_at is not None and at <= last_at:
        return Refused("the command's time stamp is not newer than the last accepted one (a replay)")
    return OpenCommand(float(at))
