"""Settings: one TOML file in the data folder, a few environment overrides, safe defaults.

The data folder is chosen by `--data-dir` or `GATE_DATA_DIR`. Everything else has a default, so a
fresh `gate init` works with nothing but a folder name.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.errors import ConfigError

CONFIG_NAME = "gate.toml"
#: BIPA 15(a) caps retention after last use at 3 years; PIPL wants the shortest necessary.
MAX_TEMPLATE_RETENTION_DAYS = 3 * 365
DEFAULT_TEMPLATE_RETENTION_DAYS = 365
#: CAC 2025 rules: filing is due at 100,000 people with face data; warn well before.
FACE_FILING_THRESHOLD = 100_000

_KNOWN_SECTIONS = {
    "database", "keys", "retention", "security", "web", "face", "relay", "reader", "camera",
    "gate", "mqtt", "webhook", "site",
}


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    key_file: Path
    template_retention_days: int = DEFAULT_TEMPLATE_RETENTION_DAYS
    face_filing_warn_at: int = 90_000
    pin_max_failures: int = 5
    pin_lockout_base_seconds: int = 30
    face_max_attempts: int = 3
    forbid_face_for_minors: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    sections: dict[str, Any] = field(default_factory=dict)

    @property
    def config_file(self) -> Path:
        return self.data_dir / CONFIG_NAME

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.sections.get(name, {}))


def resolve_data_dir(option: str | os.PathLike[str] | None) -> Path:
    value = option or os.environ.get("GATE_DATA_DIR")
    if not value:
        raise ConfigError(
            "No data folder given: pass --data-dir DIR or set GATE_DATA_DIR (e.g. GATE_DATA_DIR=./data)."
        )
    return Path(value).expanduser().resolve()


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'gate.db'}"


def load_settings(data_dir: Path, *, require_file: bool = False) -> Settings:
    """Read DATA/gate.toml if it exists; environment variables win over the file."""
    path = data_dir / CONFIG_NAME
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{path} is not valid TOML: {err}. Fix the file or run `gate init` in a new folder.") from err
    elif require_file:
        raise ConfigError(f"{path} does not exist: run `gate --data-dir {data_dir} init` first.")

    unknown = set(raw) - _KNOWN_SECTIONS
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(unknown))}.")

    def get(section: str, key: str, default: Any, kind: type) -> Any:
        value = raw.get(section, {}).get(key, default)
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise ConfigError(f"{path}: [{section}] {key} must be {kind.__name__}, got {value!r}.")
        return value

    database_url = os.environ.get("GATE_DATABASE_URL") or get(
        "database", "url", default_database_url(data_dir), str
    )
    key_file = Path(os.environ.get("GATE_KEY_FILE") or get("keys", "master_key_file", "keys/master.key", str))
    if not key_file.is_absolute():
        key_file = data_dir / key_file

    retention = get("retention", "template_days", DEFAULT_TEMPLATE_RETENTION_DAYS, int)
    if not 1 <= retention <= MAX_TEMPLATE_RETENTION_DAYS:
        raise ConfigError(
            f"{path}: [retention] template_days must be between 1 and {MAX_TEMPLATE_RETENTION_DAYS} "
            f"(3 years is the legal maximum), got {retention}."
        )
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        key_file=key_file,
        template_retention_days=retention,
        face_filing_warn_at=get("site", "face_filing_warn_at", 90_000, int),
        pin_max_failures=get("security", "pin_max_failures", 5, int),
        pin_lockout_base_seconds=get("security", "pin_lockout_base_seconds", 30, int),
        face_max_attempts=get("security", "face_max_attempts", 3, int),
        forbid_face_for_minors=get("site", "forbid_face_for_minors", False, bool),
        web_host=get("web", "host", "127.0.0.1", str),
        web_port=get("web", "port", 8080, int),
        sections=raw,
    )


DEFAULT_CONFIG_TEXT = """\
# Gate controller configuration. Paths are relative to this data folder.
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

[web]
# The operator UI listens on localhost only unless you change this (see README: exposing on a LAN).
host = "127.0.0.1"
port = 8080
"""
