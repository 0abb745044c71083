"""Card readers.  ``make_reader`` picks the backend named in the ``[reader]`` config from ``READERS``.

Backends are imported only when chosen: a line reader never loads libosdp.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from drivers.readers.base import (
    CardRead,
    KeyPress,
    Reader,
    ReaderDevice,
    ReaderEvent,
    ReaderFault,
    ReaderHealth,
    ReaderStatus,
)
from drivers.registry import Registry

if TYPE_CHECKING:
    from drivers.config import ReaderConfig

__all__ = [
    "READERS", "CardRead", "KeyPress", "Reader", "ReaderDevice", "ReaderEvent", "ReaderFault", "ReaderHealth",
    "ReaderStatus", "make_reader",
]

READERS: Registry[Reader] = Registry("reader", Reader, {
    "osdp": "drivers.readers.osdp:OsdpReader",
    "line": "drivers.readers.line:LineReader",
})


def make_reader(config: ReaderConfig, on_event: Callable[[ReaderEvent], None] | None = None) -> Reader:
    """A reader for ``config``, not yet started."""
    return READERS.load(config.backend).from_config(config, on_event)
