"""Operator semantics: arithmetic on numbers only, "skip if missing" None propagation, three-valued logic.

Each table maps an ``ast`` operator class to (symbol, implementation); the parser accepts exactly the keys.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from functools import partial
from typing import Any

from engine.expressions.values import (
    PLAIN_NUMBERS,
    EvaluationError,
    checked_number,
    compare,
    describe,
    equals,
    is_number,
)


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    return _numeric("+", operator.add, a, b)


def _divide(symbol: str, op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def run(a: Any, b: Any) -> Any:
        if is_number(a) and is_number(b) and b == 0:
            return None  # division by zero is "not applicable", like a missing value
        return _numeric(symbol, op, a, b)

    return run


def _numeric(symbol: str, op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    # type() first: this runs for every arithmetic step, and is_number() is a call per operand
    if not ((type(a) in PLAIN_NUMBERS and type(b) in PLAIN_NUMBERS) or (is_number(a) and is_number(b))):
        raise EvaluationError(f"运算「{symbol}」只能用于数字，得到的是{describe(a)}和{describe(b)}")
    try:
        return checked_number(op(a, b))
    except OverflowError as exc:
        raise EvaluationError(f"运算「{symbol}」的结果超出允许范围") from exc


def _numeric_op(symbol: str, op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return partial(_numeric, symbol, op)  # a partial adds no Python frame per call, unlike a lambda


# Operands are evaluated by the caller; None on either side yields None before these run.
ARITHMETIC: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", _add),
    ast.Sub: ("-", _numeric_op("-", operator.sub)),
    ast.Mult: ("*", _numeric_op("*", operator.mul)),
    ast.Div: ("/", _divide("/", operator.truediv)),
    ast.FloorDiv: ("//", _divide("//", operator.floordiv)),
    ast.Mod: ("%", _divide("%", operator.mod)),
}


def _negate(symbol: str, sign: int) -> Callable[[Any], Any]:
    def run(value: Any) -> Any:
        if value is None:
            return None
        if not is_number(value):
            raise EvaluationError(f"一元「{symbol}」只能用于数字，得到的是{describe(value)}")
        return value * sign

    return run


def logical_not(value: Any) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise EvaluationError(f"「not」需要真假值，得到的是{describe(value)}")
    return not value


UNARY: dict[type[ast.unaryop], tuple[str, Callable[[Any], Any]]] = {
    ast.USub: ("-", _negate("-", -1)),
    ast.UAdd: ("+", _negate("+", 1)),
    ast.Not: ("not", logical_not),
}


def _ordering(symbol: str, test: Callable[[int, int], bool]) -> Callable[[Any, Any], bool | None]:
    """``test(compare(a, b), 0)``; ``test`` is an ``operator`` function (no Python frame per call)."""

    def run(a: Any, b: Any) -> bool | None:
        if a is None or b is None:
            return None
        return test(compare(a, b, symbol), 0)

    return run


def _contains(a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    if isinstance(b, str):
        if not isinstance(a, str):
            raise EvaluationError(f"「in」在文本中只能查找文本，得到的是{describe(a)}")
        return a in b
    if isinstance(b, list | tuple):
        return any(equals(a, item) for item in b)
    raise EvaluationError(f"「in」的右边需要列表或文本，得到的是{describe(b)}")


def _not_contains(a: Any, b: Any) -> bool | None:
    found = _contains(a, b)
    return None if found is None else not found


COMPARISONS: dict[type[ast.cmpop], tuple[str, Callable[[Any, Any], bool | None]]] = {
    ast.Eq: ("==", equals),
    ast.NotEq: ("!=", lambda a, b: not equals(a, b)),
    ast.Lt: ("<", _ordering("<", operator.lt)),
    ast.LtE: ("<=", _ordering("<=", operator.le)),
    ast.Gt: (">", _ordering(">", operator.gt)),
    ast.GtE: (">=", _ordering(">=", operator.ge)),
    ast.In: ("in", _contains),
    ast.NotIn: ("not in", _not_contains),
}
