"""Comparisons of a field with a constant that no value allowed by the field's schema can satisfy.

Only the top-level conjuncts of an expression are examined: when one of them can never hold, a rule can
never hold and a relevance never shows its field (a rule passes when true; missing values skip it).
Bounds are taken from minimum/maximum, exclusiveMinimum/exclusiveMaximum, enum/oneOf and const, and the
kind of value from the field's type (the expression language never finds a number equal to a text, nor
True equal to '是'), so every finding is certain, never a guess.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.definitions.model import FieldSpec
from engine.expressions.parser import data_path
from engine.validation.messages import number_text

FLIPPED = {
    ast.Lt: ast.Gt,
    ast.LtE: ast.GtE,
    ast.Gt: ast.Lt,
    ast.GtE: ast.LtE,
    ast.Eq: ast.Eq,
    ast.NotEq: ast.NotEq,
}
SYMBOL = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
          ast.In: "in", ast.NotIn: "not in"}  # fmt: skip

# A comparison's outcome when the two sides are of different kinds (values.equals / values.compare):
# never equal, so == never holds and != always does; ordering them is an error when the form is filled.
NEVER, ALWAYS, FAILS = "never", "always", "fails"
MISMATCH_OUTCOME = {ast.Eq: NEVER, ast.In: NEVER, ast.NotEq: ALWAYS, ast.NotIn: ALWAYS,
                    ast.Lt: FAILS, ast.LtE: FAILS, ast.Gt: FAILS, ast.GtE: FAILS}  # fmt: skip

# JSON type of a field -> the kind of value an expression reads from it (array/object: not compared here)
KIND_OF_TYPE = {"integer": "number", "number": "number", "string": "text", "boolean": "boolean"}
FIELD_KINDS = {"number": "数字字段", "text": "文本字段", "boolean": "「是/否」字段（值为 True 或 False）"}
VALUE_KINDS = {"number": "数字", "text": "文本", "boolean": "真假值"}
# How a clerk says yes or no, as an official may write it in a comparison with a 是/否 field.
YES_NO: dict[Any, bool] = {"是": True, "有": True, "对": True, "yes": True, "true": True, "True": True,
                           "1": True, 1: True, "否": False, "无": False, "没有": False, "不是": False,
                           "no": False, "false": False, "False": False, "0": False, 0: False}  # fmt: skip


@dataclass(frozen=True)
class Impossible:
    """One comparison that cannot do what it says: ``outcome`` is NEVER, ALWAYS or FAILS."""

    text: str  # the comparison as the language spells it: water_source == 3
    outcome: str
    reason: str  # Chinese: why
    hint: str = ""  # Chinese: what to write instead (empty when there is nothing certain to suggest)


def spelled(value: Any) -> str:
    """A constant as the expression language writes it: '1' for text, 1 for a number, True for yes."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int | float):
        return number_text(value)
    return repr(value)


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

_NO_CONSTANT = object()  # None is a constant of the language (x == None), so absence needs its own mark


def _constant(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and node.value is not None:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _constant(node.operand)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return operator.neg(value) if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.List | ast.Tuple) and node.elts:  # the right side of "in"
        items = tuple(_constant(item) for item in node.elts)
        return _NO_CONSTANT if _NO_CONSTANT in items else items
    return _NO_CONSTANT


def _conjuncts(tree: ast.AST) -> Iterator[ast.AST]:
    if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And):
        for value in tree.values:
            yield from _conjuncts(value)
    else:
        yield tree


# Python type of a constant -> kind of value (exact types: bool is an int subclass, and not a number here)
KIND_OF_CONSTANT = {bool: "boolean", int: "number", float: "number", str: "text"}


def _value_kind(value: Any) -> str | None:
    return KIND_OF_CONSTANT.get(type(value))


def _allowed_values(spec: FieldSpec) -> list[Any] | None:
    if "const" in spec.schema:
        return [spec.schema["const"]]
    return [value for value, _label in spec.options] if spec.options else None


def _options_text(spec: FieldSpec, allowed: list[Any]) -> str:
    labels = dict(spec.options)
    return "、".join(
        spelled(v) + (f"（{labels[v]}）" if labels.get(v, str(v)) != str(v) else "") for v in allowed
    )


def _field_name(spec: FieldSpec) -> str:
    return f"字段「{spec.title}」（{spec.key}）"


# -- what to write instead, by (kind of the field, kind of the constant) --------------------------------


def _as_number(text: str) -> int | float | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _quoted(spec: FieldSpec, value: Any) -> tuple[Any, str]:
    """A text field compared with a number: the number written as text, if it is an option."""
    allowed = _allowed_values(spec)
    if spec.schema.get("format") == "date":
        return None, "日期要写成带引号的文本，如 '2024-01-01'"
    if allowed is not None and number_text(value) not in allowed:
        return None, f"请与选项值比较（选项是文本，要加引号）：{_options_text(spec, allowed)}"
    return number_text(value), ("选项是文本，要加引号" if allowed is not None else "文本要加引号")


def _unquoted(spec: FieldSpec, value: Any) -> tuple[Any, str]:
    """A numeric field compared with a text: the text as a number, when it is one."""
    number = _as_number(value)
    return (None, "数字字段只能与数字比较") if number is None else (number, "数字不加引号")


def _yes_no(spec: FieldSpec, value: Any) -> tuple[Any, str]:
    """A 是/否 field compared with '是', 1 …: the language's True/False."""
    meant = YES_NO.get(value)
    if meant is None:
        return None, "是/否字段只能与 True 或 False 比较（首字母大写，不加引号）"
    return meant, "True、False 首字母大写，不加引号"


def _other(spec: FieldSpec, value: Any) -> tuple[Any, str]:
    allowed = _allowed_values(spec)
    if allowed is not None:
        return None, f"请与选项值比较：{_options_text(spec, allowed)}"
    return None, f"请与{VALUE_KINDS[KIND_OF_TYPE[spec.schema['type']]]}比较"


# (kind of the field, kind of the constant) -> (the constant it meant or None, why / what to do instead)
CORRECTIONS: dict[tuple[str, str], Callable[[FieldSpec, Any], tuple[Any, str]]] = {
    ("text", "number"): _quoted,
    ("number", "text"): _unquoted,
    ("boolean", "text"): _yes_no,
    ("boolean", "number"): _yes_no,
}


def _hint(spec: FieldSpec, field_kind: str, name: str, op: type[ast.cmpop], items: tuple[Any, ...]) -> str:
    corrected = [CORRECTIONS.get((field_kind, _value_kind(v) or ""), _other)(spec, v) for v in items]
    values = [value for value, _why in corrected]
    if None in values:
        return next(why for value, why in corrected if value is None)
    why = corrected[0][1]
    written = f"[{', '.join(map(spelled, values))}]" if op in (ast.In, ast.NotIn) else spelled(values[0])
    hint = f"请写 {name} {SYMBOL[op]} {written}（{why}）"
    if field_kind == "boolean" and op in (ast.Eq, ast.NotEq):  # has_danger == True is has_danger
        shown = values[0] if op is ast.Eq else not values[0]
        hint += f"，或直接写 {name if shown else 'not ' + name}"
    return hint


def _mismatch(spec: FieldSpec, name: str, op: type[ast.cmpop], constant: Any) -> Impossible | None:
    """A field compared with a constant of another kind of value, which it can never equal."""
    field_kind = KIND_OF_TYPE.get(spec.schema.get("type"))  # type: ignore[arg-type]
    items = constant if isinstance(constant, tuple) else (constant,)
    kinds = {_value_kind(item) for item in items}
    if field_kind is None or None in kinds or field_kind in kinds or op not in MISMATCH_OUTCOME:
        return None
    wrong = items[0]
    reason = (
        f"{_field_name(spec)}是{FIELD_KINDS[field_kind]}，而 {spelled(wrong)} 是{VALUE_KINDS[_value_kind(wrong)]}"
        + ("，两者不能比较大小" if MISMATCH_OUTCOME[op] == FAILS else "，两者永不相等")
    )
    return Impossible(
        _text(name, op, constant), MISMATCH_OUTCOME[op], reason, _hint(spec, field_kind, name, op, items)
    )


def _out_of_range(spec: FieldSpec, name: str, op: type[ast.cmpop], constant: Any) -> Impossible | None:
    """A comparison with a constant of the right kind that the field's options or bounds exclude."""
    allowed = _allowed_values(spec)
    if allowed is not None and op is ast.Eq:
        if constant in allowed:
            return None
        reason = f"{_field_name(spec)}只能取 {_options_text(spec, allowed)}"
        return Impossible(_text(name, op, constant), NEVER, reason)
    if not isinstance(constant, int | float) or isinstance(constant, bool) or op not in _POSSIBLE:
        return None
    low, low_ex, high, high_ex = _bounds(spec.schema)
    if _POSSIBLE[op](constant, low, low_ex, high, high_ex):
        return None
    lower = f"{'>' if low_ex else '≥'}{number_text(low)}" if low != -math.inf else ""
    upper = f"{'<' if high_ex else '≤'}{number_text(high)}" if high != math.inf else ""
    reason = f"{_field_name(spec)}的取值范围是 {' 且 '.join(filter(None, (lower, upper)))}"
    return Impossible(_text(name, op, constant), NEVER, reason)


def _text(name: str, op: type[ast.cmpop], constant: Any) -> str:
    written = f"[{', '.join(map(spelled, constant))}]" if isinstance(constant, tuple) else spelled(constant)
    return f"{name} {SYMBOL.get(op, '?')} {written}"


def impossible_comparisons(
    tree: ast.AST, field_of: Callable[[str], FieldSpec | None]
) -> Iterator[Impossible]:
    """Each top-level comparison of a field with a constant that cannot do what it says.

    ``field_of`` gives the field a name reads as one value (None for anything else: unknown names,
    containers, a row field read as a whole column)."""
    for conjunct in _conjuncts(tree):
        if not isinstance(conjunct, ast.Compare):
            continue
        operands = [conjunct.left, *conjunct.comparators]
        for left, op, right in zip(operands, conjunct.ops, operands[1:], strict=False):
            op_type = type(op)
            name, constant = data_path(left), _constant(right)
            if name is None and op_type in FLIPPED:
                name, constant, op_type = data_path(right), _constant(left), FLIPPED[op_type]
            spec = field_of(name) if name is not None else None
            if spec is None or constant is _NO_CONSTANT or spec.is_container:
                continue
            if isinstance(constant, tuple) != (op_type in (ast.In, ast.NotIn)):
                continue  # "in" reads a list of constants here ("in" a text is a search: not judged)
            found = _mismatch(spec, name, op_type, constant) or (
                None if isinstance(constant, tuple) else _out_of_range(spec, name, op_type, constant)
            )
            if found:
                yield found
