from __future__ import annotations

import pytest

from gate.core.cardnumber import CardNumberError, encode_wiegand, normalize_card, split_card


@pytest.mark.parametrize("typed", ["12345678", "0012345678", " 12345678 ", "0x00BC614E", "0XBC614e",
                                   "188:24910", "188,24910", "188/24910"])
def test_typed_forms_of_one_card_agree(typed):
    assert normalize_card(typed) == "12345678"


def test_digit_grouping_spaces_are_ignored():
    assert normalize_card("0012 3456 78") == "12345678"


def test_facility_code_colon_form():
    assert normalize_card("123:45678") == str((123 << 16) | 45678)
    assert split_card(normalize_card("123:45678")) == (123, 45678)


@pytest.mark.parametrize("bad", ["", "   ", "12a45", "0x", "1:2:3", "abc", "１２３", "12\t34:5x", "-5", "1" * 41])
def test_rejects_garbage(bad):
    with pytest.raises(CardNumberError):
        normalize_card(bad)


def test_card_number_too_wide_for_format():
    with pytest.raises(CardNumberError, match="16 bits"):
        normalize_card("1:70000")
    with pytest.raises(CardNumberError, match="facility"):
        normalize_card("300:1", bits=26)
    assert normalize_card("300:1", bits=34) == str((300 << 16) | 1)


def test_wiegand_26_known_frame():
    frame = encode_wiegand("188:24910")
    # 1 | 0xBC614E | 0, left-justified in four bytes.
    assert int.from_bytes(frame, "big") >> 6 == 0x378C29C
    assert normalize_card(frame, 26, "wiegand") == "12345678"


@pytest.mark.parametrize("bits", [26, 34, 37])
def test_wiegand_roundtrip_and_parity(bits):
    frame = encode_wiegand("1234567", bits)
    assert normalize_card(frame, bits, "wiegand") == "1234567"
    value = int.from_bytes(frame, "big")
    pad = len(frame) * 8 - bits
    for flip in (0, bits - 1, 3):  # leading parity, trailing parity, a data bit
        broken = (value ^ (1 << (pad + bits - 1 - flip))).to_bytes(len(frame), "big")
        with pytest.raises(CardNumberError, match="parity"):
            normalize_card(broken, bits, "wiegand")


def test_raw_hex_wiegand_text_with_bits():
    assert normalize_card("378C29C", 26, fmt="hex") == "12345678"
    with pytest.raises(CardNumberError):
        normalize_card("378C29D", 26, fmt="hex")


def test_other_lengths_are_taken_whole():
    assert normalize_card(b"\x12\x34", 16, "wiegand") == str(0x1234)
    with pytest.raises(CardNumberError):
        normalize_card(b"\x12", 26, "wiegand")
    with pytest.raises(CardNumberError):
        normalize_card("12", fmt="morse")
