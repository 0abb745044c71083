"""How one TOML value becomes a typed value: a check per key, and the words for what it must be."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T")
S = TypeVar("S", bound="DataclassInstance")


class BadValue(ValueError):
    """A value failed its check; the caller turns it into the sentence naming file, section and key."""


@dataclass(frozen=True)
class Check(Generic[T]):
    """How one TOML value becomes a typed value, and the words for what it must be."""

    kind: type  # the Python type the value becomes (the web UI's editor converts form text to it)
    expected: str  # completes "[section] key must be ..."
    convert: Callable[[object], T]
    secret: bool = False  # a refused value is never repeated in the error (a password)

    def __call__(self, value: object) -> T:
        return self.convert(value)


def whole(lo: int, hi: int, unit: str = "", note: str = "") -> Check[int]:
    def convert(value: object) -> int:
        # TOML's true is a bool, and bool is an int in Python: it must not pass as 1.
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise BadValue
        return value

    return Check(int, f"a whole number{' of ' + unit if unit else ''} between {lo} and {hi}{note}", convert)


def number(lo: float, hi: float, unit: str) -> Check[float]:
    def convert(value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
            raise BadValue
        return float(value)

    return Check(float, f"a number of {unit} between {lo:g} and {hi:g}", convert)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise BadValue
    return value


FLAG = Check(bool, "true or false", _flag)


def text(expected: str, valid: Callable[[str], bool] = lambda _: True, max_length: int = 500) -> Check[str]:
    def convert(value: object) -> str:
        if (not isinstance(value, str) or not value.strip() or len(value) > max_length
                or any(ord(c) < 32 or ord(c) == 127 for c in value) or not valid(value)):
            raise BadValue
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


def is_timezone(value: str) -> bool:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


CAMERA_SOURCE = re.compile(r"(?:device:\d+|(?:rtsps?|https?)://\S+|(?:file|folder|pushed):\S.*)", re.IGNORECASE)


def _string_list(value: object, valid: Callable[[str], bool]) -> tuple[str, ...]:
    """A non-empty TOML list of strings, each passing `valid`."""
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise BadValue
    if not all(valid(item) for item in value):
        raise BadValue
    return tuple(value)


def _is_ip_address(item: str) -> bool:
    try:
        ipaddress.ip_address(item)
    except ValueError:
        return False
    return True


def _addresses(value: object) -> tuple[str, ...]:
    return _string_list(value, _is_ip_address)


_HOST_NAME = re.compile(r"\.?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?")


def _host_names(value: object) -> tuple[str, ...]:
    return _string_list(value, lambda item: _is_ip_address(item)
                        or (len(item) <= 253 and _HOST_NAME.fullmatch(item) is not None))


HOST = text("a host name or IP address", lambda v: not any(c.isspace() for c in v), max_length=253)
PORT = whole(1, 65535)
DATABASE_URL = text('a database URL such as "sqlite:////srv/gate/gate.db" or '
                    '"postgresql+psycopg://gate@127.0.0.1:5432/gate"', _is_database_url, max_length=2000)
PATH = text("a file path")
HTTP_URL = text("an http:// or https:// URL naming a host", _is_http_url, max_length=2000)
MQTT_TOPIC = text("an MQTT topic without the wildcards + and #", lambda v: not set(v) & {"+", "#"})
#: A password: any non-empty text; when refused, the error does not repeat it.
SECRET = Check(str, "a non-empty text without control characters", text("").convert, secret=True)
ADDRESSES = Check(tuple, 'a list of IP addresses such as ["127.0.0.1", "::1"]', _addresses)
HOST_NAMES = Check(tuple, 'a list of host names or IP addresses such as ["gate.example.cn", "192.168.1.20"] '
                          '(".example.cn" allows its subdomains)', _host_names)


def setting(default: T, check: Check[T], meaning: str) -> T:
    """A key with a default (typed as its value, so the section dataclasses read naturally)."""
    return field(default=default, metadata={"check": check, "meaning": meaning})


def optional(check: Check[T], meaning: str) -> T | None:
    """A key that is off (None) unless given."""
    return field(default=None, metadata={"check": check, "meaning": meaning})


def secret(check: Check[T], meaning: str) -> T | None:
    """An optional key holding a secret: left out of the section's repr, so a logged settings object
    never shows it."""
    return field(default=None, repr=False, metadata={"check": check, "meaning": meaning})
