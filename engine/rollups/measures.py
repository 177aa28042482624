"""What a roll-up adds up, generated from the indicator-set model (never hand-listed per set).

A *measure* is one field key with its aggregate. Each report contributes a ``Stat`` per measure —
(sum, count, min, max) — and stats of units combine by adding sums and counts and taking min/max, so
every x-aggregate can be answered from them (``VALUE_OF``). Repeat rows contribute once per row; every
repeat also gets a row-count measure under its own key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from engine.definitions import IndicatorSet

UNITS_KEY = "@units"  # how many reporting units a unit's figures include
ROWS = "rows"  # pseudo-aggregate of a repeat's row count
EXTREMES = frozenset({"min", "max"})  # only these keep min/max (they cannot be subtracted)


class Stat(NamedTuple):
    sum: Decimal
    count: int
    min: Decimal | None
    max: Decimal | None


def merge(a: Stat | None, b: Stat) -> Stat:
    if a is None:
        return b
    return Stat(a.sum + b.sum, a.count + b.count, _pick(min, a.min, b.min), _pick(max, a.max, b.max))


def _pick(fn: Any, x: Decimal | None, y: Decimal | None) -> Decimal | None:
    return y if x is None else x if y is None else fn(x, y)


# aggregate -> the figure of a unit from its combined stat (None: no value reported)
VALUE_OF: dict[str, Any] = {
    "sum": lambda s: s.sum,
    "avg": lambda s: s.sum / s.count if s.count else None,
    "count": lambda s: s.count,
    "min": lambda s: s.min,
    "max": lambda s: s.max,
    ROWS: lambda s: s.count,
}
# aggregate -> the figure when no report of the unit had a value for the key
EMPTY_VALUE: dict[str, Any] = {"sum": None, "avg": None, "count": 0, "min": None, "max": None, ROWS: 0}

AGGREGATE_LABELS: dict[str, str] = {
    "sum": "合计", "avg": "平均", "count": "填报个数", "min": "最小值", "max": "最大值", ROWS: "行数",
}


@dataclass(frozen=True)
class Measure:
    key: str
    aggregate: str  # sum avg count min max | rows
    path: tuple[str, ...]  # in the document, or within a row for row fields
    rows: tuple[str, ...] | None  # path of the enclosing repeat (row fields and row counts)


def measures_of(ind: IndicatorSet) -> tuple[Measure, ...]:
    """Every aggregated field (x-aggregate ≠ none) and every repeat's row count, in document order."""
    out: list[Measure] = []
    for spec in ind.fields.values():
        if spec.kind == "array":
            out.append(Measure(spec.key, ROWS, (), spec.path))
        elif not spec.is_container and spec.aggregate != "none":
            if spec.array_key is None:
                out.append(Measure(spec.key, spec.aggregate, spec.path, None))
            else:
                rows = ind.fields[spec.array_key].path
                out.append(Measure(spec.key, spec.aggregate, spec.path[len(rows):], rows))
    return tuple(out)


def _get(data: Any, path: Iterable[str]) -> Any:
    for part in path:
        if type(data) is not dict and not isinstance(data, Mapping):  # the exact-type test is the fast path
            return None
        data = data.get(part)
    return data


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))  # repr: 85.6 -> 85.6 exactly


def _values(m: Measure, data: Mapping[str, Any]) -> Iterator[Any]:
    if m.rows is None:
        yield _get(data, m.path)
        return
    rows = _get(data, m.rows)
    for row in rows if isinstance(rows, list) else ():
        yield _get(row, m.path)


def _stat(m: Measure, data: Mapping[str, Any]) -> Stat | None:
    if m.aggregate == ROWS:
        rows = _get(data, m.rows or ())
        n = len(rows) if isinstance(rows, list) else 0
        return Stat(Decimal(n), n, None, None) if n else None
    if m.aggregate == "count":  # any kind: how many non-blank values were reported
        n = sum(1 for v in _values(m, data) if v is not None and v != "")
        return Stat(Decimal(n), n, None, None) if n else None
    numbers = [n for n in map(_number, _values(m, data)) if n is not None]
    if not numbers:
        return None
    keep = m.aggregate in EXTREMES
    return Stat(sum(numbers, Decimal(0)), len(numbers), min(numbers) if keep else None,
                max(numbers) if keep else None)


def document_stats(measures: Iterable[Measure], data: Mapping[str, Any]) -> dict[str, Stat]:
    """One report's contribution: its stat per measure (measures without a value are left out)."""
    out = {UNITS_KEY: Stat(Decimal(1), 1, None, None)}
    for m in measures:
        stat = _stat(m, data or {})
        if stat is not None:
            out[m.key] = stat
    return out


# --- the approval listener's fast path -------------------------------------------------------------
# A batch of approvals is summed per reporting unit's parent first (``report_values`` per report, then
# ``combine`` per parent over all of them), so the per-report work is one pass over the document and
# the per-key arithmetic runs in ``sum``/``min``/``max`` over whole columns. Integers stay Python ints
# until ``combine`` (exact, and much cheaper than Decimal); floats become Decimal(repr) exactly as in
# ``_number``. The figures equal ``document_stats`` merged report by report (tests compare them).

_NUMBER, _COUNT, _ROWS, _ROW_NUMBER, _ROW_COUNT = range(5)


@dataclass(frozen=True, eq=False)
class Plan:
    """``measures`` compiled for ``report_values``/``combine`` (build once per indicator-set version)."""

    keys: tuple[str, ...]
    steps: tuple[tuple[int, tuple[str, ...], tuple[str, ...], bool], ...]  # (kind, path, rows, keep min/max)


def plan_of(measures: Iterable[Measure]) -> Plan:
    keys, steps = [], []
    for m in measures:
        if m.aggregate == ROWS:
            kind = _ROWS
        elif m.aggregate == "count":
            kind = _COUNT if m.rows is None else _ROW_COUNT
        else:
            kind = _NUMBER if m.rows is None else _ROW_NUMBER
        keys.append(m.key)
        steps.append((kind, m.path, m.rows or (), m.aggregate in EXTREMES))
    return Plan(tuple(keys), tuple(steps))


def _fast_number(value: Any) -> int | Decimal | None:
    kind = type(value)
    if kind is int:
        return value
    if kind is float:
        return Decimal(repr(value))
    return _number(value)  # bool, None, strings, subclasses: as document_stats


def report_values(plan: Plan, data: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """One report's contribution per measure of ``plan`` (None: no value): a number for a plain field,
    a positive count for counts and rows, a ``Stat`` (int or Decimal sum) for a repeat's number field."""
    data = data or {}
    out: list[Any] = []
    for kind, path, rows, keep in plan.steps:
        if kind == _NUMBER:
            out.append(_fast_number(_get(data, path)))
        elif kind == _COUNT:
            value = _get(data, path)
            out.append(1 if value is not None and value != "" else None)
        else:
            found = _get(data, rows)
            items = found if isinstance(found, list) else ()
            if kind == _ROWS:
                out.append(len(items) or None)
            elif kind == _ROW_COUNT:
                found = [v for row in items if (v := _get(row, path)) is not None and v != ""]
                out.append(len(found) or None)
            else:
                numbers = [n for row in items if (n := _fast_number(_get(row, path))) is not None]
                out.append(Stat(sum(numbers), len(numbers), min(numbers) if keep else None,
                                max(numbers) if keep else None) if numbers else None)
    return tuple(out)


def _decimal(value: int | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def combine(plan: Plan, reports: list[tuple[Any, ...]]) -> dict[str, Stat]:
    """The merged stats of ``reports`` (``report_values`` of the same plan), as ``document_stats``
    merged report by report would give them, with Decimal sums/extremes."""
    if not reports:
        return {}
    out = {UNITS_KEY: Stat(Decimal(len(reports)), len(reports), None, None)}
    columns = zip(*reports, strict=True)
    for key, (kind, _, _, keep), column in zip(plan.keys, plan.steps, columns, strict=True):
        values = [v for v in column if v is not None]
        if not values:
            continue
        if kind == _NUMBER:
            out[key] = Stat(Decimal(sum(values)), len(values), _decimal(min(values)) if keep else None,
                            _decimal(max(values)) if keep else None)
        elif kind == _ROW_NUMBER:
            lows = [s.min for s in values if s.min is not None]
            highs = [s.max for s in values if s.max is not None]
            out[key] = Stat(Decimal(sum(s.sum for s in values)), sum(s.count for s in values),
                            _decimal(min(lows)) if lows else None, _decimal(max(highs)) if highs else None)
        else:
            n = sum(values)
            out[key] = Stat(Decimal(n), n, None, None)
    return out
