"""The broker connection with a user name, password and TLS, against a real Mosquitto started for the test
(TLS listener on a free port, anonymous refused, a password file): Home Assistant's discovery arrives over
it, a wrong password gets nothing, and the password is in no log line."""

from __future__ import annotations

import datetime as dt
import getpass
import ipaddress
import logging
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gate.config import HomeAssistantSection, MqttSection
from gate.errors import ConfigError
from gate.integrations.homeassistant import HomeAssistantBridge
from gate.integrations.mqtt import Broker

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PASSWORD = "Corr3ct-Horse-battery"
pytestmark = pytest.mark.skipif(not (Path(MOSQUITTO).exists() and shutil.which("mosquitto_passwd")),
                                reason="mosquitto and mosquitto_passwd are not installed")


def _pem_pair(tmp: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    ca, cert, key = _pem_pair(tmp_path)
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "gate", PASSWORD], check=True,
                   capture_output=True)
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
                    f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\npersistence false\n"
                    # Run as the test's user: as root, mosquitto would switch to its own user, which
                    # cannot read the test's temporary folder.
                    f"user {getpass.getuser()}\n")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    said = process.stderr.read().decode()[:200] if process.stderr else ""
                    pytest.skip(f"mosquitto did not start: {said}")
                threading.Event().wait(0.1)
        yield port, ca
    finally:
        process.terminate()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


def _bridge(port: int, ca: Path, password: str, data_dir: Path) -> HomeAssistantBridge:
    section = MqttSection(host="127.0.0.1", port=port, username="gate", password=password, ca_file=str(ca))
    broker = Broker.from_section(section, data_dir)
    assert broker.tls  # ca_file implies TLS
    return HomeAssistantBridge(broker, "main", HomeAssistantSection(enabled=True, commands=True))


def test_discovery_over_tls_with_a_password_and_never_the_password_in_the_log(tls_broker, tmp_path, caplog) -> None:
    import paho.mqtt.client as mqtt

    caplog.set_level(logging.DEBUG)
    port, ca = tls_broker
    got = threading.Event()
    listener = Broker(port=port, username="gate", password=PASSWORD, tls=True, ca_file=ca).client()
    listener.on_connect = lambda c, u, f, rc, p: c.subscribe("homeassistant/lock/main/lock/config", qos=1)
    listener.on_message = lambda c, u, m: got.set() if m.retain else None
    bridge = _bridge(port, ca, PASSWORD, tmp_path)
    try:
        bridge.start(lambda: {"lock": "LOCKED"}, lambda command: None, has_door=True)
        assert bridge.ready.wait(20), "the bridge never connected over TLS"
        listener.connect("127.0.0.1", port)
        listener.loop_start()
        assert got.wait(20), "the retained discovery document never arrived over TLS"
    finally:
        bridge.close()
        listener.loop_stop()
        listener.disconnect()
    assert PASSWORD not in caplog.text and PASSWORD not in repr(bridge.__dict__)
    assert isinstance(listener, mqtt.Client)


def test_a_wrong_password_is_refused_and_logged_without_it(tls_broker, tmp_path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    port, ca = tls_broker
    bridge = _bridge(port, ca, "wrong-" + PASSWORD, tmp_path)
    refused = threading.Event()
    handler = logging.Handler()
    handler.emit = lambda record: refused.set() if "refused the connection" in record.getMessage() else None
    logging.getLogger("gate.homeassistant").addHandler(handler)
    try:
        bridge.start(lambda: {}, lambda command: None, has_door=True)
        assert refused.wait(20)
        assert not bridge.ready.is_set()
    finally:
        logging.getLogger("gate.homeassistant").removeHandler(handler)
        bridge.close()
    assert PASSWORD not in caplog.text


def test_a_missing_ca_file_stops_before_anything_starts(tmp_path) -> None:
    section = MqttSection(username="gate", password=PASSWORD, ca_file="keys/none.pem")
    with pytest.raises(ConfigError, match=r"^\[mqtt\] ca_file .*none\.pem is not a readable file; fix the path"):
        HomeAssistantBridge(Broker.from_section(section, tmp_path), "main", HomeAssistantSection(enabled=True))
