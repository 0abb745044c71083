"""Wire a GateRuntime from the configuration file (or from the simulator rig)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gate.config import GateSection
from gate.context import GateContext
from gate.access.offline import OfflineCache
from gate.service.face_check import FaceCheck
from gate.service.runtime import GateRuntime, Timeouts
from gate.service.simrig import SimRig


def timeouts_from(gate: GateSection) -> Timeouts:
    return Timeouts(claim=gate.claim_timeout, face=gate.face_timeout, refusal=gate.refusal_timeout,
                    held_open=gate.held_open_seconds)


def build_runtime(ctx: GateContext, *, rig: SimRig | None = None, timeouts: Timeouts | None = None,
                  camera: str | None = None, feeds: Any = None, face_engine: Any = "default",
                  publishers: tuple[Callable[[dict[str, Any]], None], ...] = (),
                  gate_name: str | None = None, cache_max_age: float | None = None,
                  cache_refresh_seconds: float | None = None) -> GateRuntime:
    section = ctx.settings.gate
    name = gate_name or section.name
    timeouts = timeouts or timeouts_from(section)
    from zoneinfo import ZoneInfo

    from gate.store.schedules import SiteRules, schedule_checker

    timezone = ctx.settings.site.timezone
    access = ctx.access()
    access.rules = SiteRules(timezone)
    zone = ZoneInfo(timezone)
    cache = OfflineCache(ctx.settings, ctx.hasher,
                         max_age_seconds=cache_max_age or section.offline_cache_hours * 3600,
                         schedule_for=lambda session, resident: schedule_checker(session, resident, zone))

    if rig is not None and feeds is None:
        feeds = rig.feeds
    # A configured camera wins, also when simulating (e.g. `folder:PATH` as the simulated camera);
    # otherwise the simulator's pushed feed, which the /sim page fills.
    configured = ctx.settings.camera.source
    camera_spec = camera if camera is not None else (configured or (rig.camera_spec if rig is not None else None))
    camera_factory = None
    if camera_spec:
        from drivers.camera import open_camera

        def camera_factory() -> Any:
            return open_camera(camera_spec, timeout=min(5.0, timeouts.face), feeds=feeds)

    if face_engine == "default":
        from gate.face.engine import FaceEngine

        face_engine = FaceEngine()

    runtime_box: list[GateRuntime] = []

    def on_camera(on: bool) -> None:
        if runtime_box:
            runtime_box[0]._set_camera(on)

    face = FaceCheck(ctx.sessions, ctx.store, camera_factory, face_engine, on_camera)

    door: Any = None
    reader_factory = None
    if rig is not None:
        door = rig.make_door()
        reader_factory = rig.reader_factory
    else:
        door, reader_factory = _devices_from_config(ctx)

    runtime = GateRuntime(name, access, door=door, reader_factory=reader_factory, face=face, cache=cache,
                          timeouts=timeouts, clock=ctx.clock, publishers=publishers,
                          cache_refresh_seconds=cache_refresh_seconds or section.cache_refresh_seconds)
    runtime_box.append(runtime)
    if rig is not None:
        runtime.extras["rig"] = rig
    if feeds is not None:
        runtime.extras["feeds"] = feeds
    return runtime


def _devices_from_config(ctx: GateContext) -> tuple[Any, Any]:
    door = reader_factory = None
    relay = ctx.settings.relay  # [relay] and [reader] were parsed and checked when the settings loaded
    if relay is not None:
        from drivers.door import DoorController
        from drivers.relays import make_board

        door = DoorController(make_board(relay), relay.door)
    reader_config = ctx.settings.reader
    if reader_config is not None:
        from drivers.readers import make_reader

        def reader_factory(on_event: Any) -> Any:
            return make_reader(reader_config, on_event)

    return door, reader_factory
