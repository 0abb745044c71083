"""Optional integrations: MQTT and a webhook. Both are off unless configured in gate.toml."""

from __future__ import annotations

from typing import Any

from gate.config import Settings


def publishers(settings: Settings) -> tuple[Any, ...]:
    """Publisher objects (each has publish(event) and close()) for the enabled integrations."""
    out: list[Any] = []
    mqtt = settings.mqtt
    if mqtt.enabled:
        from gate.integrations.mqtt import MqttPublisher

        out.append(MqttPublisher(host=mqtt.host, port=mqtt.port, topic=mqtt.topic))
    webhook = settings.webhook
    if webhook.enabled:
        from gate.integrations.webhook import WebhookPublisher

        out.append(WebhookPublisher(webhook.url, webhook.timeout_seconds))
    return tuple(out)
