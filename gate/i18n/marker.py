"""`N_` marks a message for the catalogue without translating it: the text is translated where it is
shown, in the language of the person reading it (the kiosk's, the operator's, the CLI's).

`Message` is such a text with its parameters filled in: it is the English sentence (a `str`, so logs,
JSON and existing comparisons see English) and remembers its template and parameters, so the layer
that shows it can translate it (gate.i18n.errors.translated)."""

from __future__ import annotations

from collections.abc import Mapping


def N_(message: str) -> str:  # noqa: N802 - the gettext convention the extractor looks for
    return message


class Message(str):
    """`Message(N_("Cards: %(count)s"), count=2)` reads "Cards: 2" and translates as a whole."""

    template: str
    params: Mapping[str, object]

    def __new__(cls, template: str, **params: object) -> Message:
        made = super().__new__(cls, template % params if params else template)
        made.template, made.params = template, params
        return made
