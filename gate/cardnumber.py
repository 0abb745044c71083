"""Card numbers as operators type them, in one canonical form.

The canonical form is the card's number in decimal; cards that carry a facility code are written
"FACILITY:NUMBER" (e.g. Wiegand 26: "123:45678"). The reader drivers produce the same form from raw bits,
so one card reads the same on every reader.
"""

from __future__ import annotations

import re

from gate.errors import PolicyError

_FACILITY = re.compile(r"^\s*(\d{1,5})\s*[:,/]\s*(\d{1,10})\s*$")
_DECIMAL = re.compile(r"^\s*(\d{1,20})\s*$")
_HEX = re.compile(r"^\s*0[xX]([0-9a-fA-F]{1,16})\s*$")


def normalize_card(raw: str) -> str:
    if match := _FACILITY.match(raw):
        return f"{int(match[1])}:{int(match[2])}"
    if match := _DECIMAL.match(raw):
        return str(int(match[1]))
    if match := _HEX.match(raw):
        return str(int(match[1], 16))
    raise PolicyError(
        f"{raw!r} is not a card number: type the digits printed on the card, e.g. 12345678, "
        "123:45678 (facility code and number) or 0x00BC614E."
    )
