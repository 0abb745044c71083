"""Changing a few settings in gate.toml from the web UI, keeping the file's comments and layout.

Only a few keys can be set here (MQTT and webhook options). The edited file goes through
the same parser as at start-up (gate.config.parse_settings) before it replaces the old one (atomically),
so the web UI can never write a file the gate would refuse; the change is audited by key name. Changes
apply when `gate serve` restarts.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from gate.config import CONFIG_NAME, Check, check_of, parse_settings
from gate.errors import ConfigError, PolicyError
from gate.store import audit

#: Per-gate keys only: the site-wide ones ([retention], [security], [site], [privacy]) are edited in the
#: database (gate.store.site_settings), for every gate at once.
_EDITABLE_KEYS = {
    "mqtt": ("enabled", "host", "port", "topic"),
    "webhook": ("enabled", "url", "timeout_seconds"),
}


def _check(section: str, key: str) -> Check[object]:
    check = check_of(section, key) if key in _EDITABLE_KEYS.get(section, ()) else None
    if check is None:
        raise PolicyError(f"[{section}] {key} cannot be changed here.")
    return check


#: section -> key -> the Python type its form field is converted to (the page picks the input from it).
EDITABLE: dict[str, dict[str, type]] = {
    section: {key: _check(section, key).kind for key in keys} for section, keys in _EDITABLE_KEYS.items()
}


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # JSON string escapes are valid TOML basic strings


def parse_value(section: str, key: str, text: str) -> object:
    """A form field's text as the key's type; whether the value is allowed is the parser's to say."""
    check = _check(section, key)
    text = text.strip()
    try:
        if check.kind is bool:
            return text.lower() in ("1", "true", "yes", "on")
        if check.kind is int:
            return int(text)
        if check.kind is float:
            return float(text)
    except ValueError as err:
        raise ConfigError(f"[{section}] {key} must be {check.expected}, got {text[:40]!r}.") from err
    return text


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
        _check(section, key)
    path = data_dir / CONFIG_NAME
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    new = edit_text(old, section, values)
    parse_settings(new, data_dir, where=str(path))  # refuses, with the start-up sentence, before anything is written
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
    audit.record(session, actor, "settings.change", f"config:{section}", fields=",".join(sorted(values)))
