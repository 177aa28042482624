"""Step 2b of the cycle: the HTTP slice of villages submitted through `grassroots serve` under concurrent
load — ``POST /api/v1/submissions/<id>/submit`` with each village clerk's own bearer token, body
``{data, revision}`` — with the same worker count, threads and load as the minimal endpoint.

Reports the load run cut off (the time bound) are submitted in bulk afterwards, so the approvals that
follow see every village; that time is part of the cycle, not of the HTTP figures.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.accounts import Account, create_accounts, issue_tokens
from bench.context import Bench
from bench.figures.baselines import MINIMAL_GROUP, MINIMAL_HALVES, minimal_endpoint_half
from bench.figures.collection import started_collection
from bench.figures.submission import BulkRun, editable_submissions, submit_in_bulk, village_split
from bench.load import LoadResult, Request, run_load
from bench.registry import Measured, figure

SERVE_GROUP = "serve"
SUBMIT_PATH = "/api/v1/submissions/{}/submit"


@dataclass(frozen=True)
class HttpRun:
    load: LoadResult  # the measured run (after the warm-up)
    warmup: LoadResult
    seconds: float  # wall time of warm-up + measured run
    rest: BulkRun  # reports the time bound left over, submitted in bulk


def serve_command(bench: Bench, port: int) -> list[str]:
    script = Path(sys.executable).with_name("grassroots")  # the installed console script, as deployed
    return [str(script), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(bench.web_workers)]


def serve_env(bench: Bench) -> dict[str, str]:
    instance = bench.workdir / "serve-instance"
    instance.mkdir(exist_ok=True)
    return {"DATABASE_URL": bench.url, "GRASSROOTS_INSTANCE": str(instance), "SECRET_KEY": secrets.token_hex(16),
            "GRASSROOTS_LOG_LEVEL": "warning"}


def clerk_requests(bench: Bench, codes: list[str]) -> list[Request]:
    """One submit per village, authenticated as that village's clerk (accounts and tokens: setup)."""
    pending = editable_submissions(bench, codes)
    codes = [c for c in codes if c in pending]
    with bench.session() as s:
        ids = create_accounts(s, [Account(f"bench_clerk_{c}", (("village_clerk", c),)) for c in codes])
        tokens = issue_tokens(s, ids.values())
    docs = dict(bench.village_docs)
    requests = []
    for code in codes:
        sub_id, revision = pending[code]
        body = json.dumps({"data": docs[code], "revision": revision}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[ids[f'bench_clerk_{code}']]}"}
        requests.append(Request("POST", SUBMIT_PATH.format(sub_id), body, headers))
    return requests


def http_submitted(bench: Bench) -> HttpRun:
    def run() -> HttpRun:
        started_collection(bench)
        codes = village_split(bench).http
        requests = clerk_requests(bench, codes)
        bench.settle("http")
        server = bench.start_server(SERVE_GROUP, lambda port: serve_command(bench, port), serve_env(bench))
        start = time.perf_counter()
        # Warm-up: every worker compiles its validator and opens its pool before the measured run.
        warm = min(4 * bench.concurrency, len(requests) // 4)
        warmup = run_load(server.port, requests[:warm], concurrency=bench.concurrency, max_seconds=30)
        load = run_load(server.port, requests[warm:], concurrency=bench.concurrency,
                        max_seconds=bench.samples.http_max_seconds)
        seconds = time.perf_counter() - start
        bench.memory.peak_kib(SERVE_GROUP)
        server.stop()  # the figures after this must not share the CPU with idle workers
        return HttpRun(load, warmup, seconds, submit_in_bulk(bench, codes, "bench_rest_clerk_"))

    return bench.once("http_submitted", run)


@dataclass(frozen=True)
class Ceiling:
    """The minimal endpoint's load in its two halves, run around the engine's HTTP run."""

    before: LoadResult
    after: LoadResult

    @property
    def load(self) -> LoadResult:
        return LoadResult.joined(self.before, self.after)


def http_ceiling(bench: Bench) -> Ceiling:
    """The HTTP ceiling, half measured right before the engine's HTTP run and half right after it
    (bench/figures/baselines.py): the engine's run is made here when the ceiling is asked for first."""

    def run() -> Ceiling:
        if bench.done("http_submitted"):
            raise RuntimeError("the HTTP ceiling is measured around the engine's HTTP run, which has already run")
        before = minimal_endpoint_half(bench, "before")
        http_submitted(bench)
        return Ceiling(before, minimal_endpoint_half(bench, "after"))

    return bench.once("http_ceiling", run)


# The HTTP ceiling, registered right before the engine's run it is compared with, which it runs between
# its two halves: the progress line shows both loads' time here, the engine's figures 0 s.
@figure("minimal_http_submit_per_s", unit="req/s", higher_is_better=True)
def minimal_http_submit_per_s(bench: Bench) -> Measured:
    """Successful POSTs per second to the minimal endpoint (gunicorn gthread, serve's worker count,
    MINIMAL_THREADS threads), its load in two halves right before and right after the engine's HTTP run."""
    ceiling = http_ceiling(bench)
    rates = ", ".join(f"{half} {getattr(ceiling, half).throughput:.1f}" for half in MINIMAL_HALVES)
    return Measured(ceiling.load.throughput, f"halves around the engine's HTTP run: {rates} req/s")


@figure("minimal_http_submit_p50_ms", unit="ms")
def minimal_http_submit_p50_ms(bench: Bench) -> float:
    """Client-observed median latency of a minimal-endpoint submit under the same load."""
    return http_ceiling(bench).load.latency_ms(50)


@figure("minimal_http_submit_p99_ms", unit="ms")
def minimal_http_submit_p99_ms(bench: Bench) -> float:
    """Client-observed 99th-percentile latency of a minimal-endpoint submit."""
    return http_ceiling(bench).load.latency_ms(99)


@figure("minimal_http_submit_errors", unit="count")
def minimal_http_submit_errors(bench: Bench) -> Measured:
    """Failed requests of the minimal-endpoint run (must be 0: every document is valid)."""
    result = http_ceiling(bench).load
    return Measured(result.errors, result.first_error)


@figure("minimal_http_worker_peak_rss_mib", unit="MiB")
def minimal_http_worker_peak_rss(bench: Bench) -> float:
    """Highest VmHWM of one process of the minimal endpoint's gunicorn (master or worker)."""
    http_ceiling(bench)
    return bench.memory.peak_mib(MINIMAL_GROUP)


@figure("http_submit_per_s", unit="req/s", baseline="minimal_http_submit_per_s", higher_is_better=True)
def http_submit_per_s(bench: Bench) -> float:
    """Successful submits per second through `grassroots serve` (API, bearer tokens, 16 connections)."""
    return http_submitted(bench).load.throughput


@figure("http_submit_p50_ms", unit="ms", baseline="minimal_http_submit_p50_ms")
def http_submit_p50_ms(bench: Bench) -> float:
    """Client-observed median latency of an API submit under that load."""
    return http_submitted(bench).load.latency_ms(50)


@figure("http_submit_p99_ms", unit="ms", baseline="minimal_http_submit_p99_ms")
def http_submit_p99_ms(bench: Bench) -> float:
    """Client-observed 99th-percentile latency of an API submit (target < 250 ms)."""
    return http_submitted(bench).load.latency_ms(99)


@figure("http_submit_errors", unit="count")
def http_submit_errors(bench: Bench) -> Measured:
    """Failed API submits, warm-up included (must be 0: every report is valid and submitted once)."""
    run = http_submitted(bench)
    sent = run.load.sent + run.warmup.sent
    note = f"{sent} sent over HTTP, {run.rest.reports} left over by the time bound (submitted in bulk)"
    return Measured(run.load.errors + run.warmup.errors, run.load.first_error or run.warmup.first_error or note)


@figure("serve_worker_peak_rss_mib", unit="MiB", baseline="minimal_http_worker_peak_rss_mib")
def serve_worker_peak_rss(bench: Bench) -> float:
    """Highest VmHWM of one process of `grassroots serve` (master or worker) over the HTTP run."""
    http_submitted(bench)
    return bench.memory.peak_mib(SERVE_GROUP)
