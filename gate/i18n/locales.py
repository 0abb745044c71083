"""The languages the product speaks, and how a requested language is matched to one of them."""

from __future__ import annotations

from pathlib import Path

#: The source language of every message; its catalogue is the messages themselves.
SOURCE = "en"
CHINESE = "zh_Hans_CN"
#: In the order offered to people. A new language: add it here and follow docs/i18n.md.
SUPPORTED: tuple[str, ...] = (CHINESE, SOURCE)
#: What a new installation speaks unless `gate init --language` says otherwise.
NEW_INSTALL = CHINESE
#: The name of each language in itself, for toggles and menus.
NATIVE_NAMES = {CHINESE: "中文", SOURCE: "English"}
#: The HTML lang attribute (BCP 47) of each.
HTML_LANG = {CHINESE: "zh-Hans-CN", SOURCE: "en"}
#: A new Chinese installation's time zone (China has one).
DEFAULT_TIMEZONE = {CHINESE: "Asia/Shanghai", SOURCE: "UTC"}

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
DOMAIN = "messages"


def match(requested: str | None) -> str | None:
    """The supported language a request names ("zh", "zh-CN", "zh_Hans_CN", "en-GB" ...), or None."""
    if not requested:
        return None
    tag = requested.strip().replace("-", "_").split(".")[0].split("@")[0].lower()
    for language in SUPPORTED:
        if tag == language.lower():
            return language
    head = tag.split("_")[0]
    if head == "zh":
        return CHINESE
    return SOURCE if head == "en" else None


def is_supported(value: str) -> bool:
    return value in SUPPORTED
