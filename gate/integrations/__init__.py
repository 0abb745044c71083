"""Optional integrations: MQTT, Home Assistant (over MQTT) and a webhook. All are off unless configured in
gate.toml.

What leaves the site (M5, CAC provisions art. 8): events carry no resident identifier unless the site
turns `include_resident` on for that integration, and then only if the published face notice names
the recipient (the webhook URL's host or the MQTT broker's host, which Home Assistant's events also
reach), so residents were told who gets it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gate.config import Settings
from gate.errors import ConfigError

#: Event keys that identify a resident; stripped from every outgoing payload unless included on purpose.
RESIDENT_FIELDS = frozenset({"resident_id", "resident", "resident_code", "code", "name", "card", "card_uid"})


def outgoing(event: Mapping[str, Any], include_resident: bool) -> dict[str, Any]:
    """The payload an integration sends for one event."""
    if include_resident:
        return dict(event)
    return {k: v for k, v in event.items() if k not in RESIDENT_FIELDS}


def notice_names(notice_text: str, host: str) -> bool:
    """The notice names the host as a whole name: "hooks.example.org" is not named by "example.org"."""
    pattern = rf"(?<![\w.-]){re.escape(host.strip().lower())}(?![\w-]|\.\w)"
    return re.search(pattern, notice_text.lower()) is not None


def _require_named(section: str, host: str, notice_text: str | None) -> None:
    if notice_text is None or not notice_names(notice_text, host):
        raise ConfigError(
            f"[{section}] include_resident is on but the published face notice does not name {host} as a "
            f"recipient; publish a notice that names it, or set include_resident = false."
        )


def publishers(settings: Settings, notice_text: str | None = None) -> tuple[Any, ...]:
    """Publisher objects (each has publish(event) and close()) for the enabled integrations.

    `notice_text` is the current published notice (None without one); it is only read when an
    integration would send resident identifiers. Raises ConfigError before anything is started.
    """
    mqtt = settings.mqtt
    webhook = settings.webhook
    homeassistant = settings.homeassistant
    # Home Assistant's access events go to the same broker and carry the resident id under the same key.
    if (mqtt.enabled or homeassistant.enabled) and mqtt.include_resident:
        _require_named("mqtt", mqtt.host, notice_text)
    if webhook.enabled and webhook.include_resident:
        _require_named("webhook", urlsplit(webhook.url).hostname or webhook.url, notice_text)
    out: list[Any] = []
    if mqtt.enabled or homeassistant.enabled:
        from gate.integrations.mqtt import Broker

        broker = Broker.from_section(mqtt, settings.data_dir)
    if mqtt.enabled:
        from gate.integrations.mqtt import MqttPublisher

        out.append(MqttPublisher(topic=mqtt.topic, include_resident=mqtt.include_resident, broker=broker))
    if homeassistant.enabled:
        from gate.integrations.homeassistant import HomeAssistantBridge

        # Started later, on the running gate (gate.service.homeassistant.attach).
        out.append(HomeAssistantBridge(broker, settings.gate.name, homeassistant,
                                       include_resident=mqtt.include_resident))
    if webhook.enabled:
        from gate.integrations.webhook import WebhookPublisher

        out.append(WebhookPublisher(webhook.url, webhook.timeout_seconds, include_resident=webhook.include_resident))
    return tuple(out)
