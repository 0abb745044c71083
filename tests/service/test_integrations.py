"""MQTT (against the Mosquitto on 127.0.0.1:1883) and the webhook: events out, nothing sensitive."""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from gate.errors import ConfigError
from gate.integrations import RESIDENT_FIELDS, notice_names, outgoing, publishers
from gate.integrations.webhook import WebhookPublisher
from gate.store import notices
from tests.conftest import SITE_NOTICE_FIELDS
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


# -- M5: no resident identifier leaves the site unless the notice names the recipient ------------------
def _collect_mqtt(gate_factory, include_resident: bool) -> dict:
    import paho.mqtt.client as mqtt

    from gate.integrations.mqtt import MqttPublisher

    topic = f"gate-test/m5-{include_resident}-{os.getpid()}"
    received: queue.Queue[dict] = queue.Queue()
    subscribed = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{topic}/#", qos=1)
    sub.on_subscribe = lambda c, u, mid, rc, p: subscribed.set()
    sub.on_message = lambda c, u, msg: received.put(json.loads(msg.payload))
    sub.connect("127.0.0.1", 1883)
    sub.loop_start()
    publisher = MqttPublisher(topic=topic, include_resident=include_resident)
    try:
        assert subscribed.wait(20)
        gate = gate_factory(publishers=(publisher.publish,))
        gate.pin_on_screen(CODE, PIN)
        while (event := received.get(timeout=20)).get("kind") != "access":
            pass
        assert event["granted"] is True
        return event
    finally:
        publisher.close()
        sub.loop_stop()
        sub.disconnect()


@pytest.mark.parametrize("include_resident", [False, True])
def test_mqtt_payload_carries_the_resident_only_when_included(gate_factory, include_resident: bool) -> None:
    if not broker_up():
        pytest.skip("no MQTT broker on 127.0.0.1:1883 (run scripts/test-services to start Mosquitto)")
    event = _collect_mqtt(gate_factory, include_resident)
    if include_resident:
        assert isinstance(event["resident_id"], int)
    else:
        assert not set(event) & RESIDENT_FIELDS, event
        assert CODE not in json.dumps(event) and "Test Resident" not in json.dumps(event)


class _Hook:
    """A local HTTP receiver for the webhook."""

    def __init__(self) -> None:
        self.got: queue.Queue[dict] = queue.Queue()
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                got.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def access_event(self) -> dict:
        while (event := self.got.get(timeout=20)).get("kind") != "access":
            pass
        return event

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _settings_with_webhook(ctx, url: str, include_resident: bool):
    settings = ctx.settings
    return dataclasses.replace(settings, webhook=dataclasses.replace(
        settings.webhook, enabled=True, url=url, include_resident=include_resident))


def _publish_notice(ctx, version: str, processor: str) -> str:
    with ctx.transaction() as session:
        fields = {**notices.default_fields(), **SITE_NOTICE_FIELDS, "processor": processor}
        notices.create_notice(session, version, fields, actor="test", site_days=ctx.settings.template_retention_days)
        return notices.publish_notice(session, version, actor="test").text


def test_webhook_default_payload_has_no_resident_fields(installation, gate_factory) -> None:
    hook = _Hook()
    (publisher,) = publishers(_settings_with_webhook(installation, hook.url, False))
    try:
        gate = gate_factory(publishers=(publisher.publish,))
        gate.pin_on_screen(CODE, PIN)
        event = hook.access_event()
        assert event["granted"] is True and not set(event) & RESIDENT_FIELDS, event
        assert gate.last_access()["resident_id"] is not None  # the gate's own screen still knows who
    finally:
        publisher.close()
        hook.close()


def test_include_resident_is_refused_unless_the_notice_names_the_recipient(installation, gate_factory) -> None:
    hook = _Hook()
    settings = _settings_with_webhook(installation, hook.url, True)
    try:
        with pytest.raises(ConfigError) as refused:
            publishers(settings, None)
        assert "does not name 127.0.0.1" in str(refused.value)
        named_elsewhere = _publish_notice(installation, "m5-a", "The management office; events go to 127.0.0.10.")
        with pytest.raises(ConfigError):
            publishers(settings, named_elsewhere)
        named = _publish_notice(installation, "m5-b", "The management office; gate events go to 127.0.0.1.")
        (publisher,) = publishers(settings, named)
        try:
            gate = gate_factory(publishers=(publisher.publish,))
            gate.pin_on_screen(CODE, PIN)
            assert isinstance(hook.access_event()["resident_id"], int)
        finally:
            publisher.close()
    finally:
        hook.close()


def test_gate_serve_refuses_to_start_with_one_sentence(tmp_path) -> None:
    from click.testing import CliRunner

    from gate.cli import cli
    from gate.install import initialise

    data = tmp_path / "data"
    initialise(data)
    toml = data / "gate.toml"
    text = toml.read_text(encoding="utf-8")
    assert "\n[mqtt]\n" in text
    toml.write_text(text.replace("\n[mqtt]\n", '\n[mqtt]\nenabled = true\nhost = "broker.example.net"\n'
                                 "include_resident = true\n"), encoding="utf-8")
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "serve", "--port", "0"])
    assert result.exit_code != 0
    message = result.output.strip().splitlines()[-1]
    assert "[mqtt] include_resident is on" in message and "broker.example.net" in message
    assert message.count(". ") == 0 and message.endswith(".")


def test_notice_names_a_host_only_as_a_whole_name() -> None:
    assert notice_names('{"processor": "Hooks at hooks.example.org."}', "hooks.example.org")
    assert not notice_names('{"processor": "Hooks at hooks.example.org."}', "example.org")
    assert not notice_names('{"processor": "Hooks at example.org.cn"}', "example.org")
    assert outgoing({"kind": "access", "resident_id": 7}, False) == {"kind": "access"}
