"""Comparisons of a field with a constant that no value allowed by the field's schema can satisfy.

Only the top-level conjuncts of a rule are examined: when one of them can never hold, the rule can never
hold (a rule passes when true; missing values skip it). Bounds are taken from minimum/maximum,
exclusiveMinimum/exclusiveMaximum, enum/oneOf and const, so every finding is certain, never a guess.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Iterator
from typing import Any

from engine.definitions.model import FieldSpec
from engine.expressions.parser import data_path

FLIPPED = {
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
}
SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


def _bounds(schema: dict[str, Any]) -> tuple[float, bool, float, bool]:
    """(low, low_exclusive, high, high_exclusive) of a numeric field."""
    low, low_ex, high, high_ex = -math.inf, False, math.inf, False
    if isinstance(schema.get("minimum"), int | float):
        low = schema["minimum"]
    if isinstance(schema.get("exclusiveMinimum"), int | float) and schema["exclusiveMinimum"] >= low:
        low, low_ex = schema["exclusiveMinimum"], True
    if isinstance(schema.get("maximum"), int | float):
        high = schema["maximum"]
    if isinstance(schema.get("exclusiveMaximum"), int | float) and schema["exclusiveMaximum"] <= high:
        high, high_ex = schema["exclusiveMaximum"], True
    return low, low_ex, high, high_ex


# op -> can some value in [low, high] satisfy "value op c"? (exclusive bounds tighten the edge case)
_POSSIBLE: dict[type[ast.cmpop], Callable[[float, float, bool, float, bool], bool]] = {
    ast.Lt: lambda c, lo, lo_ex, hi, hi_ex: lo < c,
    ast.LtE: lambda c, lo, lo_ex, hi, hi_ex: lo < c or (lo == c and not lo_ex),
    ast.Gt: lambda c, lo, lo_ex, hi, hi_ex: hi > c,
    ast.GtE: lambda c, lo, lo_ex, hi, hi_ex: hi > c or (hi == c and not hi_ex),
    ast.Eq: lambda c, lo, lo_ex, hi, hi_ex: (
        (lo < c or (lo == c and not lo_ex)) and (hi > c or (hi == c and not hi_ex))
    ),
}


def _constant(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _constant(node.operand)
        if isinstance(value, int | float):
            return operator.neg(value) if isinstance(node.op, ast.USub) else value
    return None


def _conjuncts(tree: ast.AST) -> Iterator[ast.AST]:
    if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And):
        for value in tree.values:
            yield from _conjuncts(value)
    else:
        yield tree


def _allowed_values(spec: FieldSpec) -> list[Any] | None:
    if "const" in spec.schema:
        return [spec.schema["const"]]
    return [value for value, _label in spec.options] if spec.options else None


def _reason(spec: FieldSpec, op: type[ast.cmpop], constant: Any) -> str | None:
    allowed = _allowed_values(spec)
    if allowed is not None and op is ast.Eq:
        return None if constant in allowed else f"字段「{spec.key}」只能取 {'、'.join(map(str, allowed))}"
    if not isinstance(constant, int | float) or op not in _POSSIBLE:
        return None
    low, low_ex, high, high_ex = _bounds(spec.schema)
    if _POSSIBLE[op](constant, low, low_ex, high, high_ex):
        return None
    lower = f"{'>' if low_ex else '≥'}{low}" if low != -math.inf else ""
    upper = f"{'<' if high_ex else '≤'}{high}" if high != math.inf else ""
    return f"字段「{spec.key}」的取值范围是 {' 且 '.join(filter(None, (lower, upper)))}"


def impossible_comparisons(
    tree: ast.AST, field_of: Callable[[str], FieldSpec | None]
) -> Iterator[tuple[str, str]]:
    """(comparison text, Chinese reason) for each top-level comparison that can never hold."""
    for conjunct in _conjuncts(tree):
        if not isinstance(conjunct, ast.Compare):
            continue
        operands = [conjunct.left, *conjunct.comparators]
        for left, op, right in zip(operands, conjunct.ops, operands[1:], strict=False):
            op_type = type(op)
            name, constant = data_path(left), _constant(right)
            if name is None:
                name, constant, op_type = data_path(right), _constant(left), FLIPPED.get(op_type, op_type)
            spec = field_of(name) if name is not None else None
            if spec is None or constant is None or spec.is_container:
                continue
            reason = _reason(spec, op_type, constant)
            if reason:
                yield f"{name} {SYMBOL.get(op_type, '?')} {constant!r}", reason
