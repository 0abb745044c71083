"""Card readers.  ``make_reader`` picks the backend named in the ``[reader]`` config."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from drivers.backoff import Backoff
from drivers.readers.base import (
    CardRead, KeyPress, Reader, ReaderEvent, ReaderFault, ReaderHealth, ReaderStatus,
)

if TYPE_CHECKING:
    from drivers.config import ReaderConfig

__all__ = [
    "CardRead", "KeyPress", "Reader", "ReaderEvent", "ReaderFault", "ReaderHealth",
    "ReaderStatus", "make_reader",
]


def make_reader(config: ReaderConfig, on_event: Callable[[ReaderEvent], None] | None = None) -> Reader:
    """A reader for ``config``, not yet started."""
    backoff = Backoff(config.reconnect_initial_ms / 1000, config.reconnect_max_ms / 1000)
    if config.backend == "osdp":
        cls = importlib.import_module("drivers.readers.osdp").OsdpReader
        assert config.key is not None
        return cls(
            config.port, key=config.key, address=config.address, name=config.name,
            baudrate=config.baudrate, install_mode=config.install_mode,
            offline_after=config.offline_after_ms / 1000, feedback_ms=config.feedback_ms,
            backoff=backoff, on_event=on_event,
        )
    cls = importlib.import_module("drivers.readers.line").LineReader
    return cls(
        config.port, name=config.name, baudrate=config.baudrate, pattern=config.pattern,
        base=config.base, bits=config.bits, backoff=backoff, on_event=on_event,
    )
