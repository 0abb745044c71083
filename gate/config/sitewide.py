"""Which keys of gate.toml are site-wide: one value for every gate, kept in the database.

Two gates of one site must not disagree on who is locked out, which face data is due for deletion or
what the retention schedule says, so these keys live in the database's `site_settings` table
(gate.store.site_settings) and are edited there (`gate site set`, the Settings page). Each keeps the
check it has in gate.toml (gate.config.sections), so the database accepts exactly what the file did.

A site-wide key still written in a gate's gate.toml only seeds the database the first time that key is
stored; after that the file's value is ignored with a logged warning naming it. Everything else in
gate.toml (devices, the web server, the gate's name, integrations) stays per gate.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import TypeVar

from gate.config.checks import BadValue, Check
from gate.config.sections import CONFIG_NAME, SECTIONS
from gate.errors import ConfigError

#: "section.key" of every site-wide setting, in the order they are shown.
SITE_WIDE_KEYS: tuple[str, ...] = (
    "retention.template_days",
    "retention.visitor_days",
    "security.pin_max_failures",
    "security.pin_lockout_base_seconds",
    "security.pin_resident_window_hours",
    "security.pin_gate_free_failures",
    "security.pin_gate_delay_base_seconds",
    "security.pin_gate_delay_max_seconds",
    "security.pin_gate_window_minutes",
    "security.face_max_attempts",
    "site.language",
    "site.timezone",
    "site.forbid_face_for_minors",
    "site.face_filing_warn_at",
    "site.resident_codes",
    "privacy.kiosk_self_service",
)

#: Keys a running `gate serve` reads once when it starts (schedules, the face service and the kiosk's
#: offer are built with them): a change reaches a gate at its next restart. All others apply within
#: a poll (gate.service.site_watch), at every gate, without a restart.
RESTART_KEYS: frozenset[str] = frozenset({"site.timezone", "privacy.kiosk_self_service"})


def split(name: str) -> tuple[str, str]:
    section, _, key = name.partition(".")
    return section, key


def check_for(name: str) -> Check[object]:
    """The gate.toml check of one site-wide key; a key that is not site-wide is refused in one sentence."""
    if name not in SITE_WIDE_KEYS:
        raise ConfigError(f"{name!r} is not a site-wide setting; the site-wide settings are "
                          f"{', '.join(SITE_WIDE_KEYS)}.")
    section, key = split(name)
    for item in dataclasses.fields(SECTIONS[section]):
        if item.name == key:
            check: Check[object] = item.metadata["check"]
            return check
    raise AssertionError(f"{name} has no check in gate.config.sections")  # the list above names real keys


S = TypeVar("S")


def default_of(name: str) -> object:
    section, key = split(name)
    return next(item.default for item in dataclasses.fields(SECTIONS[section]) if item.name == key)


def checked(name: str, value: object) -> object:
    """The value as the key's type, or ConfigError with the sentence gate.toml would get."""
    check = check_for(name)
    try:
        return check(value)
    except BadValue:
        section, key = split(name)
        raise ConfigError(f"[{section}] {key} must be {check.expected}, got {value!r:.80}.") from None


def values_of(settings: object) -> dict[str, object]:
    """Every site-wide key's value in a Settings object."""
    return {name: getattr(getattr(settings, split(name)[0]), split(name)[1]) for name in SITE_WIDE_KEYS}


def written_in_file(data_dir: Path) -> dict[str, object]:
    """The site-wide keys gate.toml itself sets (a default is not a setting), checked as at load."""
    path = data_dir / CONFIG_NAME
    if not path.exists():
        return {}
    raw = tomllib.loads(path.read_text(encoding="utf-8"))  # already parsed and checked by load_settings
    found: dict[str, object] = {}
    for name in SITE_WIDE_KEYS:
        section, key = split(name)
        table = raw.get(section)
        if isinstance(table, dict) and key in table:
            found[name] = checked(name, table[key])
    return found


def overlay(settings: S, values: dict[str, object]) -> S:
    """`settings` with the site-wide keys taken from `values` (keys not in it keep their value)."""
    changes: dict[str, object] = {}
    for section in {split(name)[0] for name in values}:
        keys = {split(name)[1]: value for name, value in values.items() if split(name)[0] == section}
        changes[section] = dataclasses.replace(getattr(settings, section), **keys)
    return dataclasses.replace(settings, **changes)  # type: ignore[type-var]
