"""`gate sim`: simulated relay board, OSDP reader, line reader and LCUS relay on pseudo-terminals.

It prints the port names (and a config to paste), then reads commands from stdin so a
person can present cards, type keys, toggle inputs, watch outputs and inject faults.
"""

from __future__ import annotations

import json
import shlex
import sys
from typing import TypeVar

import click

from drivers.sim.rig import DEVICES, SimRig

Device = TypeVar("Device")

HELP = """commands:
  card NUMBER [BITS]      present a card on the OSDP reader (e.g. card 188:24910, card 12345678 26)
  line TEXT               the line reader prints TEXT (e.g. line 0012345678)
  keys DIGITS             type on the OSDP reader's keypad (e.g. keys 1234#)
  input N on|off          set input N of the Modbus board (0 door closed, 1 exit, 2 fire loop ok, 3 passage)
  outputs                 relay states and the history of writes
  watch SECONDS           print Modbus relay writes as they happen, for SECONDS
  reader                  LED/buzzer/keyset commands the reader received, and its link state
  cut|mend DEVICE         pull / reconnect the cable (relay, reader, line, lcus)
  mute|unmute DEVICE      the device stops / resumes answering
  unplug|replug DEVICE    the USB adapter disappears / comes back
  help, quit"""


def run_command(rig: SimRig, line: str, echo=None) -> str:
    """Execute one command line against the rig; returns what to print.

    ``echo`` receives live lines from ``watch`` (defaults to collecting them in the result).
    """
    try:
        words = shlex.split(line)
    except ValueError as exc:
        return f"error: {exc}"
    if not words:
        return ""
    cmd, args = words[0].lower(), words[1:]
    try:
        if cmd == "help":
            return HELP
        if cmd == "card":
            reader = _need(rig.reader, "reader")
            bits = int(args[1]) if len(args) > 1 else 26
            reader.present_card(args[0], bits)
            return f"card {args[0]} presented ({bits}-bit Wiegand)"
        if cmd == "line":
            _need(rig.line, "line").present(" ".join(args))
            return f"line reader printed {' '.join(args)!r}"
        if cmd == "keys":
            _need(rig.reader, "reader").type_keys(args[0])
            return f"typed {args[0]}"
        if cmd == "input":
            relay = _need(rig.relay, "relay")
            index, value = int(args[0]), args[1].lower()
            if value not in ("on", "off"):
                return "error: input N on|off"
            relay.set_input(index, value == "on")
            return f"input {index} {value}"
        if cmd == "outputs":
            out: dict[str, object] = {}
            if rig.relay is not None:
                out["modbus_coils"] = [int(c) for c in rig.relay.coils]
                out["modbus_writes"] = [(round(w.at, 3), w.coil, int(w.on)) for w in rig.relay.writes()[-20:]]
            if rig.lcus is not None:
                out["lcus_relays"] = [int(r) for r in rig.lcus.relays]
                out["lcus_rejected_frames"] = len(rig.lcus.rejected)
            return json.dumps(out)
        if cmd == "watch":
            _need(rig.relay, "relay")
            return _watch(rig, float(args[0]) if args else 10.0, echo)
        if cmd == "reader":
            reader = _need(rig.reader, "reader")
            return json.dumps({"online": reader.online, "secure_channel": reader.secure,
                               "commands": reader.commands[-10:]}, default=lambda b: b.hex())
        if cmd in ("cut", "mend", "mute", "unmute", "unplug", "replug"):
            wire = rig.wires.get(args[0]) if args else None
            if wire is None:
                return f"error: {cmd} needs one of {', '.join(rig.wires)}"
            getattr(wire, cmd)()
            return f"{args[0]}: {cmd}"
    except (IndexError, ValueError) as exc:
        return f"error: {exc or 'missing argument'}; type help"
    return f"unknown command {cmd!r}; type help"


def _watch(rig: SimRig, seconds: float, echo) -> str:
    import time

    assert rig.relay is not None
    lines: list[str] = []
    say = echo or lines.append
    seen = len(rig.relay.writes())
    start = time.perf_counter()
    say(f"watching relay writes for {seconds:g} s")
    deadline = time.monotonic() + min(seconds, 3600)
    while (left := deadline - time.monotonic()) > 0:
        if rig.relay.wait_for_history(seen + 1, left):
            for write in rig.relay.writes()[seen:]:
                say(f"+{write.at - start:8.3f} s  coil {write.coil} {'ON' if write.on else 'off'}")
            seen = len(rig.relay.writes())
    say("watch ended")
    return "\n".join(lines)


def _need(device: Device | None, name: str) -> Device:
    if device is None:
        raise ValueError(f"the {name} simulator is not running (see --devices)")
    return device


@click.command("sim")
@click.option("--devices", default=",".join(DEVICES), show_default=True,
              help="Comma-separated simulators to start: relay, reader, line, lcus.")
@click.option("--address", default=0, show_default=True, type=click.IntRange(0, 126),
              help="OSDP address of the simulated reader.")
@click.option("--factory-new", is_flag=True,
              help="The OSDP reader only knows the default install key (configure install_mode = true).")
def sim(devices: str, address: int, factory_new: bool) -> None:
    """Start simulated devices on pseudo-terminals and drive them from the keyboard."""
    chosen = tuple(d.strip() for d in devices.split(",") if d.strip())
    try:
        rig = SimRig(chosen, osdp_address=address, factory_new_reader=factory_new)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--devices") from exc
    with rig:
        click.echo("Simulated devices (open these ports from the gate):")
        for name, wire in rig.wires.items():
            click.echo(f"  {name:7} {wire.driver_path}")
        click.echo("\nConfiguration for these ports:\n")
        click.echo(rig.config_toml())
        click.echo(HELP)
        while True:
            click.echo("sim> ", nl=False)
            line = sys.stdin.readline()
            if not line or line.strip().lower() in ("quit", "exit"):
                break
            reply = run_command(rig, line, echo=click.echo)
            if reply:
                click.echo(reply)
    click.echo("simulators stopped")


@click.command("relay")
@click.option("--rounds", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--reader", "reader", default="osdp", type=click.Choice(["osdp", "line"]), show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_relay(rounds: int, reader: str, as_json: bool) -> None:
    """Card read on the simulated reader to relay pulse on the simulated board."""
    from gate.bench.relay import card_to_relay

    result = card_to_relay(rounds, reader=reader)
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(f"card to relay ({reader}, n={rounds}): median {result['median_ms']} ms, "
                   f"p99 {result['p99_ms']} ms")
