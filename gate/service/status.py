"""The gate service's status snapshot, typed; `as_dict()` is the JSON that /health and `gate status` read.

Never a PIN, a card number or a face: events carry the internal resident id only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from drivers.door import DoorDevice
from drivers.readers.base import ReaderDevice
from gate.access.offline import OfflineCache
from gate.core import machine as m
from gate.core.policy import Method
from gate.service import kiosk_text, self_service_text
from gate.service.db_health import DatabaseHealth
from gate.service.event_log import EventEntry, EventLog

if TYPE_CHECKING:  # face_check reports through the types above: importing it at run time would be circular
    from gate.service.face_check import FaceCheck


@dataclass(frozen=True)
class DatabaseStatus:
    ok: bool
    error: str | None
    offline_since: str | None
    cache_age_seconds: float | None
    decisions_from_cache: bool
    pending_events: int
    #: Set when the database answers but the gate refuses its schema (started during an outage, then the
    #: database came back at a migration this code refuses): the gate stays on its offline copy.
    refused: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "error": self.error, "offline_since": self.offline_since,
                "cache_age_seconds": self.cache_age_seconds, "decisions_from_cache": self.decisions_from_cache,
                "pending_events": self.pending_events, "refused": self.refused}


@dataclass(frozen=True)
class DoorStatus:
    """`state` is "none" (no door), "error" (with `detail`), or the controller's state with the rest."""

    state: str
    detail: str | None = None
    link_ok: bool | None = None
    fault: str | None = None
    fire_alarm: bool | None = None
    door_open: bool | None = None
    mode: str | None = None
    failure_mode: str | None = None
    inputs: tuple[bool, ...] = ()
    outputs: tuple[bool | None, ...] = ()
    holds: tuple[str, ...] = ()
    #: "board" or "host": who ends a door-open pulse (drivers.door.DoorSnapshot).
    pulse_timing: str | None = None
    #: Why the state is "unknown" or "release_pending" rather than "locked".
    state_reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        if self.state == "none":
            return {"state": "none"}
        if self.state == "error":
            return {"state": "error", "detail": self.detail}
        return {"state": self.state, "state_reason": self.state_reason, "pulse_timing": self.pulse_timing,
                "link_ok": self.link_ok, "fault": self.fault, "fire_alarm": self.fire_alarm,
                "door_open": self.door_open, "mode": self.mode, "failure_mode": self.failure_mode,
                "inputs": list(self.inputs), "outputs": list(self.outputs), "holds": list(self.holds)}


@dataclass(frozen=True)
class CameraStatus:
    """`state` is "none" (no face on this gate), "on" or "off" with the camera counters."""

    state: str
    opens: int = 0
    frames_read: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict[str, object]:
        if self.state == "none":
            return {"state": "none"}
        return {"state": self.state, "opens": self.opens, "frames_read": self.frames_read,
                "last_error": self.last_error}


@dataclass(frozen=True)
class FaceModelStatus:
    """`state`: "disabled", "loading", "ready" (with `version` and `engine`) or "unavailable" (with
    `detail`). `engine` is the encoder's runtime in use ("onnx" or "dlib"); `engine_fallback` says why
    it is dlib when onnx was asked for."""

    state: str
    version: str | None = None
    detail: str | None = None
    engine: str | None = None
    engine_fallback: str | None = None

    def as_dict(self) -> dict[str, object]:
        shown: dict[str, object] = {"state": self.state}
        if self.version is not None:
            shown["version"] = self.version
        if self.engine is not None:
            shown["engine"] = self.engine
        if self.engine_fallback is not None:
            shown["engine_fallback"] = self.engine_fallback
        if self.detail is not None:
            shown["detail"] = self.detail
        return shown


@dataclass(frozen=True)
class Snapshot:
    """What /health, the kiosk page and `gate status` show."""

    gate: str
    running: bool
    phase: str
    offered: list[str]
    camera_on: bool
    message: str
    reason: str | None
    granted: bool | None
    database: DatabaseStatus
    door: DoorStatus
    reader: dict[str, object]  # the reader driver's own health (its fields depend on the backend)
    camera: CameraStatus
    face_model: FaceModelStatus
    last_events: list[EventEntry]
    alarms: list[str]
    transaction: int
    degraded: list[str] = field(default_factory=list)  # the ways in this gate offers that an alarm affects
    self_service: bool = False  # the screen offers "My face data" now ([privacy] kiosk_self_service)
    receipt: int | None = None  # the deletion receipt on screen after a resident's own deletion
    # For the kiosk only (not in as_dict): its lines to translate, what the chosen way was, the gate's
    # methods and what face starts with, the masked name of a grant, and how many times the camera was
    # switched on (so the screen shows the indicator even for an opening shorter than one push).
    screen: tuple[kiosk_text.Text, ...] = ()
    intent: str | None = None
    methods: list[str] = field(default_factory=list)
    face_claims: list[str] = field(default_factory=list)
    greeting: str | None = None
    camera_uses: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"gate": self.gate, "running": self.running, "phase": self.phase, "offered": list(self.offered),
                "camera_on": self.camera_on, "message": self.message, "reason": self.reason,
                "granted": self.granted, "database": self.database.as_dict(), "door": self.door.as_dict(),
                "reader": dict(self.reader), "camera": self.camera.as_dict(), "face_model": self.face_model.as_dict(),
                "last_events": [dict(e) for e in self.last_events], "alarms": list(self.alarms),
                "transaction": self.transaction, "degraded": list(self.degraded),
                "self_service": self.self_service, "receipt": self.receipt}


def door_status(door: DoorDevice | None) -> DoorStatus:
    if door is None:
        return DoorStatus("none")
    try:
        snap = door.snapshot()
    except Exception as err:  # noqa: BLE001 - a broken driver shows as an error, never breaks /health
        return DoorStatus("error", detail=str(err))
    return DoorStatus(snap.state, link_ok=snap.link_ok, fault=snap.fault, fire_alarm=snap.fire_alarm,
                      door_open=snap.door_open, mode=snap.mode, failure_mode=snap.failure_mode,
                      inputs=tuple(snap.inputs), outputs=tuple(snap.board.commanded), holds=tuple(snap.holds),
                      pulse_timing=snap.pulse_timing, state_reason=snap.state_reason)


def reader_status(reader: ReaderDevice | None) -> dict[str, object]:
    if reader is None:
        return {"state": "none"}
    try:
        health = reader.health()
    except Exception as err:  # noqa: BLE001 - a broken driver shows as an error, never breaks /health
        return {"state": "error", "detail": str(err)}
    return {k: v for k, v in vars(health).items() if not k.startswith("_")}


def database_status(database: DatabaseHealth, cache: OfflineCache | None, pending_events: int,
                    now: datetime) -> DatabaseStatus:
    since = database.offline_since
    return DatabaseStatus(ok=database.ok, error=database.error, offline_since=since.isoformat() if since else None,
                          cache_age_seconds=cache.age(now) if cache else None,
                          decisions_from_cache=not database.ok and bool(cache and cache.usable(now)),
                          pending_events=pending_events, refused=database.refused)


_FACE = frozenset({Method.FACE, Method.CARD_FACE})
_CARD = frozenset({Method.CARD, Method.CARD_PIN, Method.CARD_FACE})
#: Which ways in each alarm takes away or weakens (docs/service.md, "Degraded"). The door alarms
#: (held open, forced) are about the door, not about getting in, and degrade nothing.
AFFECTS: dict[str, frozenset[Method]] = {
    "relay_offline": frozenset(Method),
    "reader_offline": _CARD,
    "database_offline": _FACE,
    "camera_fault": _FACE,
    "face_model_unavailable": _FACE,
    "key_file_fault": _FACE,
    "site_key": _FACE,
    # The stored policy runs without face (A1): only face ways could be hit, and the gate no longer offers them.
    "policy_invalid": _FACE,
}


def degraded_ways(alarms: set[str], methods: frozenset[Method], decisions_from_cache: bool) -> list[str]:
    """The ways in the gate offers that the alarms affect; empty when all is well."""
    hit: set[Method] = set()
    for alarm in alarms:
        hit |= AFFECTS.get(alarm, frozenset())
    if "database_offline" in alarms and not decisions_from_cache:
        hit |= frozenset(Method)  # no usable offline copy: card and PIN are refused too
    return sorted(method.value for method in hit & methods)


@dataclass(frozen=True)
class GateView:
    """What the runtime hands over for one snapshot, read once so that its parts agree."""

    gate: str
    running: bool
    state: m.State
    rules: m.Rules
    alarms: frozenset[str]
    camera_on: bool
    challenge: str | None
    door_failed: bool
    now: datetime
    challenge_line: kiosk_text.Text | None = None
    camera_uses: int = 0


def assemble(view: GateView, *, events: EventLog, cache: OfflineCache | None, door: DoorDevice | None,
             reader: ReaderDevice | None, face: FaceCheck | None) -> Snapshot:
    state, decision = view.state, view.state.decision
    alarms = set(view.alarms)
    offered = m.offered(state, view.rules)
    database = events.database
    if not database.ok:
        offered = [w for w in offered if w != "face"]  # face is offered again once the database is back
        alarms.add("database_offline")
    face_claims = m.face_claims(view.rules)
    if state.phase.self_service:
        message = self_service_text.message(state)
        screen = self_service_text.lines(state)
    else:
        message = kiosk_text.kiosk_message(state.phase, decision, challenge=view.challenge,
                                           door_failed=view.door_failed)
        screen = kiosk_text.screen_lines(state, face_claims, door_failed=view.door_failed,
                                         challenge=view.challenge_line)
    db_status = database_status(database, cache, events.pending_count, view.now)
    return Snapshot(
        gate=view.gate, running=view.running, phase=state.phase.value, offered=offered,
        camera_on=view.camera_on, message=message,
        reason=decision.reason.value if decision else None, granted=decision.granted if decision else None,
        database=db_status,
        door=door_status(door), reader=reader_status(reader),
        camera=face.camera_status(view.camera_on) if face else CameraStatus("none"),
        face_model=face.model_state() if face else FaceModelStatus("disabled"),
        last_events=events.last(20), alarms=sorted(alarms), transaction=state.token,
        degraded=degraded_ways(alarms, view.rules.methods, db_status.decisions_from_cache),
        # Deleting needs the database: the action is not offered while it is away.
        self_service=m.self_service_offered(state, view.rules) and database.ok,
        receipt=state.receipt if state.phase is m.Phase.SELF_DONE else None,
        screen=screen, intent=state.intent, methods=[way.value for way in Method if way in view.rules.methods],
        face_claims=face_claims, greeting=decision.greeting if decision is not None and decision.granted else None,
        camera_uses=view.camera_uses,
    )
