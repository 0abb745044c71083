"""Errors a person can act on. The CLI prints their message without a traceback."""


class GateError(Exception):
    """Base for expected errors: the message says what happened and what to do."""


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
