"""Chinese citizen ID numbers (GB 11643-1999).

Layout: 6-digit address code, 8-digit birth date (YYYYMMDD), 3-digit sequence (the last of them odd for
men, even for women) and an ISO 7064 MOD 11-2 check digit, which may be ``X`` (standing for 10).
"""

from __future__ import annotations

import re
from datetime import date

_PATTERN = re.compile(r"[0-9]{17}[0-9X]")  # \d would also match full-width digits
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # indexed by (weighted sum mod 11)


def check_digit(first17: str) -> str:
    """The check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("first17 must be exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def birth_date(number: str) -> date | None:
    """The embedded birth date, or None if the number is not a valid ID number."""
    if not is_valid(number):
        return None
    return _embedded_date(number)


def sex(number: str) -> str | None:
    """The sex, 男 or 女, from the 17th digit, or None if the number is not a valid ID number."""
    if not is_valid(number):
        return None
    return "男" if int(number[16]) % 2 else "女"


def is_valid(number: object) -> bool:
    """Format, check digit and a real (not future) birth date."""
    if not isinstance(number, str) or not _PATTERN.fullmatch(number):
        return False
    if check_digit(number[:17]) != number[17]:
        return False
    born = _embedded_date(number)
    return born is not None and born <= date.today()


def _embedded_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
