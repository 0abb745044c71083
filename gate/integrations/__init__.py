"""Optional integrations: MQTT and a webhook. Both are off unless configured in gate.toml."""

from __future__ import annotations

from typing import Any


def publishers(settings: Any) -> tuple[Any, ...]:
    """Publisher objects (each has publish(event) and close()) for the enabled integrations."""
    out: list[Any] = []
    mqtt = settings.section("mqtt")
    if mqtt.get("enabled", False):
        from gate.integrations.mqtt import MqttPublisher

        out.append(MqttPublisher.from_section(mqtt))
    webhook = settings.section("webhook")
    if webhook.get("enabled", False):
        from gate.integrations.webhook import WebhookPublisher

        out.append(WebhookPublisher.from_section(webhook))
    return tuple(out)
