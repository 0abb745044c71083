"""argon2id for operator passwords and resident PINs; the secrets themselves are never stored."""

from __future__ import annotations

import re
from itertools import pairwise

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gate.errors import PolicyError
from gate.i18n.marker import N_

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
        raise PolicyError.of(N_("A PIN is 4 to 8 digits."))
    if len(set(pin)) == 1:
        raise PolicyError.of(N_("A PIN of one repeated digit is too easy to guess; choose another."))
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    if steps in ({1}, {-1}):
        raise PolicyError.of(N_("A PIN of consecutive digits is too easy to guess; choose another."))


#: OWASP ASVS 2.1.1 (level 2): at least 12 characters; long passphrases are welcome.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
# zxcvbn's cost grows faster than linearly with the length; a long phrase's head already decides.
_SCORED_PREFIX = 100
#: zxcvbn score 3 means about 10^8 guesses or more: not in its 30,000 common passwords (from breach
#: lists), not a repeat, sequence, keyboard walk or date, nor a common word with a digit stuck on.
MIN_ZXCVBN_SCORE = 3


def check_password_strength(password: str) -> None:
    """ASVS 2.1: length first (what the person can fix at once), then common and guessable passwords."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PolicyError.of(N_("An operator password needs at least %(count)d characters; a phrase of a few "
                                "unrelated words is easiest to remember."), count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PolicyError.of(N_("An operator password may have at most %(count)d characters."),
                             count=MAX_PASSWORD_LENGTH)
    from zxcvbn import zxcvbn  # loads its word lists (~1 MB) on first use only, not for every `gate` command

    if zxcvbn(password[:_SCORED_PREFIX])["score"] < MIN_ZXCVBN_SCORE:
        raise PolicyError.of(N_("That password is common or follows an easy pattern (repeats, sequences, a "
                                "common word with digits); choose a phrase of a few unrelated words."))
