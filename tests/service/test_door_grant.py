"""DoorGrant on its own: the door released for a granted transaction, a momentary relay failure tried
again for ~1.5 s at most, and the reader's LEDs. The relay board is the drivers' simulated board (its
failures are real driver errors); the reader is the OSDP simulator on a pseudo-terminal."""

from __future__ import annotations

import queue
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import osdp
import pytest

from drivers.backoff import Backoff
from drivers.config import DoorConfig
from drivers.door import DoorController
from drivers.readers.base import ReaderEvent, ReaderStatus
from drivers.relays.simulated import SimulatedHardware, SimulatedRelayBoard
from gate.clock import utcnow
from gate.service.controls import RetryGrant
from gate.service.db_health import DatabaseHealth
from gate.service.door_grant import RETRIES, RETRY_INTERVAL, DoorGrant
from gate.service.event_log import EventLog
from gate.service.journal import Journal
from gate.service.simrig import SimRig

RELEASE, DOOR_SENSOR, FIRE_ALARM = 0, 1, 2
TOKEN = 7


@dataclass
class Loop:
    """The runtime's side: the retries DoorGrant posts, and whether the transaction is still "open"."""

    posted: queue.SimpleQueue[RetryGrant] = field(default_factory=queue.SimpleQueue)
    open_token: int | None = TOKEN

    def still_open(self, token: int) -> bool:
        return token == self.open_token

    def next_retry(self, timeout: float = 3 * RETRY_INTERVAL) -> RetryGrant:
        return self.posted.get(timeout=timeout)


@pytest.fixture
def hardware() -> SimulatedHardware:
    hw = SimulatedHardware(outputs=4, inputs=4)
    hw.set_input(DOOR_SENSOR, True)  # closed
    hw.set_input(FIRE_ALARM, True)   # normally closed loop: no alarm
    return hw


@pytest.fixture
def door(hardware: SimulatedHardware) -> Iterator[DoorController]:
    board = SimulatedRelayBoard(hardware, backoff=Backoff(0.05, 0.2))
    config = DoorConfig(release_output=RELEASE, pulse_ms=200, door_sensor_input=DOOR_SENSOR,
                        fire_alarm_input=FIRE_ALARM)
    with DoorController(board, config) as controller:
        yield controller


def make_grant(door: DoorController | None, loop: Loop, rig: SimRig | None = None,
               on_event: list[ReaderEvent] | None = None) -> tuple[DoorGrant, EventLog]:
    events = EventLog("main", utcnow, DatabaseHealth(utcnow), Journal(Path(tempfile.mkdtemp()) / "main.jsonl"))
    reader = rig.reader_factory(on_event.append if on_event is not None else lambda e: None) if rig else None
    return DoorGrant(door, reader, events, loop.posted.put, loop.still_open), events


def failures(events: EventLog) -> list[dict[str, object]]:
    return [e for e in events.last(50) if e.get("event") == "grant_failed"]


def test_a_working_board_is_released_at_once(door: DoorController, hardware: SimulatedHardware) -> None:
    loop = Loop()
    grant, events = make_grant(door, loop)
    grant.grant(TOKEN, time.monotonic())
    assert hardware.pulses(RELEASE) == 1 and loop.posted.empty()
    assert not grant.failed(TOKEN) and not failures(events)


def test_a_board_that_fails_twice_is_released_on_the_third_try_within_the_window(
        door: DoorController, hardware: SimulatedHardware) -> None:
    loop = Loop()
    grant, events = make_grant(door, loop)
    hardware.refuse_writes = True
    started = time.monotonic()
    grant.grant(TOKEN, time.monotonic())                 # first try: refused
    grant.retry(loop.next_retry())     # second: refused
    hardware.refuse_writes = False
    grant.retry(loop.next_retry())     # third: released
    elapsed = time.monotonic() - started
    assert hardware.pulses(RELEASE) == 1
    assert 2 * RETRY_INTERVAL * 0.9 <= elapsed < RETRIES * RETRY_INTERVAL + 0.5
    assert loop.posted.empty() and not grant.failed(TOKEN) and not failures(events)


def test_a_board_that_keeps_failing_is_reported_and_the_door_is_never_released_later(
        door: DoorController, hardware: SimulatedHardware) -> None:
    loop = Loop()
    grant, events = make_grant(door, loop)
    hardware.refuse_writes = True
    grant.grant(TOKEN, time.monotonic())
    for _ in range(RETRIES):
        grant.retry(loop.next_retry())
    with pytest.raises(queue.Empty):
        loop.next_retry(timeout=2 * RETRY_INTERVAL)  # no fifth try
    assert grant.failed(TOKEN) and not grant.failed(TOKEN + 1)
    assert failures(events)[0]["detail"] == "relay board did not release"
    hardware.refuse_writes = False
    time.sleep(RETRY_INTERVAL)
    assert hardware.pulses(RELEASE) == 0 and hardware.outputs[RELEASE] is False


def test_a_retry_after_the_transaction_ended_does_not_release(door: DoorController,
                                                              hardware: SimulatedHardware) -> None:
    loop = Loop()
    grant, events = make_grant(door, loop)
    hardware.refuse_writes = True
    grant.grant(TOKEN, time.monotonic())
    retry = loop.next_retry()
    hardware.refuse_writes = False
    loop.open_token = None  # the person went away (timed out, or a new card started another transaction)
    grant.retry(retry)
    assert hardware.pulses(RELEASE) == 0 and loop.posted.empty()
    assert not grant.failed(TOKEN) and not failures(events)


def test_a_grant_that_later_works_clears_the_failure(door: DoorController, hardware: SimulatedHardware) -> None:
    loop = Loop()
    grant, _ = make_grant(door, loop)
    hardware.refuse_writes = True
    grant.grant(TOKEN, time.monotonic())
    for _ in range(RETRIES):
        grant.retry(loop.next_retry())
    assert grant.failed(TOKEN)
    hardware.refuse_writes = False
    time.sleep(0.3)  # the board's back-off after the refused writes
    loop.open_token = TOKEN + 1
    grant.grant(TOKEN + 1, time.monotonic())
    assert hardware.pulses(RELEASE) == 1 and not grant.failed(TOKEN)


def test_without_a_door_nothing_is_tried_and_nothing_fails() -> None:
    loop = Loop()
    grant, events = make_grant(None, loop)
    grant.grant(TOKEN, time.monotonic())
    assert loop.posted.empty() and not grant.failed(TOKEN) and not failures(events)


def test_the_reader_shows_green_for_a_grant_and_red_for_a_refusal() -> None:
    rig = SimRig().start()
    seen: list[ReaderEvent] = []
    grant, _ = make_grant(None, Loop(), rig, seen)
    assert grant.reader is not None and rig.reader is not None
    grant.reader.start()
    try:
        deadline = time.monotonic() + 20
        while not any(isinstance(e, ReaderStatus) and e.online for e in seen):
            assert time.monotonic() < deadline, "the simulated reader never came online"
            time.sleep(0.05)
        grant.grant(TOKEN, time.monotonic())
        led = rig.reader.wait_for_command(osdp.Command.LED)
        assert led is not None and led["on_color"] == osdp.CommandLEDColor.Green
        rig.reader.commands.clear()
        grant.refuse()
        led = rig.reader.wait_for_command(osdp.Command.LED)
        assert led is not None and led["on_color"] == osdp.CommandLEDColor.Red
    finally:
        grant.reader.stop()
        rig.stop()
