"""MQTT (against the Mosquitto on 127.0.0.1:1883) and the webhook: events out, nothing sensitive."""

from __future__ import annotations

import json
import queue
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from gate.integrations.webhook import WebhookPublisher
from tests.service.conftest import CODE, PIN


def broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=2):
            return True
    except OSError:
        return False


def test_events_are_published_over_mqtt(gate_factory) -> None:
    if not broker_up():
        pytest.skip("no MQTT broker on 127.0.0.1:1883 (run scripts/test-services to start Mosquitto)")
    import paho.mqtt.client as mqtt

    from gate.integrations.mqtt import MqttPublisher

    received: queue.Queue[dict] = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("gate-test/events/#", qos=1)
    sub.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
    sub.on_message = lambda c, u, msg: received.put(json.loads(msg.payload))
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    publisher = MqttPublisher(topic="gate-test/events")
    try:
        assert subscribed.wait(20)
        gate = gate_factory(publishers=(publisher.publish,))
        gate.pin_on_screen(CODE, PIN)
        while True:
            event = received.get(timeout=20)
            if event.get("kind") == "access":
                break
        assert event["granted"] is True and event["method"] == "pin" and event["gate"] == "main"
        assert PIN not in json.dumps(event)
    finally:
        publisher.close()
        sub.loop_stop()
        sub.disconnect()


def test_webhook_posts_events_off_the_gate_thread() -> None:
    got: queue.Queue[dict] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hook = WebhookPublisher(f"http://127.0.0.1:{server.server_port}/hook")
    try:
        hook.publish({"kind": "access", "granted": True})
        assert got.get(timeout=20) == {"kind": "access", "granted": True}
    finally:
        hook.close()
        server.shutdown()
        server.server_close()
