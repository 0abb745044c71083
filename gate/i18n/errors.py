"""An expected error (gate.errors.GateError) in the reader's language: the message template it was
raised with, translated, filled with its parameters; the English sentence for an error without one."""

from __future__ import annotations

from collections.abc import Callable

from gate.errors import GateError, Words


def translated(error: BaseException, gettext: Callable[[str], str]) -> str:
    if not isinstance(error, GateError) or error.template is None:
        return str(error)
    params = {key: gettext(value) if isinstance(value, Words) else value for key, value in error.params.items()}
    text = gettext(error.template)
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):  # a translation with broken placeholders: English is better than none
        return str(error)
