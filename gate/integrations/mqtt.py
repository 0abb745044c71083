"""Publish gate events to an MQTT broker (paho-mqtt), and the broker connection [homeassistant] shares.
Off by default:

    [mqtt]
    enabled = true
    host = "127.0.0.1"
    port = 1883
    topic = "gate/events"     # events go to <topic>/<gate name>
    include_resident = false  # true only if the published notice names the broker's host
    username = "gate"         # optional, with password; TLS with tls / ca_file / client_cert / client_key

paho's network loop runs on its own thread and `publish` only queues, so a slow or absent broker
never holds up the gate. Events carry no card number, PIN, name or image, nor the resident's id
unless include_resident is on. The password goes to paho only: it is in no log line, error or repr.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from gate.config import MqttSection
from gate.errors import ConfigError
from gate.integrations import outgoing


@dataclass(frozen=True)
class Broker:
    """Where and how to connect. Paths are absolute (resolved against the data folder)."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None

    @classmethod
    def from_section(cls, section: MqttSection, data_dir: Path) -> Broker:
        def path(value: str | None) -> Path | None:
            return None if value is None else data_dir / Path(value).expanduser()  # absolute stays absolute

        return cls(host=section.host, port=section.port, username=section.username, password=section.password,
                   tls=section.tls or section.ca_file is not None or section.client_cert is not None,
                   ca_file=path(section.ca_file), client_cert=path(section.client_cert),
                   client_key=path(section.client_key))

    def tls_context(self) -> ssl.SSLContext:
        """The broker's certificate is always checked (host name included); ConfigError names a bad file."""
        for key, file in (("ca_file", self.ca_file), ("client_cert", self.client_cert),
                          ("client_key", self.client_key)):
            if file is not None and not file.is_file():
                raise ConfigError(f"[mqtt] {key} {file} is not a readable file; fix the path or remove the key.")
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.client_cert is not None:
                context.load_cert_chain(str(self.client_cert), str(self.client_key) if self.client_key else None)
        except (ssl.SSLError, OSError) as err:
            raise ConfigError(f"[mqtt] the TLS files could not be loaded ({err.__class__.__name__}: "
                              f"{getattr(err, 'reason', None) or err}); check ca_file, client_cert and "
                              f"client_key.") from None
        return context

    def client(self, client_id: str = "") -> mqtt.Client:
        """A paho client set up for this broker, not yet connected (set the will, then `connect`)."""
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set_context(self.tls_context())
        return client

    def connect(self, client: mqtt.Client) -> None:
        """Connect in the background: paho retries by itself, so an absent broker never holds up the gate."""
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()


class MqttPublisher:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883, topic: str = "gate/events",
                 client_id: str = "", qos: int = 1, include_resident: bool = False,
                 broker: Broker | None = None) -> None:
        self.include_resident = include_resident
        self.topic = topic.rstrip("/")
        self.qos = qos
        broker = broker or Broker(host=host, port=port)
        self.client = broker.client(client_id)
        broker.connect(self.client)

    def publish(self, event: dict[str, Any]) -> None:
        payload = json.dumps(outgoing(event, self.include_resident))
        self.client.publish(f"{self.topic}/{event.get('gate', 'gate')}", payload, qos=self.qos)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
