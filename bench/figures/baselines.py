"""The three ceilings the engine is compared with, measured on the same documents in the same run.

- raw COPY of the reports into a bare JSONB table: the ingest ceiling;
- a minimal WSGI endpoint (compiled jsonschema validator + one INSERT) under the same gunicorn
  configuration as `grassroots serve`: the HTTP ceiling;
- a naive JSONB aggregation of every summed field grouped by township: what roll-up reads must beat.

The minimal endpoint's figures are registered in bench/figures/http_submit.py, right before the engine's
HTTP run they are compared with, and its load runs in two halves around that run (``MINIMAL_HALVES``):
this machine's speed drifts by up to 1.45x within minutes, and the HTTP ratio is the one closest to its
target.
"""

from __future__ import annotations

import json
import time

from psycopg import sql

from bench.context import Bench
from bench.load import LoadResult, Request, run_load
from bench.minimal_app import TABLE_DDL
from bench.registry import figure
from bench.servers import gunicorn_command
from bench.stats import percentile, time_runs
from engine.definitions import IndicatorSet

RAW_TABLE = "bench_raw"
MINIMAL_GROUP = "minimal_http"
# The ceiling at its own best, not at `grassroots serve`'s thread count: measured at 15,000 villages on
# 2 cores (docs/performance.md, round 9), 2 threads per worker 907–1,077 req/s, 4 threads 1,166–1,203,
# 8 threads 962–984 (it has nothing to batch, so more threads only contend for the interpreter lock).
MINIMAL_THREADS = 4


# --- raw COPY ------------------------------------------------------------------------------------


def copy_raw_documents(bench: Bench) -> float:
    """Rows per second of COPY (text format, JSON serialised on the fly) into bench_raw, commit included."""

    def run() -> float:
        docs = bench.village_docs  # generated before the clock starts
        with bench.connect() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
            conn.execute(f"CREATE TABLE {RAW_TABLE} (id bigserial, village text, doc jsonb)")
            conn.commit()
            bench.settle("copy")
            start = time.perf_counter()
            with conn.cursor() as cur, cur.copy(f"COPY {RAW_TABLE} (village, doc) FROM STDIN") as copy:
                for code, doc in docs:
                    copy.write_row((code, json.dumps(doc, ensure_ascii=False)))
            conn.commit()
            elapsed = time.perf_counter() - start
            conn.execute(f"ANALYZE {RAW_TABLE}")
            conn.commit()
        return len(docs) / elapsed

    return bench.once("raw_copy", run)


@figure("raw_copy_rows_per_s", unit="rows/s", higher_is_better=True)
def raw_copy_rows_per_s(bench: Bench) -> float:
    """Every village report COPY'd into a bare (id bigserial, village text, doc jsonb) table."""
    return copy_raw_documents(bench)


# --- naive aggregation -----------------------------------------------------------------------------


def summed_fields(ind: IndicatorSet) -> list[tuple[str, ...]]:
    """Data paths of the numeric fields a roll-up sums (aggregate "sum"), outside repeats."""
    return [f.path for f in ind.leaves() if f.kind in ("integer", "number") and f.aggregate == "sum" and not f.array_key]


def naive_rollup_query(ind: IndicatorSet) -> sql.Composed:
    sums = sql.SQL(", ").join(
        sql.SQL("sum((doc #>> {})::numeric)").format(sql.Literal("{" + ",".join(path) + "}"))
        for path in summed_fields(ind)
    )
    return sql.SQL("SELECT substr(village, 1, 9) AS township, {} FROM {} GROUP BY 1").format(
        sums, sql.Identifier(RAW_TABLE)
    )


@figure("naive_rollup_township_ms_p50", unit="ms")
def naive_rollup_ms_p50(bench: Bench) -> float:
    """sum((doc #>> path)::numeric) of every summed field, grouped by township, over the whole province."""
    copy_raw_documents(bench)
    query = naive_rollup_query(bench.village_report)
    with bench.connect() as conn:
        rows: list[int] = []
        samples = time_runs(lambda: rows.append(len(conn.execute(query).fetchall())), bench.samples.query_runs)
    if rows[-1] != bench.scale.townships:
        raise RuntimeError(f"naive roll-up returned {rows[-1]} townships, expected {bench.scale.townships}")
    return percentile(samples, 50) * 1000


# --- minimal HTTP endpoint ----------------------------------------------------------------------


def submit_requests(bench: Bench, docs: list[tuple[str, dict]]) -> list[Request]:
    headers = {"Content-Type": "application/json"}
    return [Request("POST", f"/submit/{code}", json.dumps(doc, ensure_ascii=False).encode(), headers) for code, doc in docs]


# The ceiling's load in two halves, one right before and one right after the engine's HTTP run
# (bench/figures/http_submit.py): this machine's speed drifts within minutes, and a drift during the pair
# then weighs on the ceiling as it does on the engine, instead of landing on one side of the ratio.
MINIMAL_HALVES = ("before", "after")


def minimal_endpoint_half(bench: Bench, half: str) -> LoadResult:
    """One half (``MINIMAL_HALVES``) of the minimal endpoint's load: start it, warm every worker, empty its
    table, settle the database, submit each of the half's village reports once under load, stop it."""
    if half not in MINIMAL_HALVES:
        raise ValueError(f"no half {half!r} of the minimal endpoint's load")

    def run() -> LoadResult:
        with bench.connect() as conn:
            conn.execute(TABLE_DDL)
            conn.commit()
        schema_file = bench.write_json("village_basic_v1.schema.json", bench.village_report.schema)
        server = bench.start_server(
            MINIMAL_GROUP,
            lambda port: gunicorn_command("bench.minimal_app:app", port=port, workers=bench.web_workers,
                                          threads=MINIMAL_THREADS),
            {"BENCH_DATABASE_URL": bench.conninfo, "BENCH_SCHEMA_FILE": str(schema_file)},
        )
        docs = bench.village_docs[: bench.samples.http_max_requests]
        middle = len(docs) // 2
        mine = docs[:middle] if half == "before" else docs[middle:]
        warmup = submit_requests(bench, mine[: 4 * bench.concurrency])
        run_load(server.port, warmup, concurrency=bench.concurrency, max_seconds=30)
        with bench.connect() as conn:
            conn.execute("TRUNCATE bench_minimal")
            conn.commit()
        # before: the bulk submit's writes; after: the engine's HTTP slice's (autovacuum would otherwise
        # run during this half and slow the ceiling down for the engine's work)
        bench.settle(MINIMAL_GROUP if half == "before" else f"{MINIMAL_GROUP}_after")
        result = run_load(server.port, submit_requests(bench, mine), concurrency=bench.concurrency,
                          max_seconds=bench.samples.http_max_seconds / 2)
        bench.memory.peak_kib(MINIMAL_GROUP)
        server.stop()  # the engine's measurements must not share the CPU with idle ceiling workers
        return result

    return bench.once(f"minimal_http_{half}", run)
