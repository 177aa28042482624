"""Relevance and calculations, decided on the server from the definition.

Relevance: a field or section whose ``relevant`` expression is not True is hidden — not shown, not
required, and its value is dropped (peers keep hidden values and still require hidden fields).
Calculations: every ``calculate`` field is recomputed in dependency order, rows included, and whatever
the client sent is overwritten. The two can depend on each other (a relevance test on a computed value,
a computation over a field that may be hidden), so both run again until the document stops changing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from graphlib import CycleError, TopologicalSorter
from typing import Any

from engine.definitions.names import NameIndex, NameProblem
from engine.errors import GrassrootsError
from engine.expressions import Scope, compile_expression
from engine.validation.paths import container_for, document_scope, get_in, is_hidden, join, local_parts

OBJECT_KINDS = frozenset({"section", "grid"})


@dataclass(frozen=True)
class Cleaned:
    data: dict[str, Any]
    hidden: frozenset[str]  # data paths (with row indices) of fields and sections that are not relevant


def evaluate(source: str, scope: Scope) -> Any:
    """An expression's value; a run-time failure counts as "unknown" (None), like a missing value."""
    try:
        return compile_expression(source).evaluate(scope)
    except GrassrootsError:
        return None


def row_scope(scope: Scope, row: dict[str, Any], fields: tuple[Any, ...]) -> Scope:
    # Every row field is present (None when blank) so a blank row value never falls through to a
    # document field of the same name.
    return scope.row({**{f.name: None for f in fields}, **row})


def clean(ind: Any, data: dict[str, Any]) -> Cleaned:
    """The document with irrelevant values dropped and calculated fields recomputed.

    The caller's ``data`` is never modified and shares nothing mutable with the result: ``_prune``
    rebuilds every object and row the definition knows (the only places calculations write to) and,
    on the first pass, deep-copies any other list or dict — cheaper than a deepcopy of the whole
    document."""
    current = data if isinstance(data, dict) else {}
    hidden: set[str] = set()
    for first in _passes(ind):
        hidden = set()
        stored: Stored = []
        cleaned = _prune(ind.sections, current, document_scope(ind, current), "", hidden, first)
        _calculate(ind, cleaned, hidden, stored)
        if cleaned == current:
            if first:
                # Nothing changed, as far as == can tell: keep the values as sent (1.0 stays 1.0 where
                # the calculation gives 1), as the deep copy of them did.
                _undo(stored)
                current = cleaned
            break
        current = cleaned
    return Cleaned(current, frozenset(hidden))


@lru_cache(maxsize=256)
def _passes(ind: Any) -> tuple[bool, ...]:
    """One flag per pass (True for the first): relevance and calculations settle within this many."""
    return (True,) + (False,) * (1 + sum(1 for f in ind.fields.values() if f.relevant or f.calculate))


_ATOMIC = frozenset({str, int, float, bool, type(None)})


def _own(value: Any) -> Any:
    return value if type(value) in _ATOMIC else copy.deepcopy(value)


def _prune(
    specs: tuple[Any, ...], obj: dict[str, Any], scope: Scope, prefix: str, hidden: set[str], first: bool
) -> dict[str, Any]:
    out = dict(obj)  # keys the definition does not know stay, so the schema can report them
    for spec in _active(specs):
        if spec.relevant and evaluate(spec.relevant, scope) is not True:
            hidden.add(join(prefix, spec.name))
            out.pop(spec.name, None)
            continue
        value = out.get(spec.name)
        if spec.kind == "array" and isinstance(value, list):
            path = join(prefix, spec.name)
            out[spec.name] = [
                _prune(spec.children, row, row_scope(scope, row, spec.children), join(path, i), hidden, first)
                if isinstance(row, dict)
                else _own(row) if first else row
                for i, row in enumerate(value)
            ]
        elif spec.kind in OBJECT_KINDS and (value is None or isinstance(value, dict)):
            # A shown section is always part of the document, so its required fields are checked
            # even when the user never opened its page.
            path = f"{prefix}.{spec.name}" if prefix else spec.name  # join(prefix, spec.name), inlined
            out[spec.name] = _prune(spec.children, value or {}, scope, path, hidden, first)
    # still the caller's objects: unknown keys, wrong-typed values (the usual all-atomic object is
    # told apart without a Python-level loop)
    if first and not _ATOMIC.issuperset(map(type, out.values())):
        foreign = [k for k, v in out.items() if type(v) not in _ATOMIC and v is obj.get(k)]
        for key in foreign:
            out[key] = copy.deepcopy(out[key])
    return out


@lru_cache(maxsize=4096)
def _active(specs: tuple[Any, ...]) -> tuple[Any, ...]:
    """The specs ``_prune`` has something to do for: a relevance test, or children to visit. A plain
    field without ``relevant`` keeps the value ``dict(obj)`` copied, so it is not looked at at all."""
    return tuple(s for s in specs if s.relevant or s.kind == "array" or s.kind in OBJECT_KINDS)


def _json_value(spec: Any, value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if spec.kind == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Stored = list[tuple[dict[str, Any], str, Any]]  # (holder, name, value before) of every calculated store


def _calculate(ind: Any, data: dict[str, Any], hidden: set[str], stored: Stored) -> None:
    scope = document_scope(ind, data)
    for spec in calculation_order(ind):
        parts = local_parts(spec)
        if spec.array_key is None:
            if not is_hidden(spec.key, hidden):
                _store(spec, data, parts, evaluate(spec.calculate, scope), stored)
            continue
        array = ind.fields[spec.array_key]
        rows = get_in(data, array.key.split("."))
        for i, row in enumerate(rows if isinstance(rows, list) else []):
            if isinstance(row, dict) and not is_hidden(join(array.key, i, *parts), hidden):
                value = evaluate(spec.calculate, row_scope(scope, row, array.children))
                _store(spec, row, parts, value, stored)


_ABSENT = object()


def _store(spec: Any, data: dict[str, Any], parts: list[str], value: Any, stored: Stored) -> None:
    holder = container_for(data, parts, create=value is not None)
    if holder is None:
        return
    stored.append((holder, parts[-1], holder.get(parts[-1], _ABSENT)))
    if value is None:
        holder.pop(parts[-1], None)
    else:
        holder[parts[-1]] = _json_value(spec, value)


def _undo(stored: Stored) -> None:
    for holder, name, before in reversed(stored):
        if before is _ABSENT:
            holder.pop(name, None)
        else:
            holder[name] = before


@lru_cache(maxsize=8192)
def referenced_keys(ind: Any, source: str, array_key: str | None) -> frozenset[str]:
    """Keys an expression reads; ``array_key`` is the repeat whose row is in scope (row fields first)."""
    index = _names(ind)
    keys: set[str] = set()
    for ref in compile_expression(source).references:
        try:
            row_of = index.resolve_array(ref.row_of, array_key) if ref.row_of else array_key
            keys.add(index.resolve(ref.name, row_of))
        except NameProblem:
            continue
    return frozenset(keys)


@lru_cache(maxsize=256)
def _names(ind: Any) -> NameIndex:
    return NameIndex(ind.fields)


@lru_cache(maxsize=256)
def _order(ind: Any) -> tuple[Any, ...]:
    calculated = [f for f in ind.fields.values() if f.calculate]
    graph: dict[str, set[str]] = {}
    for spec in calculated:
        refs = referenced_keys(ind, spec.calculate, spec.array_key)
        graph[spec.key] = {
            other.key
            for other in calculated
            if other is not spec and any(other.key == r or other.key.startswith(r + ".") for r in refs)
        }
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError:  # the definition checker refuses cycles; keep document order if one slips through
        order = [f.key for f in calculated]
    return tuple(ind.fields[key] for key in order)


def calculation_order(ind: Any) -> tuple[Any, ...]:
    """Calculated fields, each after the calculated fields it reads (cached per definition object)."""
    return _order(ind)
