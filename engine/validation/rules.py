"""Cross-field rules: root rules once, per-row rules once per row.

A failed rule gives ONE problem, shown on the rule's first field (``fields[0]``; for a per-row rule with
that row's index, ``elders.2.age``): one failure, one message, one thing to count. A rule whose result is
None is not applicable (a value it needs is missing). A rule is also skipped while a value it reads has
a schema error — the user fixes that first, and the rule would only repeat the complaint — and, for a
saved draft, while a field it reads is still blank (``waits``: engine.validation.drafts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import DefinitionRef, Problem
from engine.expressions import EvaluationError, Scope, compile_expression
from engine.validation.cleaning import referenced_keys, row_scope
from engine.validation.paths import document_scope, get_in, join, key_of


def rule_problems(
    ind: Any,
    data: dict[str, Any],
    schema_errors: list[Problem],
    waits: Callable[[Any, int | None], bool] | None = None,
) -> list[Problem]:
    """``waits(rule, row index)``: rules not to check yet (a draft's blanks); None checks every rule."""
    error_paths = {p.data_path or "" for p in schema_errors}
    scope = document_scope(ind, data)
    found: list[Problem] = []
    for rule in ind.rules:
        if rule.scope is None:
            if waits is not None and waits(rule, None):
                continue
            problem = _check(ind, rule, scope, None, error_paths)
            if problem is not None:
                found.append(problem)
            continue
        array = ind.fields[rule.scope]
        rows = get_in(data, array.key.split("."))
        for i, row in enumerate(rows if isinstance(rows, list) else []):
            if isinstance(row, dict) and (waits is None or not waits(rule, i)):
                problem = _check(ind, rule, row_scope(scope, row, array.children), i, error_paths)
                if problem is not None:
                    found.append(problem)
    return found


def row_path(rule: Any, key: str, index: int | None) -> str:
    """A rule field's data path: row fields of a per-row rule get the row index."""
    if rule.scope and index is not None and key.startswith(rule.scope + "."):
        return join(rule.scope, index, key[len(rule.scope) + 1 :])
    return key


def _blocked(ind: Any, rule: Any, index: int | None, error_paths: set[str]) -> bool:
    if not error_paths:  # the usual case: nothing to compare the rule's fields with
        return False
    for key in referenced_keys(ind, rule.expr, rule.scope):
        path = row_path(rule, key, index)
        exact = path != key or index is None  # a column reference covers every row's value
        for error in error_paths:
            target = error if exact else key_of(error)
            if target == path or target.startswith(path + "."):
                return True
    return False


def _check(ind: Any, rule: Any, scope: Scope, index: int | None, error_paths: set[str]) -> Problem | None:
    """The rule's problem, if it fails here; None if it holds, is not applicable or is blocked."""
    if error_paths and _blocked(ind, rule, index, error_paths):  # no schema error, nothing to block
        return None
    message = rule.message
    try:
        result = compile_expression(rule.expr).evaluate(scope)
    except EvaluationError as exc:
        # The check could not be made (e.g. text where a number was expected): say so instead of passing.
        result, message = False, f"{rule.message}（无法核对：{exc.message}）"
    if result is not False:
        return None
    return Problem(
        message,
        data_path=row_path(rule, rule.fields[0], index),
        definition=DefinitionRef(ind.source, rule.pointer),
        code="rule",
        severity=rule.severity,
        rule_id=rule.id,
    )
