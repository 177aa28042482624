"""Runtime value rules shared by operators and functions: kinds, numbers, dates, equality, ordering.

Values are JSON-native (None, bool, int, float, str, list, dict) plus ``datetime.date``. Dates arrive in
data as ISO strings "YYYY-MM-DD"; they are coerced whenever the other side of an operation is a date.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

from engine.errors import GrassrootsError

# Larger results are almost surely a definition mistake (or an attempt to exhaust memory).
MAX_MAGNITUDE = 1e15

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class EvaluationError(GrassrootsError):
    """An expression failed at run time (wrong value types, too much work); the message is Chinese."""

    code = "expression_failed"


def kind(value: Any) -> str:
    """A Chinese name for a value's type, for messages."""
    if value is None:
        return "空值"
    if isinstance(value, bool):
        return "真假值"
    if isinstance(value, int | float):
        return "数字"
    if isinstance(value, str):
        return "文本"
    if isinstance(value, date):
        return "日期"
    if isinstance(value, list | tuple):
        return "列表"
    if isinstance(value, dict):
        return "对象"
    return type(value).__name__


def describe(value: Any) -> str:
    text = repr(value) if not isinstance(value, date) else value.isoformat()
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind(value)} {text}"


_NUMBER_TYPES = (int, float)  # a tuple: ``int | float`` in isinstance builds a union object per call
PLAIN_NUMBERS = frozenset(_NUMBER_TYPES)  # type(x) in PLAIN_NUMBERS: a number, decided without a call


def is_number(value: Any) -> bool:
    # bool is an int subclass in Python, but True + 1 in a rule is a mistake, not arithmetic
    if type(value) in PLAIN_NUMBERS:  # the usual case, decided without isinstance
        return True
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)


def checked_number(value: int | float) -> int | float:
    """Refuse results that are not finite or beyond MAX_MAGNITUDE."""
    if -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:  # the usual case (NaN and inf fail it and are refused below)
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise EvaluationError("计算结果不是有限的数字", details={"value": repr(value)})
    if abs(value) > MAX_MAGNITUDE:
        raise EvaluationError(
            f"计算结果超出允许范围（绝对值不超过 {MAX_MAGNITUDE:.0e}）", details={"value": repr(value)}
        )
    return value


def parse_date(value: Any) -> date | None:
    """A date from a date or an ISO "YYYY-MM-DD" string; None if it is neither."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def to_date(value: Any, where: str) -> date | None:
    """Like parse_date, but None stays None (missing) and anything else is an EvaluationError."""
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None:
        raise EvaluationError(f"{where}需要日期（格式 YYYY-MM-DD），得到的是{describe(value)}")
    return parsed


def equals(a: Any, b: Any) -> bool:
    """``==`` for expressions: None compares normally, bool never equals a number, dates equal ISO strings."""
    if type(a) in PLAIN_NUMBERS and type(b) in PLAIN_NUMBERS:  # the usual case, as the last line decides it
        return a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, date) or isinstance(b, date):
        da, db = parse_date(a), parse_date(b)
        return da is not None and da == db
    return bool(a == b)


def compare(a: Any, b: Any, symbol: str) -> int:
    """-1, 0 or 1 for two non-None values of the same orderable kind (numbers, texts or dates)."""
    if (
        (type(a) in PLAIN_NUMBERS and type(b) in PLAIN_NUMBERS)
        or (is_number(a) and is_number(b))
        or (isinstance(a, str) and isinstance(b, str))
    ):
        return (a > b) - (a < b)
    if isinstance(a, date) or isinstance(b, date):
        da, db = parse_date(a), parse_date(b)
        if da is not None and db is not None:
            return (da > db) - (da < db)
    raise EvaluationError(f"「{symbol}」不能比较{describe(a)}和{describe(b)}")


def truth(value: Any, where: str) -> bool | None:
    """A condition's truth value: True, False or None (unknown). Anything else is a type error."""
    if value is None or isinstance(value, bool):
        return value
    raise EvaluationError(f"{where}需要真假值，得到的是{describe(value)}")
