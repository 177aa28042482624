"""Expressions over multiple choices, checked against the field's options.

A multiple choice's value is the list of ticked option values, so an expression asks ``'clinic' in
facilities``. Two mistakes would pass every other check and fail silently on every report: an option
that the field does not have (``'clinik' in facilities``: an 其他（请注明） field that never shows), and
the list compared with one value (``facilities == 'clinic'``: never equal). Both are refused at load
time, at the pointer of the expression (relevance, calculation or rule).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping

from engine.definitions.builder import EXPRESSION_KEYWORDS
from engine.definitions.model import FieldSpec, RuleSpec
from engine.definitions.names import NameIndex, NameProblem
from engine.errors import DefinitionRef, ProblemList
from engine.expressions.parser import data_path, row_collection

_MEMBERSHIP = (ast.In, ast.NotIn)
_EQUALITY = (ast.Eq, ast.NotEq)


def check_choice_expressions(
    fields: Mapping[str, FieldSpec],
    keyword_pointers: Mapping[str, Mapping[str, str]],
    rules: Iterable[RuleSpec],
    file: str,
    problems: ProblemList,
) -> None:
    if not any(f.multiple for f in fields.values()):
        return
    index = NameIndex(fields)
    sources: list[tuple[str, str | None, str]] = []  # (expression, row scope, pointer)
    for key, spec in fields.items():
        for keyword, source in zip(EXPRESSION_KEYWORDS, (spec.relevant, spec.calculate), strict=True):
            if source:
                sources.append((source, spec.array_key, keyword_pointers[key][keyword]))
    sources += [(rule.expr, rule.scope, rule.pointer + "/expr") for rule in rules]
    for source, row_of, pointer in sources:
        try:
            tree = ast.parse(source, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # reported by the expression checker
        for message in _findings(tree, row_of, index, fields):
            problems.add(f"表达式「{source}」{message}", definition=DefinitionRef(file, pointer), code="expression")


def _findings(node: ast.AST, row_of: str | None, index: NameIndex, fields: Mapping[str, FieldSpec]) -> Iterator[str]:
    if isinstance(node, ast.Call) and row_collection(node) is not None:  # f(rows, expr): expr runs per row
        try:
            rows = index.resolve_array(data_path(node.args[0]) or "", row_of)
        except NameProblem:
            return
        yield from _findings(node.args[0], row_of, index, fields)
        yield from _findings(node.args[1], rows, index, fields)
        return
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        for left, op, right in zip(operands, node.ops, operands[1:], strict=False):
            yield from _compared(left, op, right, row_of, index, fields)
    for child in ast.iter_child_nodes(node):
        yield from _findings(child, row_of, index, fields)


def _choice_field(node: ast.AST, row_of: str | None, index: NameIndex, fields: Mapping[str, FieldSpec]) -> FieldSpec | None:
    path = data_path(node)
    if path is None:
        return None
    try:
        spec = fields[index.resolve(path, row_of)]
    except NameProblem:
        return None
    return spec if spec.multiple else None


def _constant(node: ast.AST) -> tuple[bool, object]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int) and not isinstance(node.value, bool):
        return True, node.value
    return False, None


def _compared(left: ast.AST, op: ast.cmpop, right: ast.AST, row_of: str | None, index: NameIndex,
              fields: Mapping[str, FieldSpec]) -> Iterator[str]:
    if isinstance(op, _MEMBERSHIP):
        spec = _choice_field(right, row_of, index, fields)
        known, value = _constant(left)
        if spec is not None and known and not any(type(v) is type(value) and v == value for v, _ in spec.options):
            offered = "、".join(repr(v) for v, _ in spec.options)
            always = "成立" if isinstance(op, ast.NotIn) else "不会成立"
            yield f"中的「{value!r}」不是多选字段「{spec.key}」的选项（可选：{offered}），这个条件永远{always}"
    elif isinstance(op, _EQUALITY):
        for field_side, other in ((left, right), (right, left)):
            spec = _choice_field(field_side, row_of, index, fields)
            known, value = _constant(other)
            if spec is not None and known:
                yield (f"把多选字段「{spec.key}」（所选选项的列表）与单个值「{value!r}」比较，永远不会相等；"
                       f"判断是否选了某项请写「{value!r} in {data_path(field_side)}」")
