"""Changing a few settings in gate.toml from the web UI, keeping the file's comments and layout.

Only known keys of known types can be set (retention days, MQTT and webhook options). The new file is
parsed and loaded with the same checks as at start-up before it replaces the old one (atomically), and
the change is audited by key name. Changes apply when `gate serve` restarts.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from gate.store import audit
from gate.config import CONFIG_NAME, MAX_TEMPLATE_RETENTION_DAYS, load_settings
from gate.errors import ConfigError, PolicyError

EDITABLE: dict[str, dict[str, type]] = {
    "retention": {"template_days": int},
    "mqtt": {"enabled": bool, "host": str, "port": int, "topic": str},
    "webhook": {"enabled": bool, "url": str, "timeout_seconds": float},
}


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # JSON string escapes are valid TOML basic strings


def parse_value(section: str, key: str, text: str) -> object:
    kind = EDITABLE.get(section, {}).get(key)
    if kind is None:
        raise PolicyError(f"[{section}] {key} cannot be changed here.")
    text = text.strip()
    try:
        if kind is bool:
            return text.lower() in ("1", "true", "yes", "on")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError as err:
        raise PolicyError(f"[{section}] {key} must be a {kind.__name__}, got {text[:40]!r}.") from err
    if any(ord(c) < 32 for c in text) or len(text) > 500:
        raise PolicyError(f"[{section}] {key}: control characters or more than 500 characters.")
    return text


def _check(section: str, values: dict[str, object]) -> None:
    if section == "retention":
        days = values.get("template_days")
        if isinstance(days, int) and not 1 <= days <= MAX_TEMPLATE_RETENTION_DAYS:
            raise PolicyError(f"Retention is 1 to {MAX_TEMPLATE_RETENTION_DAYS} days (3 years is the legal maximum).")
    if section == "mqtt" and "port" in values and not 1 <= int(values["port"]) <= 65535:  # type: ignore[call-overload]
        raise PolicyError("An MQTT port is 1 to 65535.")
    if section == "webhook" and values.get("url"):
        parts = urlsplit(str(values["url"]))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PolicyError("A webhook URL starts with http:// or https:// and names a host.")
    if section == "webhook" and "timeout_seconds" in values and not 0.1 <= float(values["timeout_seconds"]) <= 60:  # type: ignore[arg-type]
        raise PolicyError("A webhook timeout is 0.1 to 60 seconds.")


def edit_text(text: str, section: str, values: dict[str, object]) -> str:
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\s*" + re.escape(section) + r"\s*\]\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        lines += ["", f"[{section}]"] + [f"{k} = {_literal(v)}" for k, v in values.items()]
        return "\n".join(lines) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^\s*\[", lines[i])), len(lines))
    pending = dict(values)
    for i in range(start + 1, end):
        match = re.match(r"^\s*([A-Za-z0-9_]+)\s*=", lines[i])
        if match and match.group(1) in pending:
            lines[i] = f"{match.group(1)} = {_literal(pending.pop(match.group(1)))}"
    lines[start + 1:start + 1] = [f"{k} = {_literal(v)}" for k, v in pending.items()]
    return "\n".join(lines) + "\n"


def update_section(session: Session, data_dir: Path, section: str, values: dict[str, object], *, actor: str) -> None:
    for key in values:
        if key not in EDITABLE.get(section, {}):
            raise PolicyError(f"[{section}] {key} cannot be changed here.")
    _check(section, values)
    path = data_dir / CONFIG_NAME
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = edit_text(old, section, values)
    try:
        tomllib.loads(new)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"The edited configuration would not parse ({err}); nothing was changed.") from err
    fd, tmp = tempfile.mkstemp(prefix=".gate.toml.", dir=data_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        load_settings(data_dir)
    except ConfigError:
        path.write_text(old, encoding="utf-8")
        raise
    audit.record(session, actor, "settings.change", f"config:{section}", fields=",".join(sorted(values)))
