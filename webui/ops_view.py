"""What the operations view and the alarm banner show, read from the running gate and the database.

This gate comes live from its runtime's snapshot; the site's other gates from their heartbeats
(gate.store.heartbeats: running, degraded, stopped or silent), which is all a gate publishes about itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from gate.store.alarm_acks import Raising, unacknowledged
from gate.store.heartbeats import site_gates

#: The alarms an operator is asked to acknowledge (the banner), with their words.
ALARM_LABELS: dict[str, Any] = {
    "fire_alarm": _l("Fire alarm: the door is held released"),
    "door_forced": _l("Door forced open"),
    "door_held_open": _l("Door held open too long"),
    "relay_offline": _l("Relay board offline"),
    "reader_offline": _l("Card reader offline"),
    "camera_fault": _l("Camera fault"),
}
DOOR_LABELS: dict[str, Any] = {
    "locked": _l("locked"), "pulsed": _l("open (one person)"), "held": _l("held open"),
    "release_pending": _l("closing"), "unknown": _l("unknown"), "none": _l("no door"), "error": _l("error"),
}


@dataclass(frozen=True)
class Alarm:
    raising: Raising
    acknowledged: bool

    @property
    def label(self) -> Any:
        return ALARM_LABELS.get(self.raising.alarm, self.raising.alarm)


@dataclass(frozen=True)
class LiveGate:
    name: str
    door: str  # locked / open / held / forced / unknown, as a person reads it
    door_detail: str | None
    reader: str
    relay: str
    camera: str
    face: str
    alarms: list[Alarm]
    other_alarms: list[str]  # active alarms the banner does not ask about (policy, database, clock)
    override: dict[str, object] | None


@dataclass(frozen=True)
class OtherGate:
    name: str
    state: str
    seen_seconds_ago: float | None


@dataclass(frozen=True)
class Operations:
    live: LiveGate | None
    others: list[OtherGate] = field(default_factory=list)

    @property
    def banner(self) -> list[Alarm]:
        return [a for a in (self.live.alarms if self.live else []) if not a.acknowledged]


def alarm_raisings(runtime: Any) -> list[Raising]:
    times: dict[str, datetime] = runtime.alarm_times()
    return [Raising(runtime.gate_name, name, at) for name, at in sorted(times.items()) if name in ALARM_LABELS]


def banner_alarms(runtime: Any, session: Session) -> list[Alarm]:
    """This gate's alarms nobody acknowledged: every operator page shows them."""
    if runtime is None:
        return []
    return [Alarm(r, False) for r in unacknowledged(session, alarm_raisings(runtime))]


def _door(snap: Any) -> tuple[str, str | None]:
    door = snap.door
    if "door_forced" in snap.alarms:
        return "forced", None
    if door.state in ("locked", "pulsed") and door.door_open:
        return "open", None
    return door.state, door.state_reason or door.fault


def live_gate(runtime: Any, session: Session) -> LiveGate:
    snap = runtime.snapshot()
    raisings = alarm_raisings(runtime)
    waiting = set(unacknowledged(session, raisings))
    reader = snap.reader
    reader_state = ("none" if reader.get("state") == "none"
                    else "online" if reader.get("online") else "offline")
    door = snap.door
    relay = "none" if door.state == "none" else ("online" if door.link_ok else "offline")
    face = snap.face_model.state
    override = runtime.door_override()
    door_state, detail = _door(snap)
    return LiveGate(
        name=snap.gate, door=door_state, door_detail=detail, reader=reader_state, relay=relay,
        camera="fault" if "camera_fault" in snap.alarms else snap.camera.state, face=face,
        alarms=[Alarm(r, r not in waiting) for r in raisings],
        other_alarms=[a for a in snap.alarms if a not in ALARM_LABELS],
        override=override.as_dict() if override is not None else None)


def operations(runtime: Any, session: Session) -> Operations:
    live = live_gate(runtime, session) if runtime is not None else None
    here = live.name if live else None
    others = [OtherGate(g.name, g.state, g.seen_seconds_ago) for g in site_gates(session) if g.name != here]
    return Operations(live, others)
