"""Errors a person can act on. The CLI prints their message without a traceback.

An error raised with `.of(N_("... %(code)s ..."), code=...)` keeps its message template and parameters
besides the English sentence, so the web UI and the CLI can show it in the reader's language
(gate.i18n.errors.translated); `str(err)` stays the English sentence for logs and tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

_E = TypeVar("_E", bound="GateError")


class GateError(Exception):
    """Base for expected errors: the message says what happened and what to do."""

    #: The N_-marked message this error was made from, and its parameters (None: English only).
    template: str | None = None
    params: Mapping[str, object] = {}

    @classmethod
    def of(cls: type[_E], template: str, **params: object) -> _E:
        """The error whose English text is `template % params`, translatable where it is shown."""
        error = cls(template % params if params else template)
        error.template, error.params = template, params
        return error


class ConfigError(GateError, ValueError):
    pass


class NotMigratedError(GateError, RuntimeError):
    pass


class NotFoundError(GateError, LookupError):
    pass


class ConflictError(GateError, ValueError):
    pass


class PolicyError(GateError, ValueError):
    """A gate policy that would make face the only way in, or is otherwise unlawful or unusable."""


class ConsentError(GateError, PermissionError):
    """Face data may not be processed: no current, separate consent."""


class KeyUnavailableError(GateError, RuntimeError):
    """The master key file is missing or wrong: face verification is unavailable, card and PIN work."""


class TemplateIntegrityError(GateError, ValueError):
    """A template failed authentication: copied onto another resident, tampered with, or wrong key."""
