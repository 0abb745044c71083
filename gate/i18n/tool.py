"""Keeps the catalogue in step with the code: `scripts/catalogue update` extracts every marked message
from gate/ and webui/, merges it into each language's .po (sorted, without source locations, so two
branches adding messages rarely conflict), fills the English catalogue from the source texts and
compiles the .mo files; `scripts/catalogue check` (run by tests/i18n) lists what is out of date or
untranslated. docs/i18n.md says how translators work with it."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from gate.i18n.locales import DOMAIN, SOURCE, SUPPORTED, TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("gate", "webui")
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2)}
METHODS = [
    ("**/translations/**", "ignore"),
    ("**.py", "python"),
    ("**.html", "jinja2.ext:babel_extract"),
    ("**.txt", "jinja2.ext:babel_extract"),
]
#: {% trans %} blocks lose their line breaks and indentation, at extraction and at run time alike.
JINJA_OPTIONS = {"trimmed": "true"}


def po_path(language: str) -> Path:
    return TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def extract() -> Catalog:
    template = Catalog(project="gate", fuzzy=False)
    for folder in SOURCES:
        options = {"**.html": JINJA_OPTIONS, "**.txt": JINJA_OPTIONS}
        for filename, lineno, message, comments, context in extract_from_dir(
                ROOT / folder, METHODS, options_map=options, keywords=KEYWORDS, strip_comment_tags=True):
            template.add(message, None, [(f"{folder}/{filename}", lineno)], auto_comments=comments,
                         context=context)
    return template


def read_catalogue(language: str) -> Catalog:
    return _read(language)


def _read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, project="gate", fuzzy=False)
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, no_location=True, omit_header=False, sort_output=True,
             ignore_obsolete=True, include_previous=False)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _merged(language: str, template: Catalog) -> Catalog:
    catalog = _read(language)
    created = catalog.creation_date  # kept, so that an update changes the header only when it must
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalog.creation_date = created
    catalog.obsolete.clear()
    catalog.fuzzy = False
    if language == SOURCE:  # the source texts are the English catalogue
        for message in catalog:
            if message.id:
                message.string = message.id
                message.flags.discard("fuzzy")
    return catalog


def update() -> None:
    template = extract()
    for language in SUPPORTED:
        catalog = _merged(language, template)
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_po_bytes(catalog))
        mo_path(language).write_bytes(_mo_bytes(_read(language)))


def _ids(catalog: Catalog) -> set[tuple[Any, str | None]]:
    return {(m.id, m.context) for m in catalog if m.id}


def _untranslated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return not all(strings)


def problems(template: Catalog | None = None,
             read: Callable[[str], Catalog | None] | None = None) -> Iterator[str]:
    """What is wrong with the catalogue, one line each; nothing when it is complete and current.
    `template` and `read` default to the code's messages and the catalogue files."""
    template = template if template is not None else extract()
    wanted = _ids(template)
    for language in SUPPORTED:
        catalog = read(language) if read is not None else (_read(language) if po_path(language).exists() else None)
        if catalog is None:
            yield f"{language}: {po_path(language).relative_to(ROOT)} is missing (run scripts/catalogue update)"
            continue
        have = _ids(catalog)
        for msgid, _context in sorted(wanted - have, key=str):
            yield f"{language}: not in the catalogue (run scripts/catalogue update): {msgid!r}"
        for msgid, _context in sorted(have - wanted, key=str):
            yield f"{language}: no longer in the code (run scripts/catalogue update): {msgid!r}"
        for message in catalog:
            if not message.id:
                continue
            if message.fuzzy:
                yield f"{language}: marked fuzzy, check and remove the flag: {message.id!r}"
            elif _untranslated(message):
                yield f"{language}: untranslated: {message.id!r}"
            for error in message.check(catalog):
                yield f"{language}: {message.id!r}: {error}"
        if read is None and (not mo_path(language).exists() or mo_path(language).read_bytes() != _mo_bytes(catalog)):
            yield f"{language}: the compiled catalogue is stale (run scripts/catalogue update)"


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "update":
        update()
        found = list(problems())
        for line in found:
            print(line)
        print(f"catalogue updated; {len(found)} message(s) still need a translator" if found
              else "catalogue updated and complete")
        return 0
    if command == "check":
        found = list(problems())
        for line in found:
            print(line)
        return 1 if found else 0
    print("usage: scripts/catalogue update|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
