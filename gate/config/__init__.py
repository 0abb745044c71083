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
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from drivers.config import DriverConfigError, ReaderConfig, RelayConfig, parse_reader, parse_relay
from gate.config.checks import DATABASE_URL, PATH, BadValue, Check, S, T
from gate.config.default_file import DEFAULT_CONFIG_TEXT
from gate.config.sections import (
    CONFIG_NAME,
    DEFAULT_IDLE_MINUTES,
    DEFAULT_KIOSK_CLIENTS,
    DEFAULT_TEMPLATE_RETENTION_DAYS,
    DRIVER_SECTIONS,
    ENV_DATABASE_URL,
    ENV_KEY_FILE,
    FACE_FILING_THRESHOLD,
    MAX_TEMPLATE_RETENTION_DAYS,
    SECTIONS,
    CameraSection,
    DatabaseSection,
    FaceSection,
    GateSection,
    HomeAssistantSection,
    KeysSection,
    LogSection,
    MetricsSection,
    MqttSection,
    PrivacySection,
    RetentionSection,
    SecuritySection,
    SiteSection,
    WebhookSection,
    WebSection,
)
from gate.errors import ConfigError


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
    homeassistant: HomeAssistantSection = HomeAssistantSection()
    webhook: WebhookSection = WebhookSection()
    site: SiteSection = SiteSection()
    privacy: PrivacySection = PrivacySection()
    metrics: MetricsSection = MetricsSection()
    log: LogSection = LogSection()
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
        except BadValue:
            got = "a value not shown here" if check.secret else _shown(value)
            raise ConfigError(f"{where}: [{name}] {key} must be {check.expected}, got {got}.") from None
    return cls(**values)


def _from_environment(environ: Mapping[str, str], variable: str, check: Check[T]) -> T | None:
    value = environ.get(variable)
    if not value:
        return None
    try:
        return check(value)
    except BadValue:
        raise ConfigError(f"{variable} must be {check.expected}, got {_shown(value)}.") from None


def _check_broker(mqtt: MqttSection, where: str) -> None:
    """The [mqtt] keys that only make sense together."""
    if mqtt.password is not None and mqtt.username is None:
        raise ConfigError(f"{where}: [mqtt] password is set but username is not; set both or neither.")
    if mqtt.client_key is not None and mqtt.client_cert is None:
        raise ConfigError(f"{where}: [mqtt] client_key is set but client_cert is not; set client_cert too.")


def parse_settings(text: str, data_dir: Path, *, where: str,
                   environ: Mapping[str, str] | None = None) -> Settings:
    """Parse gate.toml's text (the environment's overrides applied) or refuse it with one sentence."""
    environ = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(
            f"{where} is not valid TOML: {err}. Fix the file or run `gate init` in a new folder."
        ) from err

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
    privacy = section(PrivacySection)
    log = section(LogSection)
    metrics = section(MetricsSection)
    homeassistant = section(HomeAssistantSection)
    _check_broker(mqtt, where)
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
        homeassistant=homeassistant, webhook=webhook, site=site, privacy=privacy, metrics=metrics, log=log,
        relay=relay, reader=reader,
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


__all__ = [
    "CONFIG_NAME",
    "CameraSection",
    "Check",
    "DEFAULT_CONFIG_TEXT",
    "DEFAULT_IDLE_MINUTES",
    "DEFAULT_KIOSK_CLIENTS",
    "DEFAULT_TEMPLATE_RETENTION_DAYS",
    "DRIVER_SECTIONS",
    "DatabaseSection",
    "ENV_DATABASE_URL",
    "ENV_KEY_FILE",
    "FACE_FILING_THRESHOLD",
    "FaceSection",
    "GateSection",
    "HomeAssistantSection",
    "KeysSection",
    "LogSection",
    "MAX_TEMPLATE_RETENTION_DAYS",
    "MetricsSection",
    "MqttSection",
    "PrivacySection",
    "RetentionSection",
    "SECTIONS",
    "SecuritySection",
    "Settings",
    "SiteSection",
    "WebSection",
    "WebhookSection",
    "check_of",
    "default_database_url",
    "load_settings",
    "parse_settings",
    "resolve_data_dir",
]
