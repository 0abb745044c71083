"""The compiled catalogue outside Flask (the CLI, the gate service's logs): a gettext function per
language. Flask-Babel reads the same files for the web UI."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from babel.support import NullTranslations, Translations

from gate.i18n.locales import DOMAIN, SOURCE, TRANSLATIONS_DIR, match


@cache  # one read per language per process: the catalogue is part of the installed package
def translations(language: str) -> NullTranslations:
    if language == SOURCE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [language], DOMAIN)


def gettext_for(language: str | None) -> Callable[[str], str]:
    """`_` for a language; an unknown or missing one gives the English source text."""
    return translations(match(language) or SOURCE).gettext
