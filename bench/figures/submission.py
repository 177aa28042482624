"""Step 2a of the cycle: every village's report submitted through the service layer in bulk
(engine.submissions.submit_many: scope, entry task, validation, rules, storage and the workflow step),
500 reports per transaction, each batch by a clerk holding village_clerk at its 500 villages, in one
process per core (bench/parallel.py), as an import job would run.

Every fifth village is kept for the HTTP figures (bench/figures/http_submit.py), so the two paths
submit distinct reports; the bulk path takes the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from bench.accounts import Account, create_accounts
from bench.context import Bench
from bench.figures.collection import started_collection
from bench.parallel import ClerkBatch, submit_in_processes
from bench.registry import figure
from engine.submissions import EDITABLE

BATCH = 500
HTTP_EVERY = 5  # every fifth village submits over HTTP: spread over the province like real clerks


@dataclass(frozen=True)
class VillageSplit:
    bulk: list[str]
    http: list[str]


@dataclass(frozen=True)
class BulkRun:
    reports: int
    seconds: float


def village_split(bench: Bench) -> VillageSplit:
    """The HTTP slice (every fifth village, at most the HTTP request budget) and the bulk rest."""

    def run() -> VillageSplit:
        codes = [v.code for v in bench.villages]
        http = [c for i, c in enumerate(codes) if i % HTTP_EVERY == HTTP_EVERY - 1][: bench.samples.http_max_requests]
        taken = set(http)
        return VillageSplit([c for c in codes if c not in taken], http)

    return bench.once("village_split", run)


def editable_submissions(bench: Bench, codes: list[str]) -> dict[str, tuple[int, int]]:
    """org code -> (submission id, revision) of the collection's reports of ``codes`` not yet handed on."""
    cid = started_collection(bench).collection_id
    with bench.session() as s:
        rows = s.execute(
            text("SELECT org_code, id, revision FROM submissions"
                 " WHERE collection_id = :cid AND org_code = ANY(:codes) AND status = ANY(:editable)"),
            {"cid": cid, "codes": codes, "editable": sorted(EDITABLE)},
        ).tuples()
        return {code: (sid, rev) for code, sid, rev in rows}


def submit_in_bulk(bench: Bench, codes: list[str], account_prefix: str) -> BulkRun:
    """submit_many over ``codes`` in batches of BATCH, one transaction and one clerk per batch, in
    ``bench.bulk_jobs`` processes (bench/parallel.py); the clerks' accounts are created and the
    processes started before the clock starts."""
    pending = editable_submissions(bench, codes)
    todo = [c for c in codes if c in pending]
    chunks = [todo[i:i + BATCH] for i in range(0, len(todo), BATCH)]
    names = [f"{account_prefix}{n:05d}" for n in range(len(chunks))]
    with bench.session() as s:
        create_accounts(s, [Account(name, tuple(("village_clerk", c) for c in chunk))
                            for name, chunk in zip(names, chunks, strict=True)])
    docs = dict(bench.village_docs)
    batches = [ClerkBatch(name, [(pending[c][0], pending[c][1], docs[c]) for c in chunk])
               for name, chunk in zip(names, chunks, strict=True)]
    seconds = submit_in_processes(bench.url, batches, bench.bulk_jobs) if batches else 0.0
    return BulkRun(len(todo), seconds)


def bulk_submitted(bench: Bench) -> BulkRun:
    def run() -> BulkRun:
        started_collection(bench)
        bench.settle("bulk")
        return submit_in_bulk(bench, village_split(bench).bulk, "bench_bulk_clerk_")

    return bench.once("bulk_submitted", run)


@figure("service_submit_docs_per_s", unit="docs/s", baseline="raw_copy_rows_per_s", higher_is_better=True)
def service_submit_docs_per_s(bench: Bench) -> float:
    """submit_many (validation, rules, storage, workflow step), 500 reports per transaction, in as many
    processes as the machine has cores (`--bulk-jobs`)."""
    run = bulk_submitted(bench)
    return run.reports / run.seconds
