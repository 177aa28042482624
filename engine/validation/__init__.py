"""Submission validation: relevance -> calculations -> JSON Schema -> rules, with Chinese field errors.

```python
result = validate_submission(ind, data, explanations={"hh_le_pop": "外出人员多，已核实"})
result.data        # cleaned: irrelevant values dropped, calculated fields recomputed, shown sections present
result.errors      # schema problems + hard rule failures (data_path like "elders.2.id_number")
result.warnings    # every soft rule failure (explained or not)
result.unexplained # soft failures without a non-empty explanation
result.ok          # no errors and no unexplained warnings
draft = validate_submission(ind, data, draft=True)  # what a saved draft is told (engine.validation.drafts)
```
Saving a draft needs no validation (it is stored whatever is typed); ``draft=True`` gives the problems a
fill page shows after a save: blanks wait for the submit, and so does a rule until the fields it reads
are filled. Never use a draft's result to decide a submit. ``coerce_types`` turns form strings into
typed values.

The JSON Schema step first asks the version's compiled fast accept path (``engine.validation.fast``);
jsonschema runs, and produces the problems, only when that cannot accept the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Problem
from engine.validation.cleaning import Cleaned, calculation_order, clean
from engine.validation.coercion import coerce_types, coerce_value, option_text
from engine.validation.drafts import not_yet_filled, rule_waits
from engine.validation.messages import message_for
from engine.validation.rules import rule_problems
from engine.validation.schema import compiled_schema, schema_problems


@dataclass
class ValidationResult:
    data: dict[str, Any]
    errors: list[Problem]
    warnings: list[Problem]
    ok: bool
    unexplained: list[Problem] = field(default_factory=list)
    hidden: frozenset[str] = frozenset()  # data paths of fields/sections that are not relevant


def validate_submission(
    ind: Any, data: Mapping[str, Any], *, explanations: Mapping[str, str] | None = None, draft: bool = False
) -> ValidationResult:
    cleaned = clean(ind, dict(data or {}))
    errors = schema_problems(ind, cleaned.data, cleaned.hidden)
    waits = rule_waits(ind, cleaned.data, cleaned.hidden) if draft else None
    checked = rule_problems(ind, cleaned.data, errors, waits)
    if draft:
        errors = [p for p in errors if not not_yet_filled(p)]
    errors += [p for p in checked if p.severity == "hard"]
    warnings = [p for p in checked if p.severity != "hard"]
    explained = {rule_id for rule_id, text in (explanations or {}).items() if text and str(text).strip()}
    unexplained = [p for p in warnings if p.rule_id not in explained]
    return ValidationResult(
        data=cleaned.data,
        errors=errors,
        warnings=warnings,
        ok=not errors and not unexplained,
        unexplained=unexplained,
        hidden=cleaned.hidden,
    )


__all__ = [
    "Cleaned",
    "ValidationResult",
    "calculation_order",
    "clean",
    "coerce_types",
    "coerce_value",
    "compiled_schema",
    "message_for",
    "option_text",
    "validate_submission",
]
