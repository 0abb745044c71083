"""Backends by name, imported only when chosen (as pyserial's serial_for_url picks a handler).

Each device kind keeps one ``Registry``: relay boards by ``[relay] backend``, readers by
``[reader] backend``, cameras by the scheme of ``[camera] source``.  An entry is a
``"module:Class"`` string, so choosing Modbus never loads libosdp or OpenCV, and a site can
register its own board without editing the drivers.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Generic, TypeGuard, TypeVar

from drivers.errors import DriverConfigError

B = TypeVar("B")


class Registry(Generic[B]):
    # ``base`` is a plain ``type``: mypy refuses an abstract class where ``type[B]`` is expected,
    # and every base here is abstract.  B comes from the annotation, e.g. ``Registry[RelayBoard]``.
    def __init__(self, kind: str, base: type, entries: Mapping[str, str]) -> None:
        self.kind = kind
        self.base = base
        self._entries: dict[str, str] = {}
        for name, target in entries.items():
            self.register(name, target)

    def register(self, name: str, target: str) -> None:
        """Make ``name`` choose ``target`` ("package.module:Class", a subclass of the base)."""
        module, sep, attr = target.partition(":")
        if not name or not sep or not module or not attr:
            raise ValueError(
                f"A {self.kind} backend is registered as name -> 'module:Class', got {name!r} -> {target!r}."
            )
        self._entries[name] = target

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def load(self, name: str) -> type[B]:
        """The backend class for ``name``; its module is imported now, not before."""
        target = self._entries.get(name)
        if target is None:
            raise DriverConfigError(
                f"Unknown {self.kind} backend {name!r}: use one of {', '.join(self._entries)}."
            )
        module, _, attr = target.partition(":")
        loaded = getattr(importlib.import_module(module), attr)
        if not self._is_backend(loaded):
            raise TypeError(f"{target} is not a {self.base.__name__}, so it cannot be a {self.kind} backend.")
        return loaded

    def _is_backend(self, obj: object) -> TypeGuard[type[B]]:
        return isinstance(obj, type) and issubclass(obj, self.base)
