"""Structured logs: the JSON schema, text and rotation from [log], and no card number beyond its last
digits, no PIN, in any record (a real card decision through the gate, and the loop's error records)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from drivers.readers.base import CardRead, KeyPress
from gate.config import LogSection
from gate.core import machine as m
from gate.core.cardnumber import mask_card, normalize_card
from gate.service.logs import configure_logging
from tests.service.conftest import CARD, PIN, Gate

CANONICAL = normalize_card(CARD)  # "12345678"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_mask_card_shows_at_most_four_digits_and_never_more_than_half() -> None:
    assert mask_card("12345678") == "****5678"
    assert mask_card("65541") == "****41"
    assert mask_card("7") == "****"
    assert mask_card(mask_card("12345678")) == "****5678"  # a second pass takes nothing more away


def test_a_real_card_decision_logs_the_card_masked_only(gate_factory: Callable[..., Gate], tmp_path: Path,
                                                        restore_logging: None) -> None:
    log_file = tmp_path / "gate.log"
    configure_logging(LogSection(file=str(log_file)), tmp_path)
    gate = gate_factory()
    gate.card(CARD)
    assert gate.wait_for(lambda: gate.last_access().get("granted") is True)
    text = log_file.read_text(encoding="utf-8")
    access = [line for line in _lines(log_file) if line.get("event") == "access"]
    assert len(access) == 1
    line = access[0]
    assert (line["level"], line["logger"], line["msg"]) == ("INFO", "gate.events", "card granted: granted")
    assert (line["method"], line["granted"], line["card"], line["gate"]) == ("card", True, "****5678", "main")
    stamp = datetime.fromisoformat(str(line["ts"]))
    assert stamp.utcoffset() is not None  # local time with its offset
    assert list(line)[:4] == ["ts", "level", "logger", "msg"]
    for full in (CANONICAL, CARD, "24910"):
        assert full not in text


def test_every_record_is_filtered_whatever_its_logger(tmp_path: Path, restore_logging: None) -> None:
    log_file = tmp_path / "gate.log"
    configure_logging(LogSection(file=str(log_file)), tmp_path)
    service = logging.getLogger("gate.service")
    # What the loop logs when a step fails: the event's repr, with the card, the keys or the PIN in it.
    for item in (CardRead("reader", CANONICAL, 26, b"\x03\x78\xc2\x9c", 1.0), KeyPress("reader", PIN + "#", 1.0),
                 m.EnterPin(PIN), m.PresentCard(CARD)):
        try:
            raise RuntimeError(f"could not handle {item!r}")
        except RuntimeError:
            service.exception("gate loop: event %r failed", item)
    logging.getLogger("somelib").warning("card %s seen", CANONICAL, extra={"card": CANONICAL, "pin": PIN,
                                                                           "frame": b"\xff\xd8"})
    text = log_file.read_text(encoding="utf-8")
    lines = _lines(log_file)
    assert len(lines) == 5
    for secret in (CANONICAL, PIN, "24910", "\\\\x03"):
        assert secret not in text, secret
    assert "card='****5678'" in str(lines[0]["msg"]) and "****5678" in str(lines[0]["exc_info"])
    assert lines[4]["card"] == "****5678" and lines[4]["pin"] == "[removed]" and lines[4]["frame"] == "[removed]"
    assert lines[4]["msg"] == "card ****5678 seen" and lines[4]["logger"] == "somelib"


def test_text_format_and_rotation(tmp_path: Path, restore_logging: None) -> None:
    configure_logging(LogSection(format="text", file="logs/gate.log", max_bytes=65_536, backups=2), tmp_path)
    log = logging.getLogger("gate.events")
    for n in range(800):
        log.info("door: held_open", extra={"event": "door", "reason": "held_open", "n": n})
    log_file = tmp_path / "logs" / "gate.log"
    assert (tmp_path / "logs" / "gate.log.1").exists() and not (tmp_path / "logs" / "gate.log.3").exists()
    last = log_file.read_text(encoding="utf-8").splitlines()[-1]
    stamp, level, logger, rest = last.split(" ", 3)
    assert datetime.fromisoformat(stamp).utcoffset() is not None
    assert (level, logger, rest) == ("INFO", "gate.events", "door: held_open event=door reason=held_open n=799")


def test_level_from_config(tmp_path: Path, restore_logging: None) -> None:
    configure_logging(LogSection(file="gate.log", level="warning"), tmp_path)
    logging.getLogger("gate.service").info("not written")
    logging.getLogger("gate.service").warning("written")
    assert [line["msg"] for line in _lines(tmp_path / "gate.log")] == ["written"]
