"""Interpret a checked tree: each node type has a builder that turns it into a closure over a Scope.

Building once per expression (the result is cached with the Expression) keeps per-row evaluation cheap.
The only loops are the per-row aggregates; their total work per evaluation is capped by MAX_ROW_WORK, so
even nested aggregates over large repeats stay bounded.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any

from engine.expressions.functions import FUNCTIONS, Function
from engine.expressions.operators import ARITHMETIC, COMPARISONS, UNARY
from engine.expressions.parser import data_path, row_collection
from engine.expressions.scope import Scope
from engine.expressions.values import EvaluationError, describe, truth

Evaluator = Callable[[Scope], Any]

MAX_ROW_WORK = 1_000_000  # rows visited × syntax nodes evaluated per row, per evaluation

_row_work_left: ContextVar[list[int]] = ContextVar("row_work_left")


def build(node: ast.AST) -> Evaluator:
    return _BUILDERS[type(node)](node)


def run(evaluator: Evaluator, scope: Scope) -> Any:
    token = _row_work_left.set([MAX_ROW_WORK])
    try:
        return evaluator(scope)
    finally:
        _row_work_left.reset(token)


def _constant(node: ast.Constant) -> Evaluator:
    value = node.value
    return lambda scope: value


def _path(node: ast.Name | ast.Attribute) -> Evaluator:
    path = data_path(node)
    assert path is not None  # the parser admits only data paths

    def lookup(scope: Scope) -> Any:
        try:
            return scope.lookup(path)
        except KeyError:
            raise EvaluationError(f"未知的字段「{path}」", details={"name": path}) from None

    return lookup


def _sequence(node: ast.List | ast.Tuple) -> Evaluator:
    items = [build(item) for item in node.elts]
    return lambda scope: [item(scope) for item in items]


def _binop(node: ast.BinOp) -> Evaluator:
    _, op = ARITHMETIC[type(node.op)]
    left, right = build(node.left), build(node.right)

    def run_binop(scope: Scope) -> Any:
        a, b = left(scope), right(scope)
        return None if a is None or b is None else op(a, b)

    return run_binop


def _unary(node: ast.UnaryOp) -> Evaluator:
    _, op = UNARY[type(node.op)]
    operand = build(node.operand)
    return lambda scope: op(operand(scope))


def _boolop(node: ast.BoolOp) -> Evaluator:
    """Three-valued and/or with short-circuit: False and None -> False, True or None -> True, else None."""
    values = [build(value) for value in node.values]
    symbol = "and" if isinstance(node.op, ast.And) else "or"
    decisive = symbol == "or"  # the operand value that settles the result

    def run_boolop(scope: Scope) -> bool | None:
        result: bool | None = not decisive
        for value in values:
            t = truth(value(scope), f"「{symbol}」")
            if t is decisive:
                return decisive
            if t is None:
                result = None
        return result

    return run_boolop


def _compare(node: ast.Compare) -> Evaluator:
    first = build(node.left)
    steps = [
        (COMPARISONS[type(op)][1], build(right)) for op, right in zip(node.ops, node.comparators, strict=True)
    ]

    def run_compare(scope: Scope) -> bool | None:
        left = first(scope)
        result: bool | None = True
        for op, right_of in steps:  # a < b < c is (a < b) and (b < c), b evaluated once
            right = right_of(scope)
            outcome = op(left, right)
            if outcome is False:
                return False
            if outcome is None:
                result = None
            left = right
        return result

    return run_compare


def _ifexp(node: ast.IfExp) -> Evaluator:
    test, body, orelse = build(node.test), build(node.body), build(node.orelse)

    def run_ifexp(scope: Scope) -> Any:
        t = truth(test(scope), "条件表达式（if ... else）的条件")
        if t is None:
            return None
        return body(scope) if t else orelse(scope)

    return run_ifexp


def _call(node: ast.Call) -> Evaluator:
    function = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]  # the parser admits only table names
    args = [build(arg) for arg in node.args]
    if row_collection(node) is not None:
        return _per_row(function, args[0], args[1], sum(1 for _ in ast.walk(node.args[1])))
    impl = function.impl
    return lambda scope: impl(*[arg(scope) for arg in args])


def _per_row(function: Function, rows_of: Evaluator, per_row: Evaluator, cost: int) -> Evaluator:
    reduce = function.reduce_rows
    assert reduce is not None

    def run_per_row(scope: Scope) -> Any:
        rows = rows_of(scope)
        if rows is not None and not isinstance(rows, list | tuple):
            if function.scalar_pair:
                return function.impl(rows, per_row(scope))  # min(a, b) of two scalars
            raise EvaluationError(
                f"{function.name}() 的第一个参数需要重复行（列表），得到的是{describe(rows)}"
            )
        rows = rows or []
        left = _row_work_left.get()
        left[0] -= len(rows) * cost
        if left[0] < 0:
            raise EvaluationError(f"表达式计算量过大（逐行计算超过 {MAX_ROW_WORK} 步）")
        values = []
        for row in rows:
            if not isinstance(row, Mapping):
                raise EvaluationError(f"{function.name}() 的每一行需要是对象，得到的是{describe(row)}")
            values.append(per_row(scope.row(row)))
        return reduce(values)

    return run_per_row


_BUILDERS: dict[type[ast.AST], Callable[[Any], Evaluator]] = {
    ast.Constant: _constant,
    ast.Name: _path,
    ast.Attribute: _path,
    ast.List: _sequence,
    ast.Tuple: _sequence,
    ast.BinOp: _binop,
    ast.UnaryOp: _unary,
    ast.BoolOp: _boolop,
    ast.Compare: _compare,
    ast.IfExp: _ifexp,
    ast.Call: _call,
}
