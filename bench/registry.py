"""The figure registry: name -> measuring function, unit, baseline name.

A figure is one function ``(bench) -> float`` registered with ``@figure``. Figures run in registration
order; work shared by several figures (one HTTP load run yields throughput, p50, p99 and errors) goes
through ``bench.once(key, fn)`` so it runs once however many figures read it, and ``--only`` can pick
any single figure. A figure that names a ``baseline`` is printed with ``value / baseline value``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.context import Bench



@dataclass(frozen=True)
class Measured:
    """A value with a remark for the report (e.g. the first error of a load run)."""

    value: float
    note: str | None = None


Measure = Callable[["Bench"], "float | Measured"]


@dataclass(frozen=True)
class FigureSpec:
    name: str
    unit: str
    measure: Measure
    baseline: str | None
    description: str
    higher_is_better: bool


class FigureUnavailable(Exception):  # noqa: N818 (a state to report, not a failure)
    """This machine cannot provide the figure (e.g. the database server is not on this host)."""


REGISTRY: dict[str, FigureSpec] = {}


def figure(
    name: str, *, unit: str, baseline: str | None = None, higher_is_better: bool = False
) -> Callable[[Measure], Measure]:
    def register(fn: Measure) -> Measure:
        if name in REGISTRY:
            raise ValueError(f"figure {name} registered twice")
        doc = (fn.__doc__ or "").strip().splitlines()
        REGISTRY[name] = FigureSpec(name, unit, fn, baseline, doc[0] if doc else "", higher_is_better)
        return fn

    return register


def latency_figures(name: str, timings: Callable[[Any], list[float]], what: str, *,
                    baseline: str | None = None, target: str = "") -> None:
    """Register ``{name}_p50`` and ``{name}_p99`` (ms): two percentiles of the same timed samples."""
    from bench.stats import percentile

    def p50(bench: Any) -> float:
        return percentile(timings(bench), 50)

    def p99(bench: Any) -> float:
        return percentile(timings(bench), 99)

    p50.__doc__ = f"Median {what}" + (f" (target {target})." if target else ".")
    p99.__doc__ = f"99th-percentile {what}."
    figure(f"{name}_p50", unit="ms", baseline=baseline)(p50)
    figure(f"{name}_p99", unit="ms")(p99)


def selected(patterns: Iterable[str] = ()) -> list[FigureSpec]:
    """Registered figures in order; with patterns (names or globs), those matching any of them."""
    wanted = list(patterns)
    specs = list(REGISTRY.values())
    if not wanted:
        return specs
    chosen = [s for s in specs if any(fnmatch.fnmatchcase(s.name, p) for p in wanted)]
    if not chosen:
        raise KeyError(f"no figure matches {', '.join(wanted)}; known: {', '.join(REGISTRY)}")
    return chosen


@dataclass
class Result:
    name: str
    value: float | None
    unit: str
    baseline: str | None
    ratio: float | None
    seconds: float  # wall time spent measuring (shared work is charged to the first figure needing it)
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "ratio": self.ratio,
        }
