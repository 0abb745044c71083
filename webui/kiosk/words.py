"""The kiosk page's fixed words, in the language of the current locale (the page asks once per language
and hands both tables to its script, so the 中文 / EN toggle switches without a request)."""

from __future__ import annotations

from flask_babel import gettext as _

from gate.service import self_service_text


def page_words() -> dict[str, str]:
    return {
        "present": _("Present your card"),
        "or_choose": _("or choose a way in below"),
        "tap_here": _("Tap your card here"),
        "card": _("Card"),
        "card_pin": _("Card + PIN"),
        "pin": _("PIN"),
        "code_pin": _("Resident code + PIN"),
        "face": _("Face"),
        "face_code": _("Resident code + face"),
        "face_card": _("Card + face"),
        "ways": _("Ways in"),
        "welcome": _("Welcome"),
        "denied": _("Access denied"),
        "other_ways": _("Other ways in:"),
        "one_moment": _("One moment..."),
        "camera_on": _("Camera on"),
        "face_progress": _("Face check in progress"),
        "fire": _("Fire alarm: doors released"),
        "fire_line": _("Please leave calmly by the nearest exit."),
        "held": _("Door held open"),
        "held_line": _("Please close the door behind you."),
        "code_field": _("Resident or visitor code"),  # a visitor types the code here too
        "pin_label": _("PIN"),
        "keypad": _("Keypad"),
        "ok": _("OK"),
        "delete": _("Delete"),
        "letters": _("ABC"),
        "digits": _("123"),
        "cancel": _("Cancel"),
        "receipt": _("Receipt number"),
        "offline": _("The gate service is not answering. Card still works."),
        "self_service": _(self_service_text.BUTTON),
        "delete_face": _(self_service_text.DELETE_BUTTON),
        "language": _("Language"),
        "full_notice": _("Full notice"),
    }
