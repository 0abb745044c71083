"""The running gate as Home Assistant sees it: the state document read from the snapshot, and the bridge
(gate.integrations.homeassistant) wired to a runtime.

Lock states (lock.mqtt): OPEN while the door contact says open (whatever the strike does), UNLOCKED
while the strike is released (a pulse, a hold such as the fire alarm, or the end of a pulse not yet
confirmed by the board), LOCKED when the controller knows it is locked, JAMMED when it cannot know (the
relay board's link is down, its outputs not yet read, or the driver fails).
"""

from __future__ import annotations

from collections.abc import Iterable

from gate.integrations.ha_discovery import OpenCommand
from gate.integrations.homeassistant import HomeAssistantBridge
from gate.service.runtime import GateRuntime
from gate.service.status import Snapshot

ACTOR = "homeassistant"


def lock_state(snap: Snapshot) -> str | None:
    door = snap.door
    if door.state == "none":
        return None
    if door.state in ("unknown", "error"):
        return "JAMMED"
    if door.door_open:
        return "OPEN"
    if door.state in ("pulsed", "held", "release_pending"):
        return "UNLOCKED"
    return "LOCKED"


def _on_off(value: bool | None) -> str:
    return "None" if value is None else ("ON" if value else "OFF")  # "None": Home Assistant's unknown


def ha_state(snap: Snapshot) -> dict[str, object]:
    """The one retained state document every entity reads its value from. No resident data in it."""
    door = snap.door
    alarms = set(snap.alarms)
    if snap.camera.state == "none":
        camera = "none"
    elif "camera_fault" in alarms:
        camera = "fault"
    else:
        camera = "on" if snap.camera_on else "off"
    reader = snap.reader
    return {
        "lock": lock_state(snap),
        "door": _on_off(door.door_open if door.state not in ("none", "error") else None),
        "fire_alarm": _on_off(door.fire_alarm if door.state not in ("none", "error") else None),
        "reader": "none" if reader.get("state") == "none" else ("online" if reader.get("online") else "offline"),
        "relay": "none" if door.state == "none" else ("online" if door.link_ok else "offline"),
        "camera": camera,
        "database": "online" if snap.database.ok else "offline",
        "alarms": sorted(alarms),
    }


def attach(bridge: HomeAssistantBridge, runtime: GateRuntime) -> HomeAssistantBridge:
    """Start the bridge on this runtime: state from its snapshot, door events wake it, "open" goes to
    the runtime's loop (`GateRuntime.open_once`, audited as homeassistant)."""

    def open_once(command: OpenCommand) -> None:
        runtime.open_once(ACTOR, f"mqtt {bridge.topics.command}")

    if runtime.door is not None:
        runtime.door.subscribe(lambda _event: bridge.notify())
    return bridge.start(lambda: ha_state(runtime.snapshot()), open_once, has_door=runtime.door is not None)


def attach_all(integrations: Iterable[object], runtime: GateRuntime) -> None:
    """`gate serve`: start every Home Assistant bridge among the integrations on the runtime."""
    for integration in integrations:
        if isinstance(integration, HomeAssistantBridge):
            attach(integration, runtime)
