"""The pure rules of Home Assistant's "open once" and access events (gate.integrations.ha_discovery), and
the notice check that Home Assistant shares with [mqtt]."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gate.errors import ConfigError
from gate.integrations import publishers
from gate.integrations.ha_discovery import OpenCommand, Refused, Topics, access_event, discovery, parse_command

NOW = 1_800_000_000.0


def verdict(payload: object, *, retained: bool = False, last_at: float | None = None) -> OpenCommand | Refused:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_command(raw, retained=retained, now=NOW, max_age=5, last_at=last_at)


def test_a_live_fresh_open_is_accepted() -> None:
    assert verdict({"action": "OPEN", "at": NOW - 1}) == OpenCommand(NOW - 1)
    assert verdict({"action": "OPEN", "at": NOW + 1.5}) == OpenCommand(NOW + 1.5)  # a clock slightly ahead


@pytest.mark.parametrize(("payload", "retained", "last_at", "words"), [
    ({"action": "OPEN", "at": NOW}, True, None, "retained"),
    (b"OPEN", False, None, "not JSON"),
    (b"\xff\xfe", False, None, "not JSON"),
    ({"action": "OPEN"}, False, None, "not JSON"),
    ([1, 2], False, None, "not JSON"),
    ({"action": "UNLOCK", "at": NOW}, False, None, "only OPEN"),
    ({"action": "open", "at": NOW}, False, None, "only OPEN"),
    ({"action": "OPEN", "at": True}, False, None, "not a number"),
    ({"action": "OPEN", "at": "1800000000"}, False, None, "not a number"),
    ({"action": "OPEN", "at": NOW - 5.5}, False, None, "stale"),
    ({"action": "OPEN", "at": NOW + 6}, False, None, "ahead"),
    ({"action": "OPEN", "at": NOW - 1}, False, NOW - 1, "replay"),
    ({"action": "OPEN", "at": NOW - 2}, False, NOW - 1, "replay"),
    (b"{" + b" " * 600 + b"}", False, None, "longer than"),
])
def test_everything_else_is_refused_with_its_reason(payload: object, retained: bool, last_at: float | None,
                                                    words: str) -> None:
    result = verdict(payload, retained=retained, last_at=last_at)
    assert isinstance(result, Refused) and words in result.reason, result


def test_the_access_event_names_fields_only() -> None:
    entry = {"kind": "access", "method": "card", "granted": False, "reason": "unknown_card", "at": "t",
             "resident_id": 7, "card": "188:24910", "name": "Test Resident", "detail": "x"}
    assert access_event(entry, include_resident=False) == {
        "event_type": "denied", "method": "card", "reason": "unknown_card", "at": "t", "offline": False}
    assert access_event(entry, include_resident=True)["resident_id"] == 7
    assert access_event({"kind": "door", "event": "door_opened"}, include_resident=True) is None


def test_the_lock_is_announced_only_with_a_door_and_open_only_with_commands() -> None:
    topics = Topics.of("homeassistant", "gate/homeassistant", "north gate")
    assert topics.base == "gate/homeassistant/north_gate"
    without_door = discovery("north gate", topics, commands=True, has_door=False)
    assert not any("/lock/" in t or "/binary_sensor/" in t for t in without_door)
    with_door = discovery("north gate", topics, commands=False, has_door=True)
    assert "payload_open" not in with_door["homeassistant/lock/north_gate/lock/config"]


def test_resident_ids_to_home_assistant_need_the_notice_to_name_the_broker(tmp_path) -> None:
    from gate.config import load_settings

    settings = load_settings(tmp_path)
    settings = dataclasses.replace(
        settings, mqtt=dataclasses.replace(settings.mqtt, include_resident=True, host="broker.example.cn"),
        homeassistant=dataclasses.replace(settings.homeassistant, enabled=True))
    with pytest.raises(ConfigError, match="does not name broker.example.cn"):
        publishers(settings, "a notice naming nobody")
    (bridge,) = publishers(settings, "gate events go to broker.example.cn.")
    bridge.close()
