"""Prometheus metrics of one gate, in a registry the runtime owns (never the library's global one).

Counters and histograms are fed where decisions are taken (`Decider`) and face checks run
(`FaceRunner`). Gauges are read from the runtime's typed snapshot when a scraper asks
(`StatusCollector`), so nothing polls and a scrape sees the same state /health would.

Every label value comes from a fixed set: the gate's configured name, a `Method`, a `Reason`, a
`FaceOutcome`, a door state, a device kind or an alarm name. Never a resident, card, PIN or name
(`docs/metrics.md`; tests/service/test_metrics.py scrapes after real decisions and checks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from gate.core.decision import Decision, FaceOutcome, Reason
from gate.core.policy import Method
from gate.store.models import FaceTemplate

if TYPE_CHECKING:  # status imports event_log, which the decider imports: only the type is needed here
    from gate.service.status import Snapshot

log = logging.getLogger("gate.service.metrics")

#: Card ~60 ms, PIN ~0.7 s (argon2id), offline a few ms; the top buckets catch a slow database.
DECISION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Camera burst plus 1:1 comparison: ~0.5 s, up to the face timeout.
FACE_BUCKETS = (0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0, 30.0)
#: drivers.door.DoorSnapshot.state, plus the snapshot's "error" (the driver raised).
DOOR_STATES = ("locked", "pulsed", "held", "release_pending", "unknown", "error")
#: Every alarm the runtime raises (docs/service.md, "Alarms"), so each has a series even while clear.
ALARMS = ("relay_offline", "reader_offline", "database_offline", "camera_fault", "face_model_unavailable",
          "key_file_fault", "site_key", "door_held_open", "door_forced", "fire_alarm")


class GateMetrics:
    """One gate's metrics. `registry` is what /metrics serves."""

    def __init__(self, gate_name: str) -> None:
        self.gate = gate_name
        self.registry = CollectorRegistry()
        self._decisions = Counter(
            "gate_decisions", "Access decisions recorded, by way in, outcome and reason (a fixed set).",
            ["gate", "method", "outcome", "reason"], registry=self.registry)
        self._decision_seconds = Histogram(
            "gate_decision_seconds", "Time from a complete claim (card, code and PIN, or face result) to the "
            "decision, database or offline copy included.", ["gate", "method"], buckets=DECISION_BUCKETS,
            registry=self.registry)
        self._face_seconds = Histogram(
            "gate_face_verification_seconds", "One face attempt on the face worker: template, camera burst "
            "and 1:1 comparison.", ["gate", "outcome"], buckets=FACE_BUCKETS, registry=self.registry)

    def decision(self, method: Method, decision: Decision, seconds: float) -> None:
        # Method(...) and Reason(...) raise on anything outside the enums: no free text becomes a label.
        outcome = "granted" if decision.granted else "refused"
        self._decisions.labels(self.gate, Method(method).value, outcome, Reason(decision.reason).value).inc()
        self._decision_seconds.labels(self.gate, Method(method).value).observe(seconds)

    def face_verification(self, outcome: FaceOutcome, seconds: float) -> None:
        self._face_seconds.labels(self.gate, FaceOutcome(outcome).value).observe(seconds)

    def watch(self, snapshot: Callable[[], Snapshot], face_population: Callable[[], int | None]) -> None:
        """Read the gauges from `snapshot()` (and the template count) at each scrape."""
        self.registry.register(StatusCollector(self.gate, snapshot, face_population))


def count_templates(sessions: sessionmaker[Session]) -> int | None:
    """How many face templates are stored (the face population); None when the database does not answer."""
    try:
        with sessions() as session:
            return int(session.scalar(select(func.count(FaceTemplate.id))) or 0)
    except SQLAlchemyError as err:
        log.info("metrics: the face templates could not be counted: %s", err)
        return None


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=["gate", *labels])


class StatusCollector(Collector):
    """Gauges from the runtime's snapshot, computed when scraped."""

    def __init__(self, gate: str, snapshot: Callable[[], Snapshot], face_population: Callable[[], int | None]) -> None:
        self.gate = gate
        self.snapshot = snapshot
        self.face_population = face_population

    def describe(self) -> Iterable[Metric]:
        # The names only, so registering does not take a snapshot nor ask the database.
        return self._families()

    def _families(self) -> list[GaugeMetricFamily]:
        return [
            _gauge("gate_up", "1 while the gate's loop runs."),
            _gauge("gate_door_state", "1 for the door's current state (drivers.door), 0 for the others.",
                   ["state"]),
            _gauge("gate_door_open", "1 while the door contact reports the door open (gates with a door sensor)."),
            _gauge("gate_device_up", "1 while the device's link is up: reader, relay board, camera, database.",
                   ["device"]),
            _gauge("gate_alarm", "1 while the alarm is raised (docs/service.md, Alarms).", ["alarm"]),
            _gauge("gate_way_degraded", "1 while an alarm takes away or weakens this way in of the gate's policy.",
                   ["way"]),
            _gauge("gate_offline_journal_events", "Events taken while the database was away, not yet replayed."),
            _gauge("gate_offline_cache_age_seconds", "Age of the offline copy card and PIN fall back on."),
            _gauge("gate_face_templates", "Face templates stored (the face population); absent while the "
                                          "database is away."),
        ]

    def collect(self) -> Iterable[Metric]:
        snap = self.snapshot()
        (up, door_state, door_open, device_up, alarm, degraded, journal, cache_age,
         templates) = families = self._families()
        gate = self.gate
        up.add_metric([gate], 1.0 if snap.running else 0.0)
        door = snap.door
        if door.state != "none":
            state = door.state if door.state in DOOR_STATES else "unknown"
            for name in DOOR_STATES:
                door_state.add_metric([gate, name], 1.0 if name == state else 0.0)
            device_up.add_metric([gate, "relay"], 1.0 if door.link_ok else 0.0)
            if door.door_open is not None:
                door_open.add_metric([gate], 1.0 if door.door_open else 0.0)
        if snap.reader.get("state") != "none":
            device_up.add_metric([gate, "reader"], 1.0 if snap.reader.get("online") is True else 0.0)
        if snap.camera.state != "none":
            device_up.add_metric([gate, "camera"], 0.0 if "camera_fault" in snap.alarms else 1.0)
        device_up.add_metric([gate, "database"], 1.0 if snap.database.ok else 0.0)
        for name in sorted({*ALARMS, *snap.alarms}):
            alarm.add_metric([gate, name], 1.0 if name in snap.alarms else 0.0)
        for way in Method:
            degraded.add_metric([gate, way.value], 1.0 if way.value in snap.degraded else 0.0)
        journal.add_metric([gate], float(snap.database.pending_events))
        if snap.database.cache_age_seconds is not None:
            cache_age.add_metric([gate], snap.database.cache_age_seconds)
        if snap.database.ok:  # the circuit is open: do not ask a database known to be away
            count = self.face_population()
            if count is not None:
                templates.add_metric([gate], float(count))
        return families
