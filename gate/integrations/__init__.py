"""Optional integrations: MQTT and a webhook. Both are off unless configured in gate.toml."""

from __future__ import annotations

from typing import Any, Callable


def publishers(settings: Any) -> tuple[Callable[[dict[str, Any]], None], ...]:
    out: list[Callable[[dict[str, Any]], None]] = []
    mqtt = settings.section("mqtt")
    if mqtt.get("enabled", False):
        from gate.integrations.mqtt import MqttPublisher

        out.append(MqttPublisher.from_section(mqtt).publish)
    webhook = settings.section("webhook")
    if webhook.get("enabled", False):
        from gate.integrations.webhook import WebhookPublisher

        out.append(WebhookPublisher.from_section(webhook).publish)
    return tuple(out)
