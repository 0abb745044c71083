"""The catalogue is complete and current: every marked message of gate/ and webui/ is in every
language's catalogue, translated, with the same placeholders, and compiled (scripts/catalogue)."""

from __future__ import annotations

from babel.messages.catalog import Catalog

from gate.i18n import tool
from gate.i18n.locales import CHINESE, SUPPORTED


def test_every_message_is_translated_and_the_catalogue_is_current() -> None:
    found = list(tool.problems())
    assert not found, "run scripts/catalogue update and translate:\n" + "\n".join(found)


def _template(*ids: str) -> Catalog:
    template = Catalog()
    for msgid in ids:
        template.add(msgid)
    return template


def test_the_check_finds_a_message_missing_from_the_catalogue() -> None:
    template = tool.extract()
    template.add("A sentence nobody has translated yet.")
    found = list(tool.problems(template, read=tool.read_catalogue))
    assert any("not in the catalogue" in line and "nobody has translated" in line for line in found)


def test_the_check_finds_an_untranslated_obsolete_or_mismatched_message() -> None:
    def read(language: str) -> Catalog:
        catalog = Catalog(locale=language)
        catalog.add("Welcome", "" if language == CHINESE else "Welcome")
        catalog.add("Gone from the code", "x")
        catalog.add("Hello %(name)s", "你好 %(nom)s" if language == CHINESE else "Hello %(name)s",
                    flags=["python-format"])
        return catalog

    found = list(tool.problems(_template("Welcome", "Hello %(name)s"), read=read))
    assert f"{CHINESE}: untranslated: 'Welcome'" in found
    assert any("no longer in the code" in line for line in found)
    assert f"{CHINESE}: 'Hello %(name)s': unknown named placeholder 'nom'" in found
    assert SUPPORTED == (CHINESE, "en")
