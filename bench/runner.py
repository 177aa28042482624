"""Running the selected figures against a fresh benchmark database and collecting the report."""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bench.figures  # noqa: F401  (registers every figure)
from bench.context import Bench, Samples
from bench.database import DEFAULT_BENCH_DB, drop_bench_database, fresh_bench_database
from bench.machine import describe_machine
from bench.registry import FigureSpec, FigureUnavailable, Measured, Result, selected
from bench.report import Report, with_ratios
from bench.scale import DEFAULT_VILLAGES, Scale
from cli.serve import default_workers

DEFAULT_CONCURRENCY = 16


@dataclass(frozen=True)
class BenchOptions:
    villages: int = DEFAULT_VILLAGES
    quick: bool = False
    only: tuple[str, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY
    database_name: str = DEFAULT_BENCH_DB
    keep_database: bool = False
    bulk_jobs: int = field(default_factory=lambda: os.cpu_count() or 1)  # one bulk-submit process per core
    workdir: Path | None = None  # server logs and schema files; a temporary folder when None


def run_bench(
    server_url: str,
    options: BenchOptions,
    *,
    database_mode: str,
    progress: Callable[[str], None] = lambda _line: None,
) -> Report:
    """Create the benchmark database on ``server_url``'s server, run the figures, drop it (unless kept)."""
    specs = _with_baselines(selected(options.only))
    scale = Scale.for_villages(options.villages)
    progress(f"benchmark database {options.database_name} ({database_mode}) …")
    url = fresh_bench_database(server_url, options.database_name)
    with tempfile.TemporaryDirectory(prefix="grassroots-bench-") as tmp:
        workdir = options.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        bench = Bench(url=url, scale=scale, samples=Samples.for_run(scale, quick=options.quick), workdir=workdir,
                      concurrency=options.concurrency, web_workers=default_workers(), bulk_jobs=options.bulk_jobs)
        try:
            machine = describe_machine(bench.conninfo, database_mode=database_mode, web_workers=bench.web_workers)
            results = [_measure(spec, bench, progress) for spec in specs]
        finally:
            bench.close()
            if not options.keep_database:
                drop_bench_database(url)
    scale_json = {**scale.as_dict(), "quick": options.quick, "concurrency": options.concurrency,
                  "bulk_jobs": options.bulk_jobs, "samples": bench.samples.__dict__}
    return Report(machine, scale_json, with_ratios(results))


def _with_baselines(specs: list[FigureSpec]) -> list[FigureSpec]:
    """The chosen figures plus the baselines they are compared with, in registration order."""
    from bench.registry import REGISTRY

    names = {s.name for s in specs} | {s.baseline for s in specs if s.baseline}
    return [s for s in REGISTRY.values() if s.name in names]


def _measure(spec: FigureSpec, bench: Bench, progress: Callable[[str], None]) -> Result:
    progress(f"▸ {spec.name} …")
    start = time.perf_counter()
    note = None
    try:
        measured = spec.measure(bench)
        value, note = (measured.value, measured.note) if isinstance(measured, Measured) else (measured, None)
        value = float(value)
    except FigureUnavailable as exc:
        value, note = None, f"unavailable: {exc}"
    except Exception as exc:  # one broken figure must not cost the rest of a long run
        value, note = None, f"failed: {exc!r}"
        progress(traceback.format_exc())
    elapsed = time.perf_counter() - start
    shown = f"{value:.6g} {spec.unit}" if value is not None else note
    progress(f"  {spec.name} = {shown}  ({elapsed:.1f} s)")
    return Result(spec.name, value, spec.unit, spec.baseline, None, elapsed, note)
