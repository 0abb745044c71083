"""The ``[relay]`` and ``[reader]`` sections of the gate's TOML configuration.

The parsers take the plain dicts ``tomllib`` produces and return frozen dataclasses; any
unknown key, wrong type or out-of-range value raises ``DriverConfigError`` (a ValueError) in
one sentence naming the key, so a typo in the config can never silently fall back to a default.
The gate service turns it into its own ConfigError at the boundary (gate.service.builder).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.backoff import Backoff
from drivers.errors import DriverConfigError

__all__ = ["DEFAULT_LINE_PATTERN", "DoorConfig", "DriverConfigError", "ReaderConfig", "RelayConfig",
           "parse_door", "parse_reader", "parse_relay"]

DEFAULT_LINE_PATTERN = r"^\s*(?P<card>[0-9A-Fa-fxX:,]+)\s*$"


@dataclass(frozen=True)
class DoorConfig:
    #: "door" (strike or magnetic lock) or "turnstile" (one "pass once" dry contact).
    mode: str = "door"
    #: "secure": the release output is energised to open, so a board that loses power or
    #: its link leaves the door locked.  "safe" (escape routes only): the output is energised
    #: to keep the door locked, so losing the board releases it.
    failure_mode: str = "secure"
    release_output: int = 0
    pulse_ms: int = 3000
    door_sensor_input: int | None = None
    exit_button_input: int | None = None
    #: Normally closed: an open circuit (alarm or cut wire) releases the door.
    fire_alarm_input: int | None = None
    passage_sensor_input: int | None = None
    passage_window_ms: int = 5000
    poll_ms: int = 50


@dataclass(frozen=True)
class RelayConfig:
    backend: str
    port: str | None = None
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    slave_id: int = 1
    outputs: int = 8
    inputs: int = 8
    coil_base: int = 0
    input_base: int = 0
    reply_timeout_ms: int = 300
    reconnect_initial_ms: int = 200
    reconnect_max_ms: int = 10000
    #: "board": a pulse is one command and the board ends it itself (Modbus flash command), so a
    #: dead service or a cut cable cannot leave the door released.  "host": this process writes the
    #: end of the pulse.  parse_relay picks "board" for Modbus boards with relays at coil 0, else "host".
    pulse_mode: str = "host"
    door: DoorConfig = field(default_factory=DoorConfig)

    def backoff(self) -> Backoff:
        return Backoff(self.reconnect_initial_ms / 1000, self.reconnect_max_ms / 1000)


@dataclass(frozen=True)
class ReaderConfig:
    backend: str
    port: str
    baudrate: int = 9600
    name: str = "reader"
    # OSDP
    address: int = 0
    key: bytes | None = field(default=None, repr=False)
    install_mode: bool = False
    offline_after_ms: int = 2000
    feedback_ms: int = 2000
    # line readers
    pattern: str = DEFAULT_LINE_PATTERN
    #: What a card line must look like (drivers.readers.line_framing.LINE_FORMATS).
    format: str = "decimal"
    #: Accepted numbers of digits; empty: the format's usual length (10 decimal digits).
    length: tuple[int, ...] = ()
    bits: int | None = None
    #: At most one reader-fault event per this many ms; rejections in between are counted.
    fault_interval_ms: int = 10_000
    reconnect_initial_ms: int = 200
    reconnect_max_ms: int = 10000

    def backoff(self) -> Backoff:
        return Backoff(self.reconnect_initial_ms / 1000, self.reconnect_max_ms / 1000)


def _relay_backends() -> tuple[str, ...]:
    from drivers.relays import RELAYS

    return RELAYS.names()


def _reader_backends() -> tuple[str, ...]:
    from drivers.readers import READERS

    return READERS.names()


def _check_keys(section: str, data: dict[str, Any], allowed: set[str]) -> None:
    if not isinstance(data, dict):
        raise DriverConfigError(f"[{section}] must be a table, got {type(data).__name__}.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise DriverConfigError(
            f"[{section}] has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}."
        )


def _int(section: str, key: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise DriverConfigError(f"[{section}] {key} must be an integer between {lo} and {hi}, got {value!r}.")
    return value


def _choice(section: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise DriverConfigError(f"[{section}] {key} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def _str(section: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise DriverConfigError(f"[{section}] {key} must be a non-empty string, got {value!r}.")
    return value


def _bool(section: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise DriverConfigError(f"[{section}] {key} must be true or false, got {value!r}.")
    return value


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def parse_door(data: dict[str, Any], *, outputs: int, inputs: int) -> DoorConfig:
    sec = "relay.door"
    _check_keys(sec, data, _fields(DoorConfig))
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "mode":
            out[key] = _choice(sec, key, value, ("door", "turnstile"))
        elif key == "failure_mode":
            out[key] = _choice(sec, key, value, ("secure", "safe"))
        elif key == "release_output":
            out[key] = _int(sec, key, value, 0, outputs - 1)
        elif key.endswith("_input"):
            if inputs == 0:
                raise DriverConfigError(f"[{sec}] {key}: this relay board has no inputs; remove the key.")
            out[key] = _int(sec, key, value, 0, inputs - 1)
        elif key == "pulse_ms":
            out[key] = _int(sec, key, value, 1, 600_000)
        elif key == "passage_window_ms":
            out[key] = _int(sec, key, value, 500, 60_000)
        elif key == "poll_ms":
            out[key] = _int(sec, key, value, 10, 1000)
    cfg = DoorConfig(**out)
    if cfg.mode == "turnstile" and cfg.pulse_ms < 100:
        raise DriverConfigError(
            f"[{sec}] pulse_ms = {cfg.pulse_ms}: turnstile controllers need a pulse of at least 100 ms."
        )
    if cfg.passage_sensor_input is not None and cfg.poll_ms > 50:
        raise DriverConfigError(
            f"[{sec}] poll_ms = {cfg.poll_ms}: passage sensors give pulses of about 100 ms, "
            "poll at 50 ms or faster so none is missed."
        )
    used = [v for k, v in dataclasses.asdict(cfg).items() if k.endswith("_input") and v is not None]
    if len(used) != len(set(used)):
        raise DriverConfigError(f"[{sec}] two functions are wired to the same input: {used}; give each its own.")
    return cfg


def parse_relay(data: dict[str, Any]) -> RelayConfig:
    sec = "relay"
    _check_keys(sec, data, _fields(RelayConfig))
    if "backend" not in data:
        raise DriverConfigError(f"[{sec}] backend is required: one of {', '.join(_relay_backends())}.")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "backend":
            out[key] = _choice(sec, key, value, _relay_backends())
        elif key == "port":
            out[key] = _str(sec, key, value)
        elif key == "parity":
            out[key] = _choice(sec, key, value, ("N", "E", "O"))
        elif key == "stopbits":
            out[key] = _int(sec, key, value, 1, 2)
        elif key == "baudrate":
            out[key] = _int(sec, key, value, 1200, 921600)
        elif key == "slave_id":
            out[key] = _int(sec, key, value, 1, 247)
        elif key in ("outputs", "inputs"):
            out[key] = _int(sec, key, value, 0 if key == "inputs" else 1, 64)
        elif key in ("coil_base", "input_base"):
            out[key] = _int(sec, key, value, 0, 65535)
        elif key == "reply_timeout_ms":
            out[key] = _int(sec, key, value, 20, 10_000)
        elif key in ("reconnect_initial_ms", "reconnect_max_ms"):
            out[key] = _int(sec, key, value, 10, 600_000)
        elif key == "pulse_mode":
            out[key] = _choice(sec, key, value, ("board", "host"))
    if out["backend"] != "modbus" and out.get("pulse_mode") == "board":
        raise DriverConfigError(
            f"[{sec}] pulse_mode = \"board\": {out['backend']} boards cannot time a pulse themselves; "
            "use pulse_mode = \"host\" or remove the key."
        )
    if out["backend"] == "modbus":
        out.setdefault("pulse_mode", "board" if out.get("coil_base", 0) == 0 else "host")
    if out["backend"] == "lcus":
        out.setdefault("inputs", 0)
        out.setdefault("outputs", 1)
        if out["inputs"]:
            raise DriverConfigError("[relay] LCUS boards have no inputs: set inputs = 0.")
    if out["backend"] != "simulated" and "port" not in out:
        raise DriverConfigError(f"[{sec}] port is required for the {out['backend']} backend.")
    outputs = out.get("outputs", RelayConfig.outputs)
    inputs = out.get("inputs", RelayConfig.inputs)
    out["door"] = parse_door(data.get("door", {}), outputs=outputs, inputs=inputs)
    cfg = RelayConfig(**out)
    if cfg.reconnect_initial_ms > cfg.reconnect_max_ms:
        raise DriverConfigError("[relay] reconnect_initial_ms must not exceed reconnect_max_ms.")
    return cfg


def _key(sec: str, data: dict[str, Any], base_dir: Path | None) -> bytes | None:
    if "key" in data and "key_file" in data:
        raise DriverConfigError(f"[{sec}] give key or key_file, not both.")
    text = None
    if "key_file" in data:
        path = Path(_str(sec, "key_file", data["key_file"]))
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        try:
            text = path.read_text().strip()
        except OSError as exc:
            raise DriverConfigError(f"[{sec}] key_file {path} cannot be read: {exc.strerror}.") from exc
    elif "key" in data:
        text = _str(sec, "key", data["key"])
    if text is None:
        return None
    if not re.fullmatch(r"[0-9A-Fa-f]{32}", text):
        raise DriverConfigError(f"[{sec}] the OSDP secure channel key must be 32 hex digits (16 bytes).")
    return bytes.fromhex(text)


def _lengths(sec: str, value: Any) -> tuple[int, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise DriverConfigError(f"[{sec}] length must be a number of digits or a list of them, got [].")
    return tuple(sorted({_int(sec, "length", v, 1, 40) for v in values}))


def _line_format(sec: str, out: dict[str, Any]) -> None:
    """The checks that tie format, length and bits together (line readers only)."""
    from drivers.readers.line_framing import WIEGAND_PARITY_BITS

    fmt = out.get("format", ReaderConfig.format)
    bits = out.get("bits")
    if fmt == "wiegand" and bits not in WIEGAND_PARITY_BITS:
        raise DriverConfigError(
            f"[{sec}] format = \"wiegand\" needs bits = {', '.join(map(str, WIEGAND_PARITY_BITS))} "
            "(the frame lengths whose parity can be checked)."
        )
    if fmt == "text" and "length" in out:
        raise DriverConfigError(f"[{sec}] length does not apply to format = \"text\"; remove it or choose "
                                "format = \"decimal\", \"hex\" or \"wiegand\".")


def parse_reader(data: dict[str, Any], *, base_dir: Path | None = None) -> ReaderConfig:
    """``base_dir`` resolves a relative ``key_file`` (normally the config file's directory)."""
    sec = "reader"
    if isinstance(data, dict) and "base" in data:
        raise DriverConfigError(
            f"[{sec}] base was replaced by format: use format = \"decimal\" (digits), \"hex\", "
            "\"wiegand\" (a hex frame with parity, with bits) or \"text\"."
        )
    _check_keys(sec, data, (_fields(ReaderConfig) - {"key"}) | {"key", "key_file"})
    for required in ("backend", "port"):
        if required not in data:
            raise DriverConfigError(f"[{sec}] {required} is required.")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "backend":
            out[key] = _choice(sec, key, value, _reader_backends())
        elif key in ("port", "name"):
            out[key] = _str(sec, key, value)
        elif key == "baudrate":
            out[key] = _int(sec, key, value, 1200, 921600)
        elif key == "address":
            out[key] = _int(sec, key, value, 0, 126)
        elif key == "install_mode":
            out[key] = _bool(sec, key, value)
        elif key in ("offline_after_ms", "feedback_ms", "reconnect_initial_ms", "reconnect_max_ms"):
            out[key] = _int(sec, key, value, 10, 600_000)
        elif key == "pattern":
            out[key] = _str(sec, key, value)
            try:
                compiled = re.compile(value)
            except re.error as exc:
                raise DriverConfigError(f"[{sec}] pattern is not a valid regular expression: {exc}.") from exc
            if "card" not in compiled.groupindex:
                raise DriverConfigError(f"[{sec}] pattern needs a named group (?P<card>...).")
        elif key == "format":
            from drivers.readers.line_framing import LINE_FORMATS

            out[key] = _choice(sec, key, value, LINE_FORMATS)
        elif key == "length":
            out[key] = _lengths(sec, value)
        elif key == "bits":
            out[key] = _int(sec, key, value, 1, 256)
        elif key == "fault_interval_ms":
            out[key] = _int(sec, key, value, 100, 3_600_000)
    key_bytes = _key(sec, data, base_dir)
    if out["backend"] == "osdp":
        if key_bytes is None:
            raise DriverConfigError(
                "[reader] an OSDP reader needs its own secure channel key (key_file or key); "
                "install_mode = true additionally lets a factory-new reader accept it."
            )
        out["key"] = key_bytes
        line_only = {"pattern", "format", "length", "bits"} & set(data)
        if line_only:
            raise DriverConfigError(
                f"[reader] {', '.join(sorted(line_only))} only apply to backend = \"line\"; remove them."
            )
    else:
        osdp_only = {"address", "key", "key_file", "install_mode", "offline_after_ms", "feedback_ms"} & set(data)
        if osdp_only:
            keys = ", ".join(sorted(osdp_only))
            raise DriverConfigError(f'[reader] {keys} only apply to backend = "osdp"; remove them.')
    if out["backend"] == "line":
        _line_format(sec, out)
    if out["backend"] == "line" and "baudrate" not in out:
        out["baudrate"] = 9600
    if out["backend"] == "osdp" and "baudrate" not in out:
        out["baudrate"] = 9600
    return ReaderConfig(**out)
