"""hardware/*.md frames are checked, so the documentation cannot drift from the protocols."""

from __future__ import annotations

import re
from pathlib import Path

from pymodbus.framer.rtu import FramerRTU

from drivers.relays import lcus_frames
from gate.core.cardnumber import encode_wiegand, normalize_card

from .test_frames import _crc16_aug_ccitt

HARDWARE = Path(__file__).resolve().parents[2] / "hardware"
HEX_FRAME = re.compile(r"`((?:[0-9A-F]{2} )+[0-9A-F]{2})`")


def documented_frames() -> list[bytes]:
    text = (HARDWARE / "boards.md").read_text()
    return [bytes.fromhex(m) for m in HEX_FRAME.findall(text)]


def test_every_documented_frame_is_valid():
    frames = documented_frames()
    kinds = {"modbus": 0, "lcus": 0, "osdp": 0, "card": 0}
    for frame in frames:
        if frame[0] == 0xA0 and len(frame) == 4:
            lcus_frames.decode(frame)
            kinds["lcus"] += 1
        elif frame[0] == 0x53:
            assert _crc16_aug_ccitt(frame[:-2]) == int.from_bytes(frame[-2:], "little"), frame.hex(" ")
            kinds["osdp"] += 1
        elif frame == encode_wiegand("12345678"):
            assert normalize_card(frame, 26, "wiegand") == "12345678"
            kinds["card"] += 1
        else:
            assert FramerRTU.check_CRC(frame[:-2], int.from_bytes(frame[-2:], "big")), frame.hex(" ")
            kinds["modbus"] += 1
    assert kinds["modbus"] >= 8 and kinds["lcus"] >= 5 and kinds["osdp"] >= 1 and kinds["card"] == 1


def test_documented_lcus_frames_match_the_encoder():
    text = (HARDWARE / "boards.md").read_text()
    for channel, state, frame in re.findall(r"\| Relay (\d) (on|off) \| `(A0 [0-9A-F ]+)`", text):
        assert lcus_frames.encode(int(channel) - 1, state == "on") == bytes.fromhex(frame)


def test_readme_names_every_example():
    readme = (HARDWARE / "README.md").read_text() + (HARDWARE / "wiring.md").read_text()
    for example in (HARDWARE / "examples").glob("*.toml"):
        assert example.name in readme, example.name
