"""Settings: one TOML file in the data folder, a few environment overrides, safe defaults.

The data folder is chosen by `--data-dir` or `GATE_DATA_DIR`. Everything else has a default, so a
fresh `gate init` works with nothing but a folder name.

gate.toml is parsed once, at load, into one frozen dataclass per section (`settings.web.idle_minutes`,
`settings.mqtt.host`, ...). Each key carries its own check, so an unknown section, an unknown key or a
bad value is refused right there with one sentence naming the file, the section, the key and what is
expected, instead of surfacing later as a traceback wherever the value happens to be used. [relay] and
[reader] are parsed by `drivers.config` and validated here at the same moment. The web UI's editor
(gate.site_config) validates through the same parser. docs/configuration.md lists every key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drivers.config import DriverConfigError, ReaderConfig, RelayConfig, parse_reader, parse_relay
from gate.errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

CONFIG_NAME = "gate.toml"
#: BIPA 15(a) caps retention after last use at 3 years; PIPL wants the shortest necessary.
MAX_TEMPLATE_RETENTION_DAYS = 3 * 365
DEFAULT_TEMPLATE_RETENTION_DAYS = 365
#: CAC 2025 rules: filing is due at 100,000 people with face data; warn well before.
FACE_FILING_THRESHOLD = 100_000
DEFAULT_IDLE_MINUTES = 15
DEFAULT_KIOSK_CLIENTS = ("127.0.0.1", "::1")
#: Environment variables that win over the file (GATE_DATA_DIR picks the folder itself).
ENV_DATABASE_URL = "GATE_DATABASE_URL"
ENV_KEY_FILE = "GATE_KEY_FILE"

T = TypeVar("T")
S = TypeVar("S", bound="DataclassInstance")


class _Bad(ValueError):
    """A value failed its check; the caller turns it into the sentence naming file, section and key."""


@dataclass(frozen=True)
class Check(Generic[T]):
    """How one TOML value becomes a typed value, and the words for what it must be."""

    kind: type  # the Python type the value becomes (the web UI's editor converts form text to it)
    expected: str  # completes "[section] key must be ..."
    convert: Callable[[object], T]

    def __call__(self, value: object) -> T:
        return self.convert(value)


def whole(lo: int, hi: int, unit: str = "", note: str = "") -> Check[int]:
    def convert(value: object) -> int:
        # TOML's true is a bool, and bool is an int in Python: it must not pass as 1.
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise _Bad
        return value

    return Check(int, f"a whole number{' of ' + unit if unit else ''} between {lo} and {hi}{note}", convert)


def number(lo: float, hi: float, unit: str) -> Check[float]:
    def convert(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise _Bad
        return float(value)

    return Check(float, f"a number of {unit} between {lo:g} and {hi:g}", convert)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Bad
    return value


FLAG = Check(bool, "true or false", _flag)


def text(expected: str, valid: Callable[[str], bool] = lambda _: True, max_length: int = 500) -> Check[str]:
    def convert(value: object) -> str:
        if (not isinstance(value, str) or not value.strip() or len(value) > max_length
                or any(ord(c) < 32 or ord(c) == 127 for c in value) or not valid(value)):
            raise _Bad
        return value

    return Check(str, expected, convert)


def _is_database_url(value: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value)
    except ArgumentError:
        return False
    return True


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_timezone(value: str) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_CAMERA = re.compile(r"(?:device:\d+|(?:rtsps?|https?)://\S+|(?:file|folder|pushed):\S.*)", re.IGNORECASE)


def _addresses(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise _Bad
    for item in value:
        try:
            ipaddress.ip_address(item)
        except ValueError:
            raise _Bad from None
    return tuple(value)


HOST = text("a host name or IP address", lambda v: not any(c.isspace() for c in v), max_length=253)
PORT = whole(1, 65535)
DATABASE_URL = text('a database URL such as "sqlite:////srv/gate/gate.db" or '
                    '"postgresql+psycopg://gate@127.0.0.1:5432/gate"', _is_database_url, max_length=2000)
PATH = text("a file path")
HTTP_URL = text("an http:// or https:// URL naming a host", _is_http_url, max_length=2000)
ADDRESSES = Check(tuple, 'a list of IP addresses such as ["127.0.0.1", "::1"]', _addresses)


def setting(default: T, check: Check[T], meaning: str) -> T:
    """A key with a default (typed as its value, so the section dataclasses read naturally)."""
    return field(default=default, metadata={"check": check, "meaning": meaning})


def optional(check: Check[T], meaning: str) -> T | None:
    """A key that is off (None) unless given."""
    return field(default=None, metadata={"check": check, "meaning": meaning})


@dataclass(frozen=True)
class DatabaseSection:
    url: str = setting("", DATABASE_URL, "SQLAlchemy URL of the database (by default the SQLite file "
                       "gate.db in the data folder). Use PostgreSQL when several gates share one database. "
                       f"{ENV_DATABASE_URL} wins over it.")


@dataclass(frozen=True)
class KeysSection:
    master_key_file: Path = setting(Path("keys/master.key"),
                                    Check(Path, "a file path", lambda v: Path(PATH(v))),
                                    "The master key file, relative to the data folder unless absolute; keep it on "
                                    f"separate storage if you can. {ENV_KEY_FILE} wins over it.")


@dataclass(frozen=True)
class RetentionSection:
    template_days: int = setting(
        DEFAULT_TEMPLATE_RETENTION_DAYS,
        whole(1, MAX_TEMPLATE_RETENTION_DAYS, "days", " (3 years is the legal maximum)"),
        "Face templates unused for this many days are deleted by `gate purge`; a consent may set a shorter period.")


@dataclass(frozen=True)
class SecuritySection:
    pin_max_failures: int = setting(5, whole(1, 100), "Wrong PINs in a row before the PIN is locked.")
    pin_lockout_base_seconds: int = setting(30, whole(1, 86_400, "seconds"),
                                            "First PIN lockout; it doubles with each further lockout.")
    face_max_attempts: int = setting(3, whole(1, 10), "Failed face checks before face is refused; card and "
                                                      "PIN still work.")


@dataclass(frozen=True)
class WebSection:
    host: str = setting("127.0.0.1", HOST, "Address the operator UI listens on; keep it local and put a "
                                           "TLS reverse proxy in front to reach it from a LAN.")
    port: int = setting(8080, PORT, "Port the operator UI listens on.")
    tls: bool = setting(False, FLAG, "The UI is reached over https (via a reverse proxy): Secure cookies, HSTS, "
                                     "strict CSRF referrer checks.")
    tls_cert: str | None = optional(PATH, "Path of the site certificate; setting it implies tls = true.")
    idle_minutes: int = setting(DEFAULT_IDLE_MINUTES, whole(1, 1440, "minutes"),
                                "An operator session ends after this many idle minutes.")
    proxy_hops: int = setting(0, whole(0, 10), "How many X-Forwarded-* hops (reverse proxies) to trust; 0 trusts "
                                               "none.")


@dataclass(frozen=True)
class FaceSection:
    """No keys yet: a gate's face threshold and liveness are set per gate (`gate gates set`, Settings page)."""


@dataclass(frozen=True)
class GateSection:
    name: str = setting("main", text("a gate name", max_length=64), "Which gate (as in `gate gates list`) this "
                                                                     "process runs.")
    claim_timeout: float = setting(20.0, number(1, 600, "seconds"), "How long the gate waits while a person "
                                                                    "chooses a way in or types a code or PIN.")
    face_timeout: float = setting(15.0, number(1, 600, "seconds"), "The camera is on at most this long per face "
                                                                   "check.")
    refusal_timeout: float = setting(8.0, number(1, 600, "seconds"), "How long a refusal stays on the screen.")
    held_open_seconds: float = setting(30.0, number(1, 3600, "seconds"), "A door open longer than this raises the "
                                                                         "held-open alarm.")
    offline_cache_hours: float = setting(24.0, number(0.1, 720, "hours"), "How old the offline cache may be and "
                                                                          "still admit card and PIN while the "
                                                                          "database is away.")
    cache_refresh_seconds: float = setting(60.0, number(1, 3600, "seconds"), "How often the offline cache is "
                                                                             "refreshed from the database.")
    kiosk_clients: tuple[str, ...] = setting(DEFAULT_KIOSK_CLIENTS, ADDRESSES,
                                             "Addresses allowed to press the kiosk screen's buttons (the gate's own "
                                             "screen).")


@dataclass(frozen=True)
class CameraSection:
    source: str | None = optional(
        text('a camera such as "device:0", "rtsp://host/stream", "file:PATH", "folder:PATH" or "pushed:NAME"',
             lambda v: _CAMERA.fullmatch(v.strip()) is not None),
        "The gate's camera; without it face is unavailable (card and PIN work).")


@dataclass(frozen=True)
class MqttSection:
    enabled: bool = setting(False, FLAG, "Publish gate events to an MQTT broker.")
    host: str = setting("127.0.0.1", HOST, "The broker's host.")
    port: int = setting(1883, PORT, "The broker's port.")
    topic: str = setting("gate/events", text("an MQTT topic without the wildcards + and #",
                                             lambda v: not set(v) & {"+", "#"}),
                         "Events go to <topic>/<gate name>.")


@dataclass(frozen=True)
class WebhookSection:
    enabled: bool = setting(False, FLAG, "POST gate events as JSON to url.")
    url: str = setting("", HTTP_URL, "Where events are posted; required when enabled.")
    timeout_seconds: float = setting(5.0, number(0.1, 60, "seconds"), "How long one post may take.")


@dataclass(frozen=True)
class SiteSection:
    timezone: str = setting("UTC", text('an IANA time zone such as "Asia/Shanghai"', _is_timezone),
                            "The site's local time, for schedules and holidays.")
    forbid_face_for_minors: bool = setting(False, FLAG, "Forbid face for residents under 14 altogether (PIPL "
                                                        "art. 31, strict reading).")
    face_filing_warn_at: int = setting(90_000, whole(1, FACE_FILING_THRESHOLD),
                                       "Warn when this many people have face data (filing is due at 100,000).")


#: The sections gate parses itself, in the order the documentation lists them.
SECTIONS: dict[str, type] = {
    "database": DatabaseSection, "keys": KeysSection, "retention": RetentionSection,
    "security": SecuritySection, "web": WebSection, "face": FaceSection, "gate": GateSection,
    "camera": CameraSection, "mqtt": MqttSection, "webhook": WebhookSection, "site": SiteSection,
}
#: Parsed by drivers.config (validated here at load).
DRIVER_SECTIONS = ("relay", "reader")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database: DatabaseSection  # url is the one in effect: environment, file or the SQLite default
    keys: KeysSection  # master_key_file is absolute and the one in effect
    retention: RetentionSection = RetentionSection()
    security: SecuritySection = SecuritySection()
    web: WebSection = WebSection()
    face: FaceSection = FaceSection()
    gate: GateSection = GateSection()
    camera: CameraSection = CameraSection()
    mqtt: MqttSection = MqttSection()
    webhook: WebhookSection = WebhookSection()
    site: SiteSection = SiteSection()
    relay: RelayConfig | None = None
    reader: ReaderConfig | None = None

    @property
    def config_file(self) -> Path:
        return self.data_dir / CONFIG_NAME

    # The flat names many callers (access, store, CLI) use; each is one section's key.
    @property
    def database_url(self) -> str:
        return self.database.url

    @property
    def key_file(self) -> Path:
        return self.keys.master_key_file

    @property
    def template_retention_days(self) -> int:
        return self.retention.template_days

    @property
    def pin_max_failures(self) -> int:
        return self.security.pin_max_failures

    @property
    def pin_lockout_base_seconds(self) -> int:
        return self.security.pin_lockout_base_seconds

    @property
    def face_max_attempts(self) -> int:
        return self.security.face_max_attempts

    @property
    def face_filing_warn_at(self) -> int:
        return self.site.face_filing_warn_at

    @property
    def forbid_face_for_minors(self) -> bool:
        return self.site.forbid_face_for_minors

    @property
    def web_host(self) -> str:
        return self.web.host

    @property
    def web_port(self) -> int:
        return self.web.port


def resolve_data_dir(option: str | os.PathLike[str] | None) -> Path:
    value = option or os.environ.get("GATE_DATA_DIR")
    if not value:
        raise ConfigError(
            "No data folder given: pass --data-dir DIR or set GATE_DATA_DIR (e.g. GATE_DATA_DIR=./data)."
        )
    return Path(value).expanduser().resolve()


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'gate.db'}"


def check_of(section: str, key: str) -> Check[object] | None:
    """The check for one key of a gate-parsed section (None when there is no such key)."""
    cls = SECTIONS.get(section)
    if cls is None:
        return None
    for item in dataclasses.fields(cls):
        if item.name == key:
            check: Check[object] = item.metadata["check"]
            return check
    return None


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _sentence(message: str) -> str:
    return message if message.endswith((".", "!", "?")) else message + "."


def _parse_section(cls: type[S], name: str, raw: object, where: str) -> S:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{name}] must be a table of settings, got {_shown(raw)}.")
    known = {item.name: item for item in dataclasses.fields(cls)}
    values: dict[str, object] = {}
    for key, value in raw.items():
        spec = known.get(key)
        if spec is None:
            allowed = (f"the [{name}] keys are {', '.join(sorted(known))}" if known
                       else f"[{name}] takes no keys")
            raise ConfigError(f"{where}: [{name}] {key} is not a known key; {allowed}.")
        check: Check[object] = spec.metadata["check"]
        try:
            values[key] = check(value)
        except _Bad:
            raise ConfigError(f"{where}: [{name}] {key} must be {check.expected}, got {_shown(value)}.") from None
    return cls(**values)


def _from_environment(environ: Mapping[str, str], variable: str, check: Check[T]) -> T | None:
    value = environ.get(variable)
    if not value:
        return None
    try:
        return check(value)
    except _Bad:
        raise ConfigError(f"{variable} must be {check.expected}, got {_shown(value)}.") from None


def parse_settings(text: str, data_dir: Path, *, where: str,
                   environ: Mapping[str, str] | None = None) -> Settings:
    """Parse gate.toml's text (the environment's overrides applied) or refuse it with one sentence."""
    environ = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where} is not valid TOML: {err}. Fix the file or run `gate init` in a new folder.") from err

    unknown = sorted(set(raw) - set(SECTIONS) - set(DRIVER_SECTIONS))
    if unknown:
        known = ", ".join(sorted((*SECTIONS, *DRIVER_SECTIONS)))
        raise ConfigError(f"{where}: [{unknown[0]}] is not a known section; the sections are {known}.")

    def section(cls: type[S]) -> S:
        name = next(name for name, known in SECTIONS.items() if known is cls)
        return _parse_section(cls, name, raw.get(name, {}), where)

    database = section(DatabaseSection)
    url = (_from_environment(environ, ENV_DATABASE_URL, DATABASE_URL) or database.url
           or default_database_url(data_dir))
    keys = section(KeysSection)
    key_file = _from_environment(environ, ENV_KEY_FILE, Check(Path, "a file path", lambda v: Path(PATH(v))))
    key_file = key_file or keys.master_key_file
    if not key_file.is_absolute():
        key_file = data_dir / key_file

    retention, security, web, face = (section(RetentionSection), section(SecuritySection), section(WebSection),
                                      section(FaceSection))
    gate, camera, mqtt, webhook, site = (section(GateSection), section(CameraSection), section(MqttSection),
                                         section(WebhookSection), section(SiteSection))
    if webhook.enabled and not webhook.url:
        raise ConfigError(f"{where}: [webhook] url must be set to an http:// or https:// URL when enabled = true.")

    try:
        # An empty [relay] or [reader] table (a header left for later) means no such device, as before.
        relay = parse_relay(raw["relay"]) if raw.get("relay", {}) != {} else None
        reader = parse_reader(raw["reader"], base_dir=data_dir) if raw.get("reader", {}) != {} else None
    except DriverConfigError as err:
        raise ConfigError(f"{where}: {_sentence(str(err))}") from err

    return Settings(
        data_dir=data_dir, database=DatabaseSection(url=url), keys=KeysSection(master_key_file=key_file),
        retention=retention, security=security, web=web, face=face, gate=gate, camera=camera, mqtt=mqtt,
        webhook=webhook, site=site, relay=relay, reader=reader,
    )


def load_settings(data_dir: Path, *, require_file: bool = False) -> Settings:
    """Read DATA/gate.toml if it exists; environment variables win over the file."""
    path = data_dir / CONFIG_NAME
    if path.exists():
        text = path.read_text(encoding="utf-8")
    elif require_file:
        raise ConfigError(f"{path} does not exist: run `gate --data-dir {data_dir} init` first.")
    else:
        text = ""
    return parse_settings(text, data_dir, where=str(path))


DEFAULT_CONFIG_TEXT = """\
# Gate controller configuration. Paths are relative to this data folder.
# Every key is listed; a commented-out key has the value shown as its default.
# docs/configuration.md describes each one. Unknown keys or bad values stop the gate with a message.
# Environment overrides: GATE_DATABASE_URL, GATE_KEY_FILE.

[database]
# url = "postgresql+psycopg://gate@127.0.0.1:5432/gate"   # multi-gate sites
# Default: SQLite file gate.db in this folder.

[keys]
# Keep the master key on separate storage if you can (e.g. a USB key or a TPM-backed mount).
master_key_file = "keys/master.key"

[retention]
# Face templates unused for this many days are deleted by `gate purge` (1..1095).
template_days = 365

[security]
pin_max_failures = 5
pin_lockout_base_seconds = 30
face_max_attempts = 3

[site]
# Set true to forbid face for residents under 14 altogether (PIPL art. 31 strict reading).
forbid_face_for_minors = false
# timezone = "UTC"              # IANA name, e.g. "Asia/Shanghai": schedules use the site's local time
# face_filing_warn_at = 90000   # warn before the 100,000-person filing threshold

[web]
# The operator UI listens on localhost only unless you change this (see README: exposing on a LAN).
host = "127.0.0.1"
port = 8080
# tls = false                   # true behind a TLS reverse proxy: Secure cookies, HSTS
# tls_cert = "/etc/ssl/gate.pem"   # setting it implies tls = true
# idle_minutes = 15             # operator sessions end after this many idle minutes (1..1440)
# proxy_hops = 0                # X-Forwarded-* hops to trust (the reverse proxy)

[gate]
# name = "main"                 # which gate this process runs
# claim_timeout = 20            # seconds
# face_timeout = 15
# refusal_timeout = 8
# held_open_seconds = 30
# offline_cache_hours = 24
# cache_refresh_seconds = 60
# kiosk_clients = ["127.0.0.1", "::1"]   # who may press the kiosk's buttons (the local screen)

[camera]
# source = "device:0"           # or "rtsp://...", "file:PATH", "folder:PATH"; none: face unavailable

[mqtt]
# enabled = false
# host = "127.0.0.1"
# port = 1883
# topic = "gate/events"         # events go to <topic>/<gate name>

[webhook]
# enabled = false
# url = "https://example.org/hooks/gate"
# timeout_seconds = 5

# [face] has no keys yet: face threshold and liveness are set per gate (`gate gates set`).

# Devices (see hardware/README.md; `gate sim config` prints a working set):
# [relay]
# backend = "modbus"            # modbus, lcus or simulated
# port = "/dev/serial/by-id/usb-...-port0"
# baudrate = 9600
# parity = "N"
# stopbits = 1
# slave_id = 1
# outputs = 8
# inputs = 8
# coil_base = 0
# input_base = 0
# reply_timeout_ms = 300
# reconnect_initial_ms = 200
# reconnect_max_ms = 10000
# [relay.door]
# mode = "door"                 # or "turnstile"
# failure_mode = "secure"       # "safe" only for escape routes
# release_output = 0
# pulse_ms = 3000
# door_sensor_input = 0
# exit_button_input = 1
# fire_alarm_input = 2
# passage_sensor_input = 3
# passage_window_ms = 5000
# poll_ms = 50
# [reader]
# backend = "osdp"              # or "line"
# port = "/dev/serial/by-id/usb-...-port0"
# baudrate = 9600
# name = "reader"
# address = 0                   # OSDP only
# key_file = "keys/reader.key"  # OSDP secure channel key: 32 hex digits in a file (0600)
# key = "<32 hex digits>"       # the same key written here instead of key_file
# install_mode = false
# offline_after_ms = 2000
# feedback_ms = 2000
# pattern = '^\\s*(?P<card>[0-9A-Fa-fxX:,]+)\\s*$'   # line readers only
# base = "auto"                 # "auto", "10" or "16"
# bits = 26
# reconnect_initial_ms = 200
# reconnect_max_ms = 10000
"""
