"""Step 4: reading the figures once every report is final — engine.rollups.rollup_report for a unit of
each level with its default breakdown (a township: its villages' reports; above: the child units' stored
roll-ups), and engine.completeness.completeness (a unit and its children's status counts).

Each read is one session, as one request would be, over units spread evenly across the level (the
province is read repeatedly); the first read of each level is a warm-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from bench.context import Bench
from bench.figures.approval import county_approved
from bench.figures.collection import started_collection
from bench.registry import latency_figures
from engine.completeness import completeness
from engine.db.models import Collection
from engine.orgs import level_of
from engine.roles import Level
from engine.rollups import rollup_report

ROLLUP_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP)


def spread(codes: list[str], n: int) -> list[str]:
    """``n`` codes taken evenly across ``codes`` (repeating them when there are fewer)."""
    return [codes[i * len(codes) // n] for i in range(n)] if len(codes) >= n else [codes[i % len(codes)] for i in range(n)]


def codes_at(bench: Bench, level: Level) -> list[str]:
    return [u.code for u in bench.units if level_of(u.code) == level]


def timed_reads(bench: Bench, codes: list[str], read: Callable[[Session, Collection, str], object]) -> list[float]:
    """Milliseconds of ``read(session, collection, code)`` per code, each in its own session."""
    cid = started_collection(bench).collection_id
    samples = []
    for n, code in enumerate([codes[0], *codes]):
        start = time.perf_counter()
        with bench.sessionmaker() as s:
            read(s, s.get(Collection, cid), code)
        if n:  # the first is the warm-up
            samples.append((time.perf_counter() - start) * 1000)
    return samples


def all_final(bench: Bench) -> None:
    """Every report approved to the end, and the database settled after those writes (``Bench.settle``):
    reads right after the approvals otherwise share the machine with autovacuum and run on statistics
    from before them."""

    def run() -> None:
        county_approved(bench)
        bench.settle("reads")

    bench.once("all_final", run)


def rollup_reads(bench: Bench, level: Level) -> list[float]:
    def run() -> list[float]:
        all_final(bench)
        return timed_reads(bench, spread(codes_at(bench, level), bench.samples.reads),
                           lambda s, c, code: rollup_report(s, c, code))

    return bench.once(f"rollup_reads_{level.name.lower()}", run)


def completeness_reads(bench: Bench) -> list[float]:
    """The same number of reads at each level from the province down to the townships."""

    def run() -> list[float]:
        all_final(bench)
        per_level = max(1, bench.samples.reads // len(ROLLUP_LEVELS))
        codes = [code for lv in ROLLUP_LEVELS for code in spread(codes_at(bench, lv), per_level)]
        return timed_reads(bench, codes, lambda s, c, code: completeness(s, c, code))

    return bench.once("completeness_reads", run)


for _level in ROLLUP_LEVELS:
    latency_figures(f"rollup_{_level.name.lower()}_ms", lambda bench, lv=_level: rollup_reads(bench, lv),
                    f"rollup_report of a {_level.name.lower()} with its breakdown",
                    baseline="naive_rollup_township_ms_p50", target="≤ 50 ms")

latency_figures("completeness_ms", completeness_reads,
                "completeness() of a unit and its children (province, cities, counties, townships)")
