"""Step 2a of the cycle: every village's report submitted through the service layer in bulk
(engine.submissions.submit_many: scope, entry task, validation, rules, storage and the workflow step),
500 reports per transaction, each batch by a clerk holding village_clerk at its 500 villages, in one
process per core (bench/parallel.py), as an import job would run.

Every fifth village is kept for the HTTP figures (bench/figures/http_submit.py), so the two paths
submit distinct reports; the bulk path takes the rest.

Right before it, the hand-written floor (bench/hand_bulk.py) submits the same batches, in as many
processes, into a copy of the database taken after the start: what keeping the engine's guarantees costs
without the engine's layers, measured a minute from the engine's own run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.accounts import Account, create_accounts
from bench.context import Bench
from bench.database import clone_database, drop_bench_database, libpq_url, settle_database
from bench.figures.collection import started_collection
from bench.hand_bulk import FloorBatch
from bench.parallel import ClerkBatch, submit_in_processes
from bench.registry import figure
from engine.auth import principal_for
from engine.db.models import User
from engine.db.session import make_engine, make_sessionmaker
from engine.submissions import EDITABLE, SubmitItem, submit_many

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


def chunked(codes: list[str]) -> list[list[str]]:
    """``codes`` in batches of BATCH."""
    return [codes[i:i + BATCH] for i in range(0, len(codes), BATCH)]


def batch_clerks(prefix: str, chunks: list[list[str]]) -> list[Account]:
    """One clerk per batch, holding village_clerk at exactly its villages."""
    return [Account(f"{prefix}{n:05d}", tuple(("village_clerk", c) for c in chunk)) for n, chunk in enumerate(chunks)]


def submit_in_bulk(bench: Bench, codes: list[str], account_prefix: str) -> BulkRun:
    """submit_many over ``codes`` in batches of BATCH, one transaction and one clerk per batch, in
    ``bench.bulk_jobs`` processes (bench/parallel.py); the clerks' accounts are created and the
    processes started before the clock starts."""
    pending = editable_submissions(bench, codes)
    todo = [c for c in codes if c in pending]
    chunks = chunked(todo)
    clerks = batch_clerks(account_prefix, chunks)
    with bench.session() as s:
        create_accounts(s, clerks)
    docs = dict(bench.village_docs)
    batches = [ClerkBatch(clerk.username, [(pending[c][0], pending[c][1], docs[c]) for c in chunk])
               for clerk, chunk in zip(clerks, chunks, strict=True)]
    seconds = submit_in_processes(bench.url, batches, bench.bulk_jobs) if batches else 0.0
    return BulkRun(len(todo), seconds)


def floor_submitted(bench: Bench) -> BulkRun:
    """The hand-written floor over the bulk slice, in a copy of the started database (dropped after).

    Its first report goes through the engine (not timed): the entry step the floor applies to the rest
    is the one the engine made."""

    def run() -> BulkRun:
        started_collection(bench)
        codes = village_split(bench).bulk
        pending = editable_submissions(bench, codes)  # the copy has the same rows
        todo = [c for c in codes if c in pending]
        if len(todo) < 2:  # one report for the engine's step, the rest for the floor
            raise RuntimeError("the bulk floor runs before the engine's bulk submit, on at least two villages")
        docs = dict(bench.village_docs)
        first, rest = todo[0], todo[1:]
        chunks = chunked(rest)
        bench.engine.dispose()  # nobody may be connected to a database being copied
        url = clone_database(bench.url, f"{make_url(bench.url).database}_floor")
        try:
            clerks = _engine_step(url, (first, *pending[first], docs[first]), chunks)
            settle_database(libpq_url(url))  # as the engine's database is before its run
            batches = [FloorBatch(clerk, "village_clerk", frozenset(chunk),
                                  [(pending[c][0], pending[c][1], docs[c]) for c in chunk])
                       for clerk, chunk in zip(clerks, chunks, strict=True)]
            return BulkRun(len(rest), submit_in_processes(url, batches, bench.bulk_jobs, floor=True))
        finally:
            drop_bench_database(url)

    return bench.once("floor_submitted", run)


def _engine_step(url: str, first: tuple[str, int, int, dict], chunks: list[list[str]]) -> list[int]:
    """``first`` (village, submission id, revision, report) submitted through the engine, by a clerk of
    its own; returns the user ids of the clerks created for ``chunks``, one each."""
    village, sid, revision, doc = first
    engine = make_engine(url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as s, s.begin():
            own, clerks = Account("bench_floor_first_clerk", (("village_clerk", village),)), batch_clerks(
                "bench_floor_clerk_", chunks)
            ids = create_accounts(s, [own, *clerks])
            [result] = submit_many(s, principal_for(s.get_one(User, ids[own.username])),
                                   [SubmitItem(sid, doc, revision)])
        if not result.submitted:
            raise RuntimeError(f"the floor's first report was refused: {result.message}")
        return [ids[clerk.username] for clerk in clerks]
    finally:
        engine.dispose()


@figure("bulk_floor_docs_per_s", unit="docs/s", baseline="raw_copy_rows_per_s", higher_is_better=True)
def bulk_floor_docs_per_s(bench: Bench) -> float:
    """The hand-written floor (bench/hand_bulk.py): the engine's checks and rows without its layers."""
    run = floor_submitted(bench)
    return run.reports / run.seconds


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
