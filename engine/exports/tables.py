"""Export tables built from an indicator-set version: one main table plus one table per repeat.

Columns come from the definition only (``IndicatorSet.leaves()``), so a new field or version needs no
code. Headers are the Chinese labels with their unit ("户籍总人口（人）"); grid cells read "row · column".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from engine.definitions import FieldSpec, IndicatorSet
from engine.expressions.scope import walk_path
from engine.roles import LEVEL_LABELS, Level

GRID_SEPARATOR = " · "
CHOICES_SEPARATOR = "、"  # a multiple choice's titles in one cell: 卫生室、文化礼堂
OPTION_SEPARATOR = "："  # a per-option column's header: 公共设施：卫生室
SHEET_NAME_LIMIT = 31  # Excel's limit
_SHEET_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})


@dataclass(frozen=True, slots=True)
class Record:
    """One submission as read for an export; ``data`` is None when only the unit's status is listed."""

    submission_id: int
    org_code: str
    unit_name: str
    status: str
    approved_level: int | None
    data: dict[str, Any] | None


@dataclass(frozen=True)
class RowContext:
    """What a row needs besides the record: ancestor names, status label, whether personal fields show."""

    county: str
    township: str
    status: str
    show_sensitive: bool


def _plain(value: Any) -> Any:
    # A leaf normally holds a scalar; anything else is written as JSON rather than failing the export.
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


def _choice(field: FieldSpec) -> Callable[[Any], Any]:
    labels = {value: label for value, label in field.options}
    return lambda v: labels.get(v, _plain(v)) if v is not None else None


def _date(value: Any) -> Any:
    # a date cell sorts and filters as a date in a spreadsheet; text that is not one stays as stored
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _plain(value)
    except ValueError:
        return value


def _number(value: Any) -> Any:
    # a whole number is written as one: 856000, not 856000.0 (a float carried or sent by a client)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _plain(value)


# Field kind -> how a stored value is shown (anything not listed is written as stored).
RENDERERS: dict[str, Callable[[FieldSpec], Callable[[Any], Any]]] = {
    "choice": _choice,
    "date": lambda _f: _date,
    "integer": lambda _f: _number,
    "number": lambda _f: _number,
    "boolean": lambda _f: lambda v: None if v is None else ("是" if v else "否"),
}


@dataclass(frozen=True)
class Column:
    header: str
    path: tuple[str, ...]  # from the document root (main table) or from the row (repeat tables)
    render: Callable[[Any], Any]
    sensitive: bool

    def value(self, source: dict[str, Any], show_sensitive: bool) -> Any:
        if self.sensitive and not show_sensitive:
            return None
        return self.render(walk_path(source, self.path))


# How a title may write a unit in its own brackets, when not as the unit itself.
UNIT_SPELLINGS: dict[str, set[str]] = {"岁": {"岁", "周岁"}}


def header_of(field: FieldSpec, grid_rows: dict[str, str]) -> str:
    parent = ".".join(field.path[:-1])
    title = f"{grid_rows[parent]}{GRID_SEPARATOR}{field.title}" if parent in grid_rows else field.title
    if not field.unit:
        return title
    # a title that ends with its unit in brackets already says it: "年龄（周岁）（岁）" would say it twice
    last = title[title.rfind("（") + 1:-1] if title.endswith("）") else None
    return title if last in UNIT_SPELLINGS.get(field.unit, {field.unit}) else f"{title}（{field.unit}）"


def column_of(field: FieldSpec, grid_rows: dict[str, str], strip: int) -> Column:
    render = RENDERERS.get(field.kind, lambda _f: _plain)(field)
    return Column(header_of(field, grid_rows), field.path[strip:], render, field.sensitive is not None)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b  # an option 1 is not the value True


def _chosen_titles(field: FieldSpec) -> Callable[[Any], Any]:
    labels = {value: label for value, label in field.options}

    def render(value: Any) -> Any:
        if not isinstance(value, list):
            return _plain(value)
        return CHOICES_SEPARATOR.join(str(labels.get(v, _plain(v))) for v in value) or None

    return render


def _ticked(option: Any) -> Callable[[Any], Any]:
    # 1/0 where the question was answered (a column a spreadsheet sums and a pivot table counts);
    # blank where it was not (hidden, or not filled), so an average over the column is not pulled down
    return lambda value: int(any(_same(v, option) for v in value)) if isinstance(value, list) else None


def _multichoice_columns(field: FieldSpec, grid_rows: dict[str, str], strip: int) -> tuple[Column, ...]:
    """A multiple choice: its titles joined by 、 for reading, then one 0/1 column per option for counting
    (公共设施：卫生室): a county statistician sums a column, where a joined text needs a formula per option."""
    header, path, sensitive = header_of(field, grid_rows), field.path[strip:], field.sensitive is not None
    joined = Column(header, path, _chosen_titles(field), sensitive)
    return (joined, *(Column(f"{header}{OPTION_SEPARATOR}{label}", path, _ticked(value), sensitive)
                      for value, label in field.options))


# Field kind -> its columns, when it has more than the one column ``column_of`` gives.
COLUMNS: dict[str, Callable[[FieldSpec, dict[str, str], int], tuple[Column, ...]]] = {
    "multichoice": _multichoice_columns,
}


def columns_of(field: FieldSpec, grid_rows: dict[str, str], strip: int) -> tuple[Column, ...]:
    several = COLUMNS.get(field.kind)
    return several(field, grid_rows, strip) if several else (column_of(field, grid_rows, strip),)


MAIN_LEAD = ("区划代码", "单位名称", f"所属{LEVEL_LABELS[Level.COUNTY]}", f"所属{LEVEL_LABELS[Level.TOWNSHIP]}",
             "审核状态", "填报编号")
REPEAT_LEAD = ("填报编号", "区划代码", "单位名称", "行号")  # 填报编号/区划代码 link a row to its unit's row


@dataclass(frozen=True)
class Table:
    key: str | None  # None: the main table; otherwise the repeat's key (its data path)
    title: str
    columns: tuple[Column, ...]

    @property
    def headers(self) -> list[str]:
        lead = MAIN_LEAD if self.key is None else REPEAT_LEAD
        return [*lead, *(c.header for c in self.columns)]

    def rows(self, rec: Record, ctx: RowContext) -> Iterator[list[Any]]:
        if self.key is None:
            values = self._values(rec.data, ctx) if rec.data is not None else [None] * len(self.columns)
            yield [rec.org_code, rec.unit_name, ctx.county, ctx.township, ctx.status, rec.submission_id, *values]
            return
        items = walk_path(rec.data, self.key.split(".")) if rec.data is not None else None
        for index, item in enumerate(items if isinstance(items, list) else [], start=1):
            if isinstance(item, dict):
                yield [rec.submission_id, rec.org_code, rec.unit_name, index, *self._values(item, ctx)]

    def _values(self, source: dict[str, Any], ctx: RowContext) -> list[Any]:
        return [c.value(source, ctx.show_sensitive) for c in self.columns]

    def without_sensitive(self) -> Table:
        return Table(self.key, self.title, tuple(c for c in self.columns if not c.sensitive))


def sheet_title(title: str, taken: set[str]) -> str:
    base = title.translate(_SHEET_FORBIDDEN)[:SHEET_NAME_LIMIT] or "数据"
    name, n = base, 2
    while name in taken:
        suffix = f"({n})"
        name, n = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def tables_for(ind: IndicatorSet) -> tuple[Table, ...]:
    """The main table (every leaf outside repeats) and one table per repeat, in document order."""
    grid_rows = {row.key: row.title for f in ind.fields.values() if f.kind == "grid" for row in f.children}
    taken: set[str] = set()
    main = Table(None, sheet_title(ind.title, taken),
                 tuple(c for f in ind.leaves() if f.array_key is None for c in columns_of(f, grid_rows, 0)))
    repeats = [
        Table(a.key, sheet_title(a.title, taken),
              tuple(c for f in ind.leaves() if f.array_key == a.key for c in columns_of(f, grid_rows, len(a.path))))
        for a in ind.fields.values()
        if a.kind == "array" and a.array_key is None
    ]
    return (main, *repeats)
