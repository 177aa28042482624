"""The result table printed to the terminal and the ``--json`` document ({machine, scale, figures})."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.registry import Result


def significant(value: float | None, digits: int = 4) -> float | None:
    """``value`` rounded to ``digits`` significant digits (integers stay exact)."""
    if value is None or float(value).is_integer():
        return value
    return float(f"{value:.{digits}g}")


def with_ratios(results: list[Result]) -> list[Result]:
    """Fill each result's ratio = value / its baseline's value (when both were measured)."""
    by_name = {r.name: r for r in results}
    for r in results:
        base = by_name.get(r.baseline) if r.baseline else None
        if base is not None and r.value is not None and base.value:
            r.ratio = r.value / base.value
    return results


@dataclass
class Report:
    machine: dict[str, Any]
    scale: dict[str, Any]
    results: list[Result]

    @property
    def complete(self) -> bool:
        """Every figure has a value (a figure that failed or was unavailable has none)."""
        return all(r.value is not None for r in self.results)

    def as_json(self) -> dict[str, Any]:
        figures = []
        for r in self.results:
            row = r.as_json()
            row["value"], row["ratio"] = significant(r.value, 6), significant(r.ratio)
            figures.append(row)
        return {"machine": self.machine, "scale": self.scale, "figures": figures}

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    def table(self) -> str:
        by_name = {r.name: r for r in self.results}
        rows = [("figure", "value", "unit", "baseline", "ratio")]
        for r in self.results:
            base = by_name.get(r.baseline) if r.baseline else None
            baseline = f"{r.baseline} = {_fmt(base.value)}" if base is not None else (r.baseline or "")
            value = _fmt(r.value)
            rows.append((r.name, value, r.unit, baseline, f"{r.ratio:.2f}" if r.ratio is not None else ""))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = []
        for n, row in enumerate(rows):
            lines.append("  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]), row[2].ljust(widths[2]),
                                    row[3].ljust(widths[3]), row[4].rjust(5)]).rstrip())
            if n == 0:
                lines.append("-" * len(lines[0]))
        notes = [f"  {r.name}: {r.note}" for r in self.results if r.note]
        machine = ", ".join(f"{k}={v}" for k, v in self.machine.items())
        scale = ", ".join(f"{k}={v}" for k, v in self.scale.items())
        return "\n".join([f"machine: {machine}", f"scale: {scale}", "", *lines, *(["", "notes:", *notes] if notes else [])])


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
