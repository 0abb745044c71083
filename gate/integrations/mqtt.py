"""Publish gate events to an MQTT broker (paho-mqtt). Off by default:

    [mqtt]
    enabled = true
    host = "127.0.0.1"
    port = 1883
    topic = "gate/events"     # events go to <topic>/<gate name>
    include_resident = false  # true only if the published notice names the broker's host

paho's network loop runs on its own thread and `publish` only queues, so a slow or absent broker
never holds up the gate. Events carry no card number, PIN, name or image, nor the resident's id
unless include_resident is on.
"""

from __future__ import annotations

import json
from typing import Any

import paho.mqtt.client as mqtt

from gate.integrations import outgoing


class MqttPublisher:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883, topic: str = "gate/events",
                 client_id: str = "", qos: int = 1, include_resident: bool = False) -> None:
        self.include_resident = include_resident
        self.topic = topic.rstrip("/")
        self.qos = qos
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def publish(self, event: dict[str, Any]) -> None:
        payload = json.dumps(outgoing(event, self.include_resident))
        self.client.publish(f"{self.topic}/{event.get('gate', 'gate')}", payload, qos=self.qos)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
