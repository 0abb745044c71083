"""argon2id for operator passwords and resident PINs; the secrets themselves are never stored."""

from __future__ import annotations

import re
from itertools import pairwise

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gate.errors import PolicyError

PIN_PATTERN = re.compile(r"\d{4,8}")
# Checking a PIN for an unknown resident against a hash of this keeps the timing the same as for a
# known one, so the keypad does not tell which resident codes exist. Hash it once per service.
DUMMY_PIN = "0" * 6


def make_hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def verify(hasher: PasswordHasher, stored_hash: str, secret: str) -> bool:
    try:
        return hasher.verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def check_pin_strength(pin: str) -> None:
    if not PIN_PATTERN.fullmatch(pin):
        raise PolicyError("A PIN is 4 to 8 digits.")
    if len(set(pin)) == 1:
        raise PolicyError("A PIN of one repeated digit is too easy to guess; choose another.")
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if steps in ({1}, {-1}):
        raise PolicyError("A PIN of consecutive digits is too easy to guess; choose another.")


def check_password_strength(password: str) -> None:
    if len(password) < 10:
        raise PolicyError("An operator password needs at least 10 characters.")
