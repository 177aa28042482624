"""What a saved draft is told: the problems of the values typed, not of the blanks still to fill.

A clerk on a weak connection saves often, half-way through a page. Told 「…之和应等于总户数」 with only
总户数 typed, she is scolded for parts she has not reached, and learns to ignore the messages. So on a
save (``validate_submission(..., draft=True)``):

* a schema problem that only says something is not filled in yet (``NOT_YET_FILLED``) waits;
* a cross-field rule waits until every field it reads (``referenced_keys``: the names in its
  expression) is filled; a field hidden by relevance needs no value, as validation holds everywhere.
  A per-row rule reads its own row; a row field read outside its row (``unique(elders.id_number)``,
  ``sum(elders, amount)``) reads the whole column, so every shown row's value counts.

The submit checks everything as before, blanks included; a draft's result never decides a submit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import Problem
from engine.expressions.functions import is_blank
from engine.validation.cleaning import referenced_keys
from engine.validation.paths import get_in, is_hidden, join, local_parts

# Schema problems that only say a value is missing: shown by the submit's check, not after a save.
NOT_YET_FILLED = frozenset({"required", "dependentRequired", "minItems", "minProperties"})

Waits = Callable[[Any, int | None], bool]  # (rule, row index of a per-row rule) -> not checked yet


def not_yet_filled(problem: Problem) -> bool:
    return problem.code in NOT_YET_FILLED


def rule_waits(ind: Any, data: dict[str, Any], hidden: frozenset[str]) -> Waits:
    """For the cleaned document: whether a rule (in row ``index``) still has a blank field to read."""

    def waits(rule: Any, index: int | None) -> bool:
        return not all(
            _filled(ind.fields[key], data, hidden, index if rule.scope == ind.fields[key].array_key else None)
            for key in referenced_keys(ind, rule.expr, rule.scope)
        )

    return waits


def _filled(spec: Any, data: dict[str, Any], hidden: frozenset[str], row: int | None) -> bool:
    """The field has a value, or is hidden; a row field: in ``row``, or else in every row (a column)."""
    if spec.array_key is None:
        return is_hidden(spec.key, hidden) or not is_blank(get_in(data, spec.key.split(".")))
    rows = get_in(data, spec.array_key.split("."))
    rows = rows if isinstance(rows, list) else []
    local = local_parts(spec)
    for i in range(len(rows)) if row is None else (row,):
        if not is_hidden(join(spec.array_key, i, *local), hidden) and is_blank(get_in(rows[i], local)):
            return False
    return True
