"""The simulated hardware of `gate serve --simulate`, the tests and `gate bench gate`.

Every device is the drivers' simulator on the far side of a pseudo-terminal cable, and the gate talks
to it with its real driver: Modbus RTU to the relay board, OSDP (secure channel) to the reader. The
camera is the drivers' in-memory "pushed" feed (the simulator page presents a photo) or an image
folder. Inputs of the simulated board: 0 door sensor (closed = on), 1 exit button, 2 fire alarm loop
(normally closed: on = no alarm), 3 passage sensor.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from drivers.backoff import Backoff
from drivers.camera import PushedFeeds
from drivers.config import DoorConfig
from drivers.door import DoorController
from drivers.readers.osdp import OsdpReader
from drivers.relays.modbus import ModbusRelayBoard
from drivers.sim.modbus_board import SimModbusBoard
from drivers.sim.osdp_reader import SimOsdpReader
from drivers.sim.wire import PtyWire

DOOR_SENSOR, EXIT_BUTTON, FIRE_ALARM, PASSAGE = 0, 1, 2, 3
RELEASE = 0
INPUT_NAMES = {DOOR_SENSOR: "door sensor (on = closed)", EXIT_BUTTON: "exit button",
               FIRE_ALARM: "fire-alarm loop (on = normal)", PASSAGE: "passage sensor"}


@dataclass
class SimRig:
    """The far side of the cables. Start it before the gate's drivers; stop it after them."""

    mode: str = "door"
    pulse_ms: int = 3000
    passage_window_ms: int = 5000
    poll_ms: int = 50
    key: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    board_wire: PtyWire | None = None
    reader_wire: PtyWire | None = None
    board: SimModbusBoard | None = None
    reader: SimOsdpReader | None = None
    #: The virtual camera: whatever photo is "held up" is pushed as frames at ~30 fps.
    feeds: PushedFeeds = field(default_factory=PushedFeeds)
    camera_name: str = "gate"
    _photo: Any = None
    _photo_label: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _feeder: threading.Thread | None = None

    @property
    def camera_spec(self) -> str:
        return f"pushed:{self.camera_name}"

    def show_photo(self, rgb: Any, label: str = "photo") -> None:
        """Hold a photo up to the virtual camera (None takes it away)."""
        self._photo, self._photo_label = rgb, (label if rgb is not None else None)

    @property
    def photo_label(self) -> str | None:
        return self._photo_label

    def _feed(self) -> None:
        feed = self.feeds.feed(self.camera_name)
        while not self._stop.wait(1 / 30):
            photo = self._photo
            if photo is not None:
                feed.push(photo)

    def start(self) -> SimRig:
        self._feeder = threading.Thread(target=self._feed, name="sim-camera", daemon=True)
        self._feeder.start()
        self.board_wire = PtyWire("relay")
        self.reader_wire = PtyWire("reader")
        self.board = SimModbusBoard(self.board_wire.device_path).start()
        self.board.set_input(DOOR_SENSOR, True)
        self.board.set_input(FIRE_ALARM, True)
        self.reader = SimOsdpReader(self.reader_wire.device_path, key=self.key).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for part in (self.reader, self.board):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: BLE001 - best effort at shutdown
                    pass
        for wire in (self.reader_wire, self.board_wire):
            if wire is not None:
                wire.close()

    # -- the gate's side ------------------------------------------------------------------------
    def door_config(self) -> DoorConfig:
        return DoorConfig(mode=self.mode, failure_mode="secure", release_output=RELEASE, pulse_ms=self.pulse_ms,
                          door_sensor_input=DOOR_SENSOR, exit_button_input=EXIT_BUTTON,
                          fire_alarm_input=FIRE_ALARM,
                          passage_sensor_input=PASSAGE if self.mode == "turnstile" else None,
                          passage_window_ms=self.passage_window_ms, poll_ms=self.poll_ms)

    def make_door(self) -> DoorController:
        assert self.board_wire is not None
        board = ModbusRelayBoard(self.board_wire.driver_path, outputs=8, inputs=8, reply_timeout=1.0,
                                 backoff=Backoff(0.2, 2.0))
        return DoorController(board, self.door_config())

    def reader_factory(self, on_event: Any) -> OsdpReader:
        assert self.reader_wire is not None
        return OsdpReader(self.reader_wire.driver_path, key=self.key, name="sim-reader", offline_after=5.0,
                          backoff=Backoff(1.0, 2.0), on_event=on_event)

    # -- acting as the world --------------------------------------------------------------------
    def present_card(self, number: str) -> None:
        assert self.reader is not None
        self.reader.present_card(number)

    def type_keys(self, keys: str) -> None:
        assert self.reader is not None
        self.reader.type_keys(keys)

    def set_input(self, index: int, on: bool) -> None:
        assert self.board is not None
        self.board.set_input(index, on)

    def state(self) -> dict[str, Any]:
        board, reader = self.board, self.reader
        return {
            "relays": list(board.coils) if board else [],
            # How often the board was told to release the door: a short pulse is easy to miss by polling.
            "releases": sum(1 for w in board.writes(RELEASE) if w.on) if board else 0,
            "inputs": [{"index": i, "name": INPUT_NAMES.get(i, f"input {i}"), "on": v}
                       for i, v in enumerate(board.inputs if board else ())][:4],
            "reader_online": bool(reader and reader.online),
            "reader_secure": bool(reader and reader.secure),
            "photo": self._photo_label,
            "reader_leds": [c.get("on_color") for c in (reader.commands[-5:] if reader else [])
                            if "on_color" in c],
        }
