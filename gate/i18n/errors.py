"""Texts for people in the reader's language: an expected error (gate.errors.GateError) raised with
a message template, or a `gate.i18n.marker.Message`, is translated and filled with its parameters
(themselves translated when they are Messages); any other text is shown as it is."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gate.errors import GateError
from gate.i18n.marker import Message


def _fill(template: str, params: Mapping[str, object], gettext: Callable[[str], str], english: str) -> str:
    values = {key: translated(value, gettext) if isinstance(value, Message) else value
              for key, value in params.items()}
    text = gettext(template)
    try:
        return text % values if values else text
    except (KeyError, TypeError, ValueError):  # a translation with broken placeholders: English beats nothing
        return english


def translated(text: object, gettext: Callable[[str], str]) -> str:
    if isinstance(text, Message):
        return _fill(text.template, text.params, gettext, str(text))
    if isinstance(text, GateError) and text.template is not None:
        return _fill(text.template, text.params, gettext, str(text))
    return str(text)


def localised(data: object, gettext: Callable[[str], str]) -> object:
    """A copy of plain data (an export) with every Message in it translated."""
    if isinstance(data, Message):
        return translated(data, gettext)
    if isinstance(data, dict):
        return {key: localised(value, gettext) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [localised(value, gettext) for value in data]
    return data
