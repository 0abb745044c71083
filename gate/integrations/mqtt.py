"""Publish gate events to an MQTT broker (paho-mqtt). Off by default:

    [mqtt]
    enabled = true
    host = "127.0.0.1"
    port = 1883
    topic = "gate/events"     # events go to <topic>/<gate name>

paho's network loop runs on its own thread and `publish` only queues, so a slow or absent broker
never holds up the gate. Events carry no card number, PIN, name or image.
"""

from __future__ import annotations

import json
from typing import Any

import paho.mqtt.client as mqtt


class MqttPublisher:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883, topic: str = "gate/events",
                 client_id: str = "", qos: int = 1) -> None:
        self.topic = topic.rstrip("/")
        self.qos = qos
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def publish(self, event: dict[str, Any]) -> None:
        self.client.publish(f"{self.topic}/{event.get('gate', 'gate')}", json.dumps(event), qos=self.qos)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
