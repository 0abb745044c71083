"""Wire a GateRuntime from the configuration file (or from the simulator rig)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drivers.errors import CameraError, DriverConfigError
from gate.access.pipeline import AccessService
from gate.config import GateSection
from gate.context import GateContext, session_factory
from gate.errors import ConfigError
from gate.face.errors import FaceUnavailable
from gate.service.db_deadline import DatabaseDeadline
from gate.service.db_health import DatabaseHealth
from gate.service.event_log import EventLog
from gate.service.face_check import FaceCheck
from gate.service.heartbeat import BEAT_SECONDS, Heartbeat, state_of
from gate.service.journal import Journal, journal_path
from gate.service.offline_copy import change_watch, disk_backed_cache
from gate.service.purger import DAY_SECONDS, FOLLOW_UP_SECONDS, Purger
from gate.service.runtime import GateRuntime, Timeouts
from gate.service.self_service import SelfService
from gate.service.simrig import SimRig
from gate.service.site_watch import watch_site
from gate.store.db import make_engine, require_migrated

if TYPE_CHECKING:
    import numpy as np

    from drivers.camera import CameraDevice, PushedFeeds
    from drivers.door import DoorDevice
    from drivers.readers import ReaderDevice, ReaderEvent

    ReaderFactory = Callable[[Callable[[ReaderEvent], None]], ReaderDevice]


def timeouts_from(gate: GateSection) -> Timeouts:
    return Timeouts(claim=gate.claim_timeout, face=gate.face_timeout, refusal=gate.refusal_timeout,
                    held_open=gate.held_open_seconds)


def build_runtime(ctx: GateContext, *, rig: SimRig | None = None, timeouts: Timeouts | None = None,
                  camera: str | None = None, feeds: Any = None, face_engine: Any = "default",
                  publishers: tuple[Callable[[dict[str, Any]], None], ...] = (),
                  gate_name: str | None = None, cache_max_age: float | None = None,
                  cache_refresh_seconds: float | None = None, change_poll_seconds: float | None = None,
                  purge_interval_seconds: float = DAY_SECONDS,
                  follow_up_seconds: float = FOLLOW_UP_SECONDS,
                  heartbeat_seconds: float = BEAT_SECONDS) -> GateRuntime:
    section = ctx.settings.gate
    name = gate_name or section.name
    timeouts = timeouts or timeouts_from(section)
    from gate.store.schedules import SiteRules

    timezone = ctx.settings.site.timezone
    journal = Journal(journal_path(ctx.settings.data_dir, name))
    events = EventLog(name, ctx.clock, DatabaseHealth(ctx.clock), journal, publishers)
    # Decisions get their own engine with short waits (fast offline); the web UI keeps ctx.engine.
    decision_engine = make_engine(ctx.settings.database_url, decision_path=True)
    decision_sessions = session_factory(decision_engine, ctx.settings)
    # The loop's database work runs on a worker within this deadline; a late commit is refused.
    deadline = DatabaseDeadline(section.decision_deadline_ms / 1000)
    deadline.veto_late_commits(decision_sessions)
    # Read at each decision: a site-wide change made at another gate applies here without a restart.
    access = AccessService(decision_sessions, lambda: ctx.settings, deadline.hasher(ctx.hasher), ctx.clock,
                           recorder=events,
                           shared_clock=ctx.shared_clock)
    access.rules = SiteRules(timezone)
    # Saved to the gate's disk after each refresh, and read back from there at start (offline_copy.py).
    cache = disk_backed_cache(ctx.settings, ctx.hasher, name, cache_max_age or section.offline_cache_hours * 3600,
                              ctx.clock())

    if rig is not None and feeds is None:
        feeds = rig.feeds
    # A configured camera wins, also when simulating (e.g. `folder:PATH` as the simulated camera);
    # otherwise the simulator's pushed feed, which the /sim page fills.
    configured = ctx.settings.camera.source
    camera_spec = camera if camera is not None else (configured or (rig.camera_spec if rig is not None else None))
    camera_factory = _camera_factory(camera_spec, min(5.0, timeouts.face), feeds) if camera_spec else None

    if face_engine == "default":
        from gate.face.engine import FaceEngine

        face_engine = FaceEngine.from_settings(ctx.settings)  # [face] engine; the graph cached in the data folder

    runtime_box: list[GateRuntime] = []

    def on_camera(on: bool) -> None:
        if runtime_box:
            runtime_box[0].set_camera(on)

    def on_alarm(name: str, on: bool) -> None:
        if runtime_box:
            runtime_box[0].set_alarm(name, on)

    face = FaceCheck(ctx.sessions, ctx.store, camera_factory, face_engine, on_camera, on_alarm)

    door: Any = None
    reader_factory: ReaderFactory | None = None
    if rig is not None:
        door = rig.make_door()
        reader_factory = rig.reader_factory
    else:
        door, reader_factory = _devices_from_config(ctx)

    # The web UI's engine, not the decision engine: its short lock waits are for decisions, and a
    # purge may take longer.
    purger = Purger(ctx.upkeep(), lambda: ctx.settings.template_retention_days, ctx.site_now,
                    interval_seconds=purge_interval_seconds,
                    follow_up_seconds=min(purge_interval_seconds, follow_up_seconds),
                    forbid_minors=lambda: ctx.settings.forbid_face_for_minors, timezone=ctx.settings.site.timezone,
                    visitor_days=lambda: ctx.settings.retention.visitor_days)
    self_service = (SelfService(name, access, ctx.store, events.database, ctx.clock, deadline)
                    if ctx.settings.privacy.kiosk_self_service else None)
    runtime = GateRuntime(name, access, events, door=door, reader_factory=reader_factory, face=face, cache=cache,
                          timeouts=timeouts, clock=ctx.clock,
                          cache_refresh_seconds=cache_refresh_seconds or section.cache_refresh_seconds,
                          purger=purger, self_service=self_service, deadline=deadline,
                          grant_window_ms=section.grant_window_ms,
                          refuse_remote_in_fire_alarm=section.refuse_remote_in_fire_alarm)
    runtime_box.append(runtime)
    watch_site(ctx, runtime)
    # Revocations reach the offline copy within seconds (copy_watch.py), off the loop.
    # On the patient engine: it runs off the loop, and a 10,000-resident read may pass the decision wait.
    watch = change_watch(cache, ctx.sessions, name, ctx.clock, events.database,
                         change_poll_seconds or section.change_poll_seconds)
    runtime.extras["copy_watch"] = watch
    runtime.on_start(watch.start)
    runtime.on_stop(watch.stop)
    if ctx.schema_unchecked:  # started while the database was away: check the schema before joining
        runtime.decider.schema_check = lambda: require_migrated(decision_engine, ctx.settings.data_dir)
    # Claims the gate's name before any device starts: a second process for the same gate refuses here.
    # A gate that has not yet checked the schema (or refused it) writes no heartbeat into it either.
    heartbeat = Heartbeat(decision_sessions, name, ctx.clock, state_of(runtime.snapshot), interval=heartbeat_seconds,
                          may_write=lambda: runtime.decider.schema_check is None)
    heartbeat.claim()
    runtime.extras["heartbeat"] = heartbeat.start()
    runtime.on_stop(heartbeat.stop)
    runtime.on_stop(decision_engine.dispose)
    if rig is not None:
        runtime.extras["rig"] = rig
    if feeds is not None:
        runtime.extras["feeds"] = feeds
    return runtime


def _devices_from_config(ctx: GateContext) -> tuple[DoorDevice | None, ReaderFactory | None]:
    """The door and reader the [relay] and [reader] sections describe (parsed and checked when the
    settings loaded). The drivers' own errors become the gate's ConfigError here, so `gate serve`
    prints the one sentence."""
    door: DoorDevice | None = None
    reader_factory: ReaderFactory | None = None
    try:
        relay = ctx.settings.relay
        if relay is not None:
            from drivers.door import DoorController
            from drivers.relays import make_board

            door = DoorController(make_board(relay), relay.door)
        reader_config = ctx.settings.reader
        if reader_config is not None:
            from drivers.readers import make_reader

            def reader_factory(on_event: Callable[[ReaderEvent], None]) -> ReaderDevice:
                try:
                    return make_reader(reader_config, on_event)
                except DriverConfigError as err:
                    raise ConfigError(str(err)) from err
    except DriverConfigError as err:
        raise ConfigError(str(err)) from err
    return door, reader_factory


def _camera_factory(spec: str, timeout: float, feeds: PushedFeeds | None) -> Callable[[], GateCamera]:
    def camera_factory() -> GateCamera:
        from drivers.camera import open_camera

        try:
            return GateCamera(open_camera(spec, timeout=timeout, feeds=feeds))
        except DriverConfigError as err:
            raise ConfigError(str(err)) from err

    return camera_factory


class GateCamera:
    """A driver camera as the face check uses it: whatever stops the camera is FaceUnavailable
    (card and PIN are offered), with the driver's message."""

    def __init__(self, camera: CameraDevice) -> None:
        self.camera = camera

    def __enter__(self) -> GateCamera:
        try:
            self.camera.__enter__()
        except CameraError as err:
            raise FaceUnavailable(str(err)) from err
        return self

    def __exit__(self, *exc: object) -> None:
        self.camera.__exit__(*exc)

    def read(self) -> np.ndarray:
        try:
            return self.camera.read()
        except CameraError as err:
            raise FaceUnavailable(str(err)) from err

    def burst(self, count: int, spacing: float = 0.0) -> list[np.ndarray]:
        try:
            return self.camera.burst(count, spacing)
        except CameraError as err:
            raise FaceUnavailable(str(err)) from err
