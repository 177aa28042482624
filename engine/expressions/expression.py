"""Compiled expressions: ``compile_expression(source)`` checks once, caches, and evaluates many times."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from engine.expressions import evaluator
from engine.expressions.parser import Reference, parse
from engine.expressions.scope import MappingScope, RowScope, Scope
from engine.expressions.values import EvaluationError

_SCOPES = (MappingScope, RowScope)


@dataclass(frozen=True, slots=True)
class Expression:
    source: str
    references: tuple[Reference, ...] = field(compare=False)
    names: frozenset[str] = field(compare=False)  # references outside any per-row argument
    _run: evaluator.Evaluator = field(compare=False, repr=False)

    def evaluate(self, scope: Scope | Mapping[str, Any]) -> Any:
        """The value, or None when a needed value is missing; EvaluationError on type errors."""
        # The engine's own scopes first: a plain isinstance is much cheaper than the ABC check.
        if not isinstance(scope, _SCOPES) and isinstance(scope, Mapping):
            scope = MappingScope(scope)
        try:
            return self._run(scope)
        except EvaluationError as exc:
            exc.details.setdefault("source", self.source)
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            # Values of unexpected Python types handed in by a caller must still fail as an engine error.
            raise EvaluationError(
                "表达式计算失败", details={"source": self.source, "reason": repr(exc)}
            ) from exc


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """Check ``source`` against the whitelist and build it; raises ExpressionError (Chinese message)."""
    tree, references = parse(source)
    names = frozenset(r.name for r in references if r.row_of is None)
    return Expression(source, references, names, evaluator.build_root(tree))
