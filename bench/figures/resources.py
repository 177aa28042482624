"""Peak resident memory of each kind of process and what the data occupies on disk, after every other
figure has run (registered last)."""

from __future__ import annotations

from bench.context import POSTGRES_GROUP, Bench
from bench.figures.baselines import RAW_TABLE, copy_raw_documents
from bench.memory import own_peak_rss_kib
from bench.registry import FigureUnavailable, Measured, figure

BASELINE_TABLES = (RAW_TABLE, "bench_minimal")
MIB = 1024 * 1024


@figure("bench_process_peak_rss_mib", unit="MiB")
def bench_process_peak_rss(bench: Bench) -> float:
    """Peak RSS of the benchmark process itself (generation, service-layer calls, load generator)."""
    return own_peak_rss_kib() / 1024


@figure("postgres_process_peak_rss_mib", unit="MiB")
def postgres_process_peak_rss(bench: Bench) -> float:
    """Highest VmHWM of one PostgreSQL process (postmaster, backends, background workers) seen in the run."""
    if POSTGRES_GROUP not in bench.memory.groups():
        raise FigureUnavailable("the database server does not run on this machine")
    return bench.memory.peak_mib(POSTGRES_GROUP)


@figure("database_size_mib", unit="MiB", baseline="raw_table_size_mib")
def database_size(bench: Bench) -> Measured:
    """pg_database_size of the benchmark database without the baselines' own tables: the engine's data."""
    with bench.connect() as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        baselines = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
            " WHERE c.relname = ANY(%s) AND c.relkind = 'r'",
            (list(BASELINE_TABLES),),
        ).fetchone()[0]
        # The largest tables (indexes and TOAST included) say where the space goes.
        largest = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relname = ANY(%s)"
            " ORDER BY 2 DESC LIMIT 4",
            (list(BASELINE_TABLES),),
        ).fetchall()
    note = "largest: " + ", ".join(f"{name} {size / MIB:.1f}" for name, size in largest)
    return Measured((total - baselines) / MIB, note)


@figure("raw_table_size_mib", unit="MiB")
def raw_table_size(bench: Bench) -> float:
    """pg_total_relation_size of bench_raw: every village report as bare JSONB, no index."""
    copy_raw_documents(bench)
    with bench.connect() as conn:
        return conn.execute("SELECT pg_total_relation_size(%s::regclass)", (RAW_TABLE,)).fetchone()[0] / MIB
