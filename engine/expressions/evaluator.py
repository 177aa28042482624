"""Interpret a checked tree: each node type has a builder that turns it into a closure over a Scope.

Building once per expression (the result is cached with the Expression) keeps per-row evaluation cheap.
The only loops over data are the per-row aggregates; their total work per evaluation is capped by
MAX_ROW_WORK, so even nested aggregates over large repeats stay bounded.
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
_SEQUENCES = (list, tuple)


def build(node: ast.AST) -> Evaluator:
    return _BUILDERS[type(node)](node)


def build_root(tree: ast.AST) -> Evaluator:
    """The evaluator of a whole expression: each evaluation gets a fresh row-work budget.

    Only per-row aggregates draw on the budget, so an expression without one (most rules and
    relevance tests) skips setting it — decided here once, by the same test ``_call`` uses."""
    evaluator = build(tree)
    if not any(isinstance(node, ast.Call) and row_collection(node) is not None for node in ast.walk(tree)):
        return evaluator

    def run(scope: Scope) -> Any:
        token = _row_work_left.set([MAX_ROW_WORK])
        try:
            return evaluator(scope)
        finally:
            _row_work_left.reset(token)

    return run


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
    # A left-leaning chain (a + b - c + ...: a sum of parts) runs as one loop instead of one closure
    # per operator: the same operands evaluated and combined in the same order.
    steps: list[tuple[Callable[[Any, Any], Any], Evaluator]] = []
    left: ast.expr = node
    while isinstance(left, ast.BinOp):
        steps.append((ARITHMETIC[type(left.op)][1], build(left.right)))
        left = left.left
    first = build(left)
    steps.reverse()
    if len(steps) == 1:
        ((op, right),) = steps

        def run_binop(scope: Scope) -> Any:
            a, b = first(scope), right(scope)
            return None if a is None or b is None else op(a, b)

        return run_binop

    def run_chain(scope: Scope) -> Any:
        a = first(scope)
        for op, right in steps:
            b = right(scope)
            a = None if a is None or b is None else op(a, b)
        return a

    return run_chain


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

    if len(steps) == 1:  # the usual a < b: as run_compare below with one step
        ((op, right_of),) = steps

        def run_compare_one(scope: Scope) -> bool | None:
            outcome = op(first(scope), right_of(scope))
            return outcome if outcome is False or outcome is None else True

        return run_compare_one

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
    # Most calls have one or two arguments: no list to build for them.
    if len(args) == 1:
        (only,) = args
        return lambda scope: impl(only(scope))
    if len(args) == 2:
        first, second = args
        return lambda scope: impl(first(scope), second(scope))
    return lambda scope: impl(*[arg(scope) for arg in args])


def _per_row(function: Function, rows_of: Evaluator, per_row: Evaluator, cost: int) -> Evaluator:
    reduce = function.reduce_rows
    assert reduce is not None

    def run_per_row(scope: Scope) -> Any:
        rows = rows_of(scope)
        if rows is not None and not isinstance(rows, _SEQUENCES):
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
