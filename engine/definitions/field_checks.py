"""Checks of one field's own keywords, once the field tree is built: a field no value can satisfy
(contradictory bounds), options that cannot be told apart (one value twice), and a calculated ratio that
would be summed by default. Each finding points at the keyword to change; a ``$defs`` entry used by
several fields is reported once."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from engine.definitions import pointers
from engine.definitions.labels import labelled
from engine.definitions.model import FieldSpec
from engine.definitions.satisfiability import spelled
from engine.errors import DefinitionRef, ProblemList
from engine.validation.messages import number_text

# (lower keyword, upper keyword, empty when lower ≥ upper (else only when lower > upper), how to say it)
BOUND_PAIRS: tuple[tuple[str, str, bool, str], ...] = (
    ("minimum", "maximum", False, "最小值（{low}）大于最大值（{high}）"),
    ("exclusiveMinimum", "exclusiveMaximum", True, "取值须大于 {low} 且小于 {high}"),
    ("minimum", "exclusiveMaximum", True, "取值须不小于 {low} 且小于 {high}"),
    ("exclusiveMinimum", "maximum", True, "取值须大于 {low} 且不大于 {high}"),
    ("minLength", "maxLength", False, "最少字数（{low}）大于最多字数（{high}）"),
    ("minItems", "maxItems", False, "最少行数（{low}）大于最多行数（{high}）"),
)
# Arithmetic that makes a ratio or a per-head figure: summing it over villages means nothing.
DIVISIONS = (ast.Div, ast.FloorDiv)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class FieldChecker:
    def __init__(self, file: str, problems: ProblemList) -> None:
        self.file = file
        self.problems = problems
        self.reported: set[tuple[str, str]] = set()  # (code, pointer): a shared $defs entry once

    def _problem(self, message: str, pointer: str, code: str) -> None:
        if (code, pointer) not in self.reported:
            self.reported.add((code, pointer))
            self.problems.add(message, definition=DefinitionRef(self.file, pointer), code=code)

    def check(
        self, fields: Mapping[str, FieldSpec], keyword_pointers: Mapping[str, Mapping[str, str]]
    ) -> None:
        for key, spec in fields.items():
            at = keyword_pointers.get(key, {})
            self._check_bounds(spec, at)
            self._check_options(spec, at)
            self._check_ratio(spec, at)

    def _check_bounds(self, spec: FieldSpec, at: Mapping[str, str]) -> None:
        """Bounds that leave no value: every value the clerk enters would be refused."""
        for low_kw, high_kw, strict, say in BOUND_PAIRS:
            low, high = spec.schema.get(low_kw), spec.schema.get(high_kw)
            if not (_number(low) and _number(high)) or low < high or (low == high and not strict):
                continue
            contradiction = say.format(low=number_text(low), high=number_text(high))
            self._problem(
                f"字段「{spec.title}」（{spec.key}）的{contradiction}，任何取值都通不过校验："
                f"请改正{labelled(low_kw)}或{labelled(high_kw)}",
                at.get(low_kw, pointers.join(spec.pointer, low_kw)),
                "bounds",
            )

    def _check_options(self, spec: FieldSpec, at: Mapping[str, str]) -> None:
        """One value twice: the clerk's two choices would be stored, counted and exported as one."""
        keyword = "oneOf" if isinstance(spec.schema.get("oneOf"), list) else "enum"
        written = spec.schema.get(keyword)
        if not isinstance(written, list):
            return
        base = at.get(keyword, pointers.join(spec.pointer, keyword))
        first: dict[tuple[type, Any], str] = {}
        for i, option in enumerate(written):
            value = option.get("const") if keyword == "oneOf" and isinstance(option, dict) else option
            where = pointers.join(base, i, "const") if keyword == "oneOf" else pointers.join(base, i)
            # 1 and True are equal in Python, not in JSON: the kind of value is part of the identity
            identity = (bool if isinstance(value, bool) else float if _number(value) else type(value), value)
            try:
                earlier = first.setdefault(identity, where)
            except TypeError:  # a list or object as an option value: the meta-schema's business
                continue
            if earlier != where:
                self._problem(
                    f"字段「{spec.title}」（{spec.key}）的{labelled(keyword)}中，选项值 {spelled(value)} "
                    f"出现了两次：{earlier} 与 {where}；每个选项的值必须不同",
                    where,
                    "options",
                )

    def _check_ratio(self, spec: FieldSpec, at: Mapping[str, str]) -> None:
        """A calculated ratio (a division) summed by default: 户均人口 合计 37.5 over 12 villages."""
        if not spec.calculate or "x-aggregate" in spec.schema or spec.aggregate == "none":
            return
        try:
            tree = ast.parse(spec.calculate, mode="eval")
        except (SyntaxError, ValueError, RecursionError):  # reported by the expression checks
            return
        if not any(isinstance(node, ast.BinOp) and isinstance(node.op, DIVISIONS) for node in ast.walk(tree)):
            return
        self._problem(
            f"字段「{spec.title}」（{spec.key}）的{labelled('x-calculate')}含除法（比率、人均数），"
            f"默认的逐级求和得出的合计没有意义：请写明{labelled('x-aggregate')}，"
            "如不汇总（none）、平均（avg）、最小值（min）或最大值（max）",
            at.get("x-calculate", pointers.join(spec.pointer, "x-calculate")),
            "aggregate",
        )
