"""``x-fill``: fields whose value comes from the report's context (its unit, its period), not the clerk.

``FILL_SOURCES`` is the lookup table: a source's name (the keyword's value) -> its Chinese description,
the form's hint, the field kinds it fits and how its value is taken from a ``FillContext``, in Python
(saves and submits) and in SQL (a collection's start fills every new submission in one UPDATE).
``fill_document`` sets every filled field of a document: whatever a client sent there is replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FillContext:
    """What a report's filled fields are taken from."""

    unit_code: str  # the reporting unit's 12-digit code
    unit_name: str
    period: str  # the collection's period: "2025", "2025Q3", "2025-10"


@dataclass(frozen=True)
class FillSource:
    description: str  # Chinese: docs, definition errors, the workbench's choice list
    hint: str  # Chinese: shown under the read-only field on the fill page
    kinds: frozenset[str]  # the field kinds it fits
    value: Callable[[FillContext], Any]
    # The same value in SQL, as jsonb, over the unit's org_units row ``o`` and the bind parameter
    # ``:period`` (engine.collections fills a whole collection with it).
    sql: str
    needs_period: bool = False  # the set must declare x-period (the period's syntax is then known)


FILL_SOURCES: dict[str, FillSource] = {
    "unit.code": FillSource("本单位的 12 位统计用区划代码", "由系统按本单位填写", frozenset({"string"}),
                            lambda c: c.unit_code, "to_jsonb(o.code)"),
    "unit.name": FillSource("本单位名称", "由系统按本单位填写", frozenset({"string"}),
                            lambda c: c.unit_name, "to_jsonb(o.name)"),
    "period": FillSource("本期期别，如 2025、2025Q3、2025-10", "按本期自动填写", frozenset({"string"}),
                         lambda c: c.period, "to_jsonb(CAST(:period AS text))"),
    "period.year": FillSource("本期所属年度，整数，如 2025", "按本期自动填写", frozenset({"integer"}),
                              lambda c: int(c.period[:4]), "to_jsonb(CAST(left(CAST(:period AS text), 4) AS integer))",
                              needs_period=True),
}


def fill_document(filled: tuple[Any, ...], data: Any, context: FillContext) -> Any:
    """``data`` with every field of ``filled`` (FieldSpecs with ``fill``) set from ``context``. The
    caller's document is not modified: the objects along the filled paths are copies. A place that holds
    something other than an object where a section belongs is left as it is (the schema reports it)."""
    if not filled or not isinstance(data, Mapping):
        return data
    out = dict(data)
    copied: set[tuple[str, ...]] = set()
    for spec in filled:
        holder: dict[str, Any] | None = out
        for depth, name in enumerate(spec.path[:-1], start=1):
            child = holder.get(name)
            if child is None:
                child = {}
            elif not isinstance(child, Mapping):
                holder = None
                break
            elif spec.path[:depth] not in copied:
                child = dict(child)
            copied.add(spec.path[:depth])
            holder[name] = child
            holder = child
        if holder is not None:
            holder[spec.path[-1]] = FILL_SOURCES[spec.fill].value(context)
    return out
