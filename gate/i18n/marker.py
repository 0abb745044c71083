"""`N_` marks a message for the catalogue without translating it: the text is translated where it is
shown, in the language of the person reading it (the kiosk's, the operator's, the CLI's)."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext convention the extractor looks for
    return message
