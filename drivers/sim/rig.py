"""All simulated devices of a reference installation, each behind its own PtyWire.

Used by ``gate sim`` (so a person can point a gate at them), by the benchmark and by the
driver tests.  Device paths are stable symlinks inside one temporary directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile

from drivers.sim.lcus_device import SimLcusDevice
from drivers.sim.line_reader import SimLineReader
from drivers.sim.modbus_board import SimModbusBoard
from drivers.sim.osdp_reader import SimOsdpReader
from drivers.sim.wire import PtyWire

DEVICES = ("relay", "reader", "line", "lcus")

# Input wiring of the reference door set-up (hardware/wiring.md).
DOOR_SENSOR, EXIT_BUTTON, FIRE_ALARM, PASSAGE = 0, 1, 2, 3


class SimRig:
    def __init__(self, devices: tuple[str, ...] = DEVICES, *, osdp_address: int = 0,
                 reader_key: bytes | None = None, factory_new_reader: bool = False,
                 modbus_slave: int = 1) -> None:
        unknown = set(devices) - set(DEVICES)
        if unknown:
            raise ValueError(f"unknown simulated devices: {', '.join(sorted(unknown))}")
        self.devices = devices
        self.directory = tempfile.mkdtemp(prefix="gate-sim-")
        self.reader_key = reader_key or secrets.token_bytes(16)
        self.key_file = os.path.join(self.directory, "reader.key")
        self.osdp_address = osdp_address
        self.modbus_slave = modbus_slave
        self._factory_new = factory_new_reader
        self.wires: dict[str, PtyWire] = {}
        self.relay: SimModbusBoard | None = None
        self.reader: SimOsdpReader | None = None
        self.line: SimLineReader | None = None
        self.lcus: SimLcusDevice | None = None

    def start(self) -> SimRig:
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.reader_key.hex())
        try:
            for name in self.devices:
                self.wires[name] = PtyWire(name, self.directory)
            if "relay" in self.devices:
                self.relay = SimModbusBoard(self.wires["relay"].device_path, slave_id=self.modbus_slave).start()
                # Reference wiring: door closed (NC contact closed), fire loop healthy.
                self.relay.set_input(DOOR_SENSOR, True)
                self.relay.set_input(FIRE_ALARM, True)
            if "reader" in self.devices:
                key = None if self._factory_new else self.reader_key
                self.reader = SimOsdpReader(self.wires["reader"].device_path, address=self.osdp_address,
                                            key=key, install_mode=self._factory_new).start()
            if "line" in self.devices:
                self.line = SimLineReader(self.wires["line"].device_path).start()
            if "lcus" in self.devices:
                self.lcus = SimLcusDevice(self.wires["lcus"].device_path).start()
        except BaseException:
            self.close()
            raise
        return self

    def port(self, device: str) -> str:
        return self.wires[device].driver_path

    def relay_config(self, **door: object) -> dict[str, object]:
        door_section: dict[str, object] = {
            "release_output": 0, "pulse_ms": 3000, "door_sensor_input": DOOR_SENSOR,
            "exit_button_input": EXIT_BUTTON, "fire_alarm_input": FIRE_ALARM,
        }
        door_section.update(door)
        return {
            "backend": "modbus", "port": self.port("relay"), "baudrate": 9600,
            "slave_id": self.modbus_slave, "outputs": 8, "inputs": 8, "door": door_section,
        }

    def reader_config(self, **extra: object) -> dict:
        cfg = {"backend": "osdp", "port": self.port("reader"), "baudrate": 9600,
               "address": self.osdp_address, "key_file": self.key_file}
        cfg.update(extra)
        return cfg

    def config_toml(self) -> str:
        lines = []
        if "relay" in self.wires:
            lines += [
                "[relay]", 'backend = "modbus"', f'port = "{self.port("relay")}"', "baudrate = 9600",
                f"slave_id = {self.modbus_slave}", "",
                "[relay.door]", 'mode = "door"', 'failure_mode = "secure"', "release_output = 0",
                "pulse_ms = 3000", f"door_sensor_input = {DOOR_SENSOR}",
                f"exit_button_input = {EXIT_BUTTON}", f"fire_alarm_input = {FIRE_ALARM}", "",
            ]
        if "reader" in self.wires:
            lines += [
                "[reader]", 'backend = "osdp"', f'port = "{self.port("reader")}"', "baudrate = 9600",
                f"address = {self.osdp_address}", f'key_file = "{self.key_file}"',
            ]
            if self._factory_new:
                lines.append("install_mode = true")
            lines.append("")
        if "line" in self.wires:
            lines += ["# or, the line reader instead of OSDP:", "# [reader]", '# backend = "line"',
                      f'# port = "{self.port("line")}"', ""]
        if "lcus" in self.wires:
            lines += ["# or, the LCUS relay instead of Modbus:", "# [relay]", '# backend = "lcus"',
                      f'# port = "{self.port("lcus")}"', "# outputs = 4", ""]
        return "\n".join(lines)

    def close(self) -> None:
        for device in (self.reader, self.line, self.lcus, self.relay):
            if device is not None:
                try:
                    device.stop()
                except Exception:  # noqa: BLE001 - closing what is left matters more
                    pass
        for wire in self.wires.values():
            wire.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> SimRig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
