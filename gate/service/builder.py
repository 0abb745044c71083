"""Wire a GateRuntime from the configuration file (or from the simulator rig)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gate.context import GateContext
from gate.errors import ConfigError
from gate.access.offline import OfflineCache
from gate.service.db_health import DatabaseHealth
from gate.service.event_log import EventLog
from gate.service.face_check import FaceCheck
from gate.service.runtime import GateRuntime, Timeouts
from gate.service.simrig import SimRig


def gate_section(ctx: GateContext) -> dict[str, Any]:
    section = ctx.settings.section("gate")
    known = {"name", "claim_timeout", "face_timeout", "refusal_timeout", "held_open_seconds",
             "offline_cache_hours", "cache_refresh_seconds", "kiosk_clients"}
    unknown = set(section) - known
    if unknown:
        raise ConfigError(f"[gate] has unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(known))}")
    return section


def timeouts_from(section: dict[str, Any]) -> Timeouts:
    return Timeouts(claim=float(section.get("claim_timeout", 20)), face=float(section.get("face_timeout", 15)),
                    refusal=float(section.get("refusal_timeout", 8)),
                    held_open=float(section.get("held_open_seconds", 30)))


def build_runtime(ctx: GateContext, *, rig: SimRig | None = None, timeouts: Timeouts | None = None,
                  camera: str | None = None, feeds: Any = None, face_engine: Any = "default",
                  publishers: tuple[Callable[[dict[str, Any]], None], ...] = (),
                  gate_name: str | None = None, cache_max_age: float | None = None,
                  cache_refresh_seconds: float | None = None) -> GateRuntime:
    section = gate_section(ctx)
    name = gate_name or section.get("name", "main")
    timeouts = timeouts or timeouts_from(section)
    from zoneinfo import ZoneInfo

    from gate.store.schedules import SiteRules, schedule_checker

    timezone = str(ctx.settings.section("site").get("timezone", "UTC"))
    events = EventLog(name, ctx.clock, DatabaseHealth(ctx.clock), publishers)
    access = ctx.access(recorder=events)
    access.rules = SiteRules(timezone)
    zone = ZoneInfo(timezone)
    cache = OfflineCache(ctx.settings, ctx.hasher,
                         max_age_seconds=cache_max_age or float(section.get("offline_cache_hours", 24)) * 3600,
                         schedule_for=lambda session, resident: schedule_checker(session, resident, zone))

    if rig is not None and feeds is None:
        feeds = rig.feeds
    # A configured camera wins, also when simulating (e.g. `folder:PATH` as the simulated camera);
    # otherwise the simulator's pushed feed, which the /sim page fills.
    configured = ctx.settings.section("camera").get("source")
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
            runtime_box[0].set_camera(on)

    face = FaceCheck(ctx.sessions, ctx.store, camera_factory, face_engine, on_camera)

    door: Any = None
    reader_factory = None
    if rig is not None:
        door = rig.make_door()
        reader_factory = rig.reader_factory
    else:
        door, reader_factory = _devices_from_config(ctx)

    runtime = GateRuntime(name, access, events, door=door, reader_factory=reader_factory, face=face, cache=cache,
                          timeouts=timeouts, clock=ctx.clock,
                          cache_refresh_seconds=cache_refresh_seconds or float(section.get("cache_refresh_seconds", 60)))
    runtime_box.append(runtime)
    if rig is not None:
        runtime.extras["rig"] = rig
    if feeds is not None:
        runtime.extras["feeds"] = feeds
    return runtime


def _devices_from_config(ctx: GateContext) -> tuple[Any, Any]:
    from drivers.config import parse_reader, parse_relay

    door = reader_factory = None
    relay_section = ctx.settings.section("relay")
    if relay_section:
        from drivers.door import DoorController
        from drivers.relays import make_board

        relay = parse_relay(relay_section)
        door = DoorController(make_board(relay), relay.door)
    reader_section = ctx.settings.section("reader")
    if reader_section:
        from drivers.readers import make_reader

        reader_config = parse_reader(reader_section, base_dir=ctx.settings.data_dir)

        def reader_factory(on_event: Any) -> Any:
            return make_reader(reader_config, on_event)

    return door, reader_factory
