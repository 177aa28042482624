"""Row and column totals of grids, computed on the server exactly as forms.js computes them live."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.validation.paths import get_in


@dataclass(frozen=True)
class GridTotals:
    rows: dict[str, int | float] = field(default_factory=dict)  # row name -> sum of its cells
    columns: dict[str, int | float] = field(default_factory=dict)  # column name -> sum down the rows
    total: int | float = 0


def _number(value: Any) -> Decimal:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return Decimal(str(value)) if ok else Decimal(0)


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def grid_totals(grid: Any, data: dict[str, Any] | None) -> GridTotals:
    """Totals of ``grid`` (a FieldSpec of kind grid) over ``data``; blank and non-numeric cells count 0."""
    values = get_in(data or {}, grid.key.split(".")) or {}
    columns = [c.name for c in grid.children[0].children] if grid.children else []
    rows = {r.name: sum((_number(get_in(values, [r.name, c])) for c in columns), Decimal(0)) for r in grid.children}
    cols = {c: sum((_number(get_in(values, [r.name, c])) for r in grid.children), Decimal(0)) for c in columns}
    return GridTotals(
        rows={k: _plain(v) for k, v in rows.items()},
        columns={k: _plain(v) for k, v in cols.items()},
        total=_plain(sum(rows.values(), Decimal(0))),
    )


def grid_options(grid: Any) -> dict[str, bool]:
    """{"row_total": bool, "column_total": bool} from the grid's x-grid."""
    declared = grid.schema.get("x-grid") or {}
    return {"row_total": bool(declared.get("row_total")), "column_total": bool(declared.get("column_total"))}
