"""What a roll-up adds up, generated from the indicator-set model (never hand-listed per set).

A *measure* is one field key with its aggregate. Each report contributes a ``Stat`` per measure —
(sum, count, min, max) — and stats of units combine by adding sums and counts and taking min/max, so
every x-aggregate can be answered from them (``VALUE_OF``). Repeat rows contribute once per row; every
repeat also gets a row-count measure under its own key. A choice counted option by option
(``count_each``, the default of a multiple choice) is one measure per option, keyed
``<field key>=<option value>`` (``facilities.list=clinic``): how many units (or rows) chose it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from engine.definitions import IndicatorSet

UNITS_KEY = "@units"  # how many reporting units a unit's figures include
ROWS = "rows"  # pseudo-aggregate of a repeat's row count
COUNT_EACH = "count_each"  # one count per option: how many units (rows) chose it
OPTION_MARK = "="  # field key = option value: a per-option measure's key (field keys never hold "=")
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
    COUNT_EACH: lambda s: s.count,
    "min": lambda s: s.min,
    "max": lambda s: s.max,
    ROWS: lambda s: s.count,
}
# aggregate -> the figure when no report of the unit had a value for the key
EMPTY_VALUE: dict[str, Any] = {"sum": None, "avg": None, "count": 0, COUNT_EACH: 0, "min": None, "max": None,
                               ROWS: 0}

AGGREGATE_LABELS: dict[str, str] = {
    "sum": "合计", "avg": "平均", "count": "填报个数", COUNT_EACH: "选择个数", "min": "最小值", "max": "最大值",
    ROWS: "行数",
}


@dataclass(frozen=True)
class Measure:
    key: str
    aggregate: str  # sum avg count count_each min max | rows
    path: tuple[str, ...]  # in the document, or within a row for row fields
    rows: tuple[str, ...] | None  # path of the enclosing repeat (row fields and row counts)
    option: Any = None  # count_each: the option value counted (None otherwise)
    option_label: str | None = None  # ... and its title

    @property
    def field(self) -> str:
        """The field's key (a per-option measure's key adds ``=<option>``)."""
        return self.key.partition(OPTION_MARK)[0]


def option_key(field_key: str, option: Any) -> str:
    """The key of a per-option count: ``facilities.list=clinic`` (booleans as true/false, as in forms)."""
    text = ("true" if option else "false") if isinstance(option, bool) else str(option)
    return f"{field_key}{OPTION_MARK}{text}"


def measures_of(ind: IndicatorSet) -> tuple[Measure, ...]:
    """Every aggregated field (x-aggregate ≠ none; count_each: one measure per option) and every repeat's
    row count, in document order."""
    out: list[Measure] = []
    for spec in ind.fields.values():
        if spec.kind == "array":
            out.append(Measure(spec.key, ROWS, (), spec.path))
        elif not spec.is_container and spec.aggregate != "none":
            rows = ind.fields[spec.array_key].path if spec.array_key is not None else None
            path = spec.path[len(rows):] if rows is not None else spec.path
            if spec.aggregate == COUNT_EACH:
                out.extend(Measure(option_key(spec.key, value), COUNT_EACH, path, rows, value, label)
                           for value, label in spec.options)
            else:
                out.append(Measure(spec.key, spec.aggregate, path, rows))
    return tuple(out)


def chose(value: Any, option: Any) -> bool:
    """Whether a stored value chose ``option``: a multiple choice's list holds it, a single choice is it.
    1.0 is the option 1 (JSON numbers), True is not."""
    if isinstance(value, list):
        return any(chose(v, option) for v in value)
    return value == option and isinstance(value, bool) == isinstance(option, bool)


def _get(data: Any, path: Iterable[str]) -> Any:
    for part in path:
        if type(data) is not dict and not isinstance(data, Mapping):  # the exact-type test is the fast path
            return None
        data = data.get(part)
    return data


def _blank(value: Any) -> bool:
    """Not reported: missing, an empty text, or a multiple choice with nothing ticked."""
    return value is None or value == "" or value == []


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
        n = sum(1 for v in _values(m, data) if not _blank(v))
        return Stat(Decimal(n), n, None, None) if n else None
    if m.aggregate == COUNT_EACH:  # how many values (reports, or rows) chose the option
        n = sum(1 for v in _values(m, data) if chose(v, m.option))
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

_NUMBER, _COUNT, _ROWS, _ROW_NUMBER, _ROW_COUNT, _CHOSEN, _ROW_CHOSEN = range(7)


@dataclass(frozen=True, eq=False)
class Plan:
    """``measures`` compiled for ``report_values``/``combine`` (build once per indicator-set version)."""

    keys: tuple[str, ...]
    # (kind, path, rows, keep min/max, option counted by count_each)
    steps: tuple[tuple[int, tuple[str, ...], tuple[str, ...], bool, Any], ...]


def plan_of(measures: Iterable[Measure]) -> Plan:
    keys, steps = [], []
    for m in measures:
        if m.aggregate == ROWS:
            kind = _ROWS
        elif m.aggregate == "count":
            kind = _COUNT if m.rows is None else _ROW_COUNT
        elif m.aggregate == COUNT_EACH:
            kind = _CHOSEN if m.rows is None else _ROW_CHOSEN
        else:
            kind = _NUMBER if m.rows is None else _ROW_NUMBER
        keys.append(m.key)
        steps.append((kind, m.path, m.rows or (), m.aggregate in EXTREMES, m.option))
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
    for kind, path, rows, keep, option in plan.steps:
        if kind == _NUMBER:
            out.append(_fast_number(_get(data, path)))
        elif kind == _COUNT:
            out.append(None if _blank(_get(data, path)) else 1)
        elif kind == _CHOSEN:
            out.append(1 if chose(_get(data, path), option) else None)
        else:
            found = _get(data, rows)
            items = found if isinstance(found, list) else ()
            if kind == _ROWS:
                out.append(len(items) or None)
            elif kind == _ROW_COUNT:
                out.append(sum(1 for row in items if not _blank(_get(row, path))) or None)
            elif kind == _ROW_CHOSEN:
                out.append(sum(1 for row in items if chose(_get(row, path), option)) or None)
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
    for key, (kind, _, _, keep, _), column in zip(plan.keys, plan.steps, columns, strict=True):
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
