"""Card-to-relay latency against the simulators: the number ``gate bench`` reports.

Measured from the moment the simulated reader hands the card to its protocol stack (libosdp
PD ``submit_event``, or the line reader's write) to the moment the simulated Modbus board
sees the FC05 "coil on" request, through the real drivers and DoorController, all over
pseudo-terminals.  Everything runs in one process, so both stamps use one clock.
"""

from __future__ import annotations

import statistics
import threading
import time

from drivers.config import parse_reader, parse_relay
from drivers.door import DoorController
from drivers.readers import CardRead, make_reader
from drivers.relays import make_board
from drivers.sim.rig import SimRig


def card_to_relay(n: int = 50, reader: str = "osdp") -> dict:
    """Median and 99th percentile (ms) of ``n`` card reads, each granted by a yes-to-all policy."""
    if n < 1:
        raise ValueError("n must be at least 1")
    if reader not in ("osdp", "line"):
        raise ValueError("reader must be 'osdp' or 'line'")
    devices = ("relay", "reader") if reader == "osdp" else ("relay", "line")
    samples: list[float] = []
    with SimRig(devices) as rig:
        relay_cfg = parse_relay(rig.relay_config(pulse_ms=20))
        if reader == "osdp":
            reader_cfg = parse_reader(rig.reader_config())
        else:
            reader_cfg = parse_reader({"backend": "line", "port": rig.port("line")})
        online = threading.Event()
        door = DoorController(make_board(relay_cfg), relay_cfg.door)

        def on_event(event) -> None:
            if isinstance(event, CardRead):
                door.grant("bench")
            elif getattr(event, "online", False):
                online.set()

        drv = make_reader(reader_cfg, on_event)
        assert rig.relay is not None
        with door, drv:
            if not online.wait(20):
                raise RuntimeError("simulated reader did not come online")
            for i in range(n):
                before = len(rig.relay.writes(0))
                if reader == "osdp":
                    assert rig.reader is not None
                    rig.reader.present_card(str(1000 + i))
                    started = rig.reader.last_card_at
                else:
                    assert rig.line is not None
                    rig.line.present(str(1000 + i))
                    started = rig.line.last_sent_at
                if not _wait(lambda: len(rig.relay.writes(0)) >= before + 2, 10):
                    raise RuntimeError(f"card {i} did not pulse the relay")
                on = rig.relay.writes(0)[before]
                samples.append((on.at - started) * 1000)
    samples.sort()
    p99 = samples[min(len(samples) - 1, max(0, round(0.99 * len(samples)) - 1))]
    return {
        "median_ms": round(statistics.median(samples), 2),
        "p99_ms": round(p99, 2),
        "n": n,
        "reader": reader,
        "min_ms": round(samples[0], 2),
        "max_ms": round(samples[-1], 2),
    }


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    gate = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        gate.wait(0.002)
    return True
