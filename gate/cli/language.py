"""The CLI's language: the shell's (LC_ALL, then LC_MESSAGES, then LANG, as POSIX orders them), matched
to a supported one by gate.i18n.locales.match; English when none matches ("C", "POSIX", unset)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from gate.i18n import catalogue, locales
from gate.i18n.errors import translated


def cli_language(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name)
        if value:  # the first one set decides, as for every POSIX program
            return locales.match(value) or locales.SOURCE
    return locales.SOURCE


def cli_gettext(environ: Mapping[str, str] | None = None) -> Callable[[str], str]:
    return catalogue.gettext_for(cli_language(environ))


def error_sentence(err: BaseException, environ: Mapping[str, str] | None = None) -> str:
    """The one sentence the CLI prints for an expected error, in the shell's language."""
    return translated(err, cli_gettext(environ))
