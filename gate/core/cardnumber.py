"""One canonical string per card, whichever reader (or operator) produced it.

Canonical form
--------------
The unsigned **decimal** value of the card's credential bits with the Wiegand parity bits
removed, without leading zeros.  For the common 26-bit H10301 format that is
``facility_code * 65536 + card_number`` -- the same ten-digit number most USB and
Wiegand-to-serial readers print, minus its leading zeros.  Examples, all the same card
(facility 188, number 24910)::

    "12345678", "0012345678", "0x00BC614E", "188:24910", "188,24910"
    the 26-bit Wiegand frame 0x378C29C (parity 1, 0xBC614E, parity 0) from an OSDP reader

``FC:CN`` (or ``FC,CN``/``FC/CN``) combines as ``FC << n | CN`` where ``n`` is the card-number
width of the format given by ``bits`` (26: 16, 34: 16, 35: 20, 37: 19; unknown: 16).
Wiegand frames of 26, 34 and 37 bits have their parity checked and stripped; frames of
other lengths are taken whole, as their parity layout is vendor specific.
"""

from __future__ import annotations

import re

from gate.errors import GateError

# bits -> (facility-code width, card-number width); parity bits are the other two.
FORMATS: dict[int, tuple[int, int]] = {26: (8, 16), 34: (16, 16), 35: (12, 20), 37: (16, 19)}
_PARITY_CHECKED = {26, 34, 37}
_MAX_DIGITS = 40


class CardNumberError(GateError, ValueError):
    """Text or bits that are not a card number; the message says which form was expected."""


def normalize_card(raw: str | bytes, bits: int | None = None, fmt: str | None = None) -> str:
    """Canonical card string (see module doc).

    ``fmt``: ``None``/``"text"`` for typed or printed text (decimal, ``0x`` hex, ``FC:CN``),
    ``"hex"`` for bare hexadecimal text, ``"wiegand"`` for a raw frame including parity
    (``raw`` is bytes, left-justified, ``bits`` long), ``"raw"`` for bits without parity.
    """
    if fmt in (None, "text", "ascii", "decimal"):
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        return _from_text(text, bits, force_decimal=fmt == "decimal")
    if fmt == "hex":
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
        text = text.strip()
        if not re.fullmatch(r"(0[xX])?[0-9A-Fa-f]{1,32}", text):
            raise CardNumberError(f"not a hexadecimal card number: {text!r}")
        value = int(text, 16)
        if bits in _PARITY_CHECKED:
            return str(_strip_parity(value, bits))
        return str(value)
    if fmt in ("wiegand", "raw"):
        if not isinstance(raw, bytes):
            raise CardNumberError(f"{fmt} card data must be bytes")
        if not bits or bits > len(raw) * 8:
            raise CardNumberError(f"{fmt} card data: {bits} bits do not fit in {len(raw)} bytes")
        value = int.from_bytes(raw, "big") >> (len(raw) * 8 - bits)
        if fmt == "wiegand" and bits in _PARITY_CHECKED:
            value = _strip_parity(value, bits)
        return str(value)
    raise CardNumberError(f"unknown card format {fmt!r}")


def split_card(card: str, bits: int = 26) -> tuple[int, int]:
    """(facility code, card number) of a canonical card string, for display."""
    fc_bits, cn_bits = FORMATS.get(bits, (16, 16))
    value = int(card)
    return value >> cn_bits, value & ((1 << cn_bits) - 1)


def encode_wiegand(card: str, bits: int = 26) -> bytes:
    """The left-justified Wiegand frame (with parity) a reader would send for ``card``."""
    value = int(normalize_card(card, bits))
    if bits not in _PARITY_CHECKED:
        if value >> bits:
            raise CardNumberError(f"card {card} does not fit in {bits} bits")
        frame = value
    else:
        payload = bits - 2
        if value >> payload:
            raise CardNumberError(f"card {card} does not fit in a {bits}-bit frame")
        even_span, odd_span = _parity_spans(bits)
        body = value << 1
        lead = _ones(body, even_span, bits) & 1
        frame = (lead << (bits - 1)) | body
        trail = (_ones(frame, odd_span, bits) + 1) & 1
        frame |= trail
    nbytes = (bits + 7) // 8
    return (frame << (nbytes * 8 - bits)).to_bytes(nbytes, "big")


def _from_text(text: str, bits: int | None, *, force_decimal: bool) -> str:
    cleaned = text.strip().replace(" ", "")
    if not cleaned:
        raise CardNumberError("empty card number")
    if len(cleaned) > _MAX_DIGITS:
        raise CardNumberError(f"card number too long ({len(cleaned)} characters)")
    if m := re.fullmatch(r"([0-9]+)[:,/]([0-9]+)", cleaned):
        fc, cn = int(m[1]), int(m[2])
        fc_bits, cn_bits = FORMATS.get(bits or 26, (None, 16))
        if cn >> cn_bits:
            raise CardNumberError(f"card number {cn} does not fit in {cn_bits} bits ({text!r})")
        if fc_bits is not None and bits is not None and fc >> fc_bits:
            raise CardNumberError(f"facility code {fc} does not fit in {fc_bits} bits ({text!r})")
        return str((fc << cn_bits) | cn)
    if not force_decimal and re.fullmatch(r"0[xX][0-9A-Fa-f]+", cleaned):
        return str(int(cleaned, 16))
    if re.fullmatch(r"[0-9]+", cleaned):
        return str(int(cleaned))
    raise CardNumberError(
        f"not a card number: {text!r} (expected digits, 0x-prefixed hex, or facility:number)"
    )


def _parity_spans(bits: int) -> tuple[range, range]:
    """Bit positions (0 = first transmitted) covered by the leading even and trailing odd parity."""
    half = (bits - 2) // 2
    if bits == 37:
        return range(1, 19), range(18, 36)
    return range(1, 1 + half), range(1 + half, bits - 1)


def _ones(frame: int, span: range, bits: int) -> int:
    return sum((frame >> (bits - 1 - i)) & 1 for i in span)


def _strip_parity(frame: int, bits: int) -> int:
    even_span, odd_span = _parity_spans(bits)
    lead = (frame >> (bits - 1)) & 1
    trail = frame & 1
    if (_ones(frame, even_span, bits) + lead) % 2 != 0:
        raise CardNumberError(f"{bits}-bit Wiegand frame fails its leading (even) parity")
    if (_ones(frame, odd_span, bits) + trail) % 2 != 1:
        raise CardNumberError(f"{bits}-bit Wiegand frame fails its trailing (odd) parity")
    return (frame >> 1) & ((1 << (bits - 2)) - 1)


def mask_card(card: str) -> str:
    """A card number as logs may show it: at most its last 4 digits, and never more than half of them.

    The one place cards are masked (the log filter in `gate.service.logs` uses it too). Half at most,
    so a short number, or a PIN-length one, is never nearly all shown.
    """
    if card.startswith("****"):
        return card  # already masked: a second pass must not take more digits away
    digits = re.sub(r"[^0-9A-Za-z]", "", card)
    keep = min(4, len(digits) // 2)
    return "****" + (digits[-keep:] if keep else "")
