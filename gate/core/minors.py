"""Who counts as a minor for face consent (PIPL art. 28, 31): a pure rule on dates, no clock.

Under 14, a guardian consents; from the 14th birthday the resident's own consent is needed. The caller
passes "today" as the site's local date: a birthday begins at local midnight, not at UTC midnight.
"""

from __future__ import annotations

from datetime import date

#: PIPL art. 28 treats the personal information of a minor under 14 as sensitive; art. 31 requires
#: a parent's or guardian's consent to process it.
GUARDIAN_AGE = 14


def age_on(birth_date: date, today: date) -> int:
    """Whole years completed on `today` (a 29 February birthday completes a year on 1 March)."""
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def is_under_14(birth_date: date, today: date) -> bool:
    return age_on(birth_date, today) < GUARDIAN_AGE
