"""Bulk submission in several processes, as an import job would run it on a machine with several cores.

``submit_many`` keeps one process's core busy with validation and ORM work while PostgreSQL waits, and
waits while PostgreSQL writes: two processes on 2 cores submit nearly twice as much. Batches belong to
different villages, so they never wait on each other's rows (only on a workflow state both insert
first, for a moment).

Each worker is a fresh (spawned) interpreter with its own engine: it receives its batches, loads its
clerks, reports ready, and starts when told to, so the clock covers submitting only. The hand-written
floor (bench/hand_bulk.py) runs in the same harness, so the two are measured alike.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any


@dataclass(frozen=True)
class ClerkBatch:
    clerk: str  # username holding village_clerk at every village of the batch
    items: list[tuple[int, int, dict[str, Any]]]  # (submission id, revision, report)


def _worker(url: str, conn: Connection) -> None:
    """The engine's bulk submit: ``submit_many`` per batch, one transaction each."""
    from sqlalchemy import select

    from engine.auth import principal_for
    from engine.db.models import User
    from engine.db.session import make_engine, make_sessionmaker
    from engine.submissions import SubmitItem, submit_many

    batches: list[ClerkBatch] = conn.recv()
    engine = make_engine(url, pool_size=1)
    factory = make_sessionmaker(engine)
    try:
        with factory() as s:
            users = s.scalars(select(User).where(User.username.in_({b.clerk for b in batches})))
            clerks = {u.username: principal_for(u) for u in users}

        def submit(batch: ClerkBatch) -> list[str]:
            items = [SubmitItem(sid, doc, revision=rev) for sid, rev, doc in batch.items]
            with factory() as s, s.begin():
                results = submit_many(s, clerks[batch.clerk], items)
            return [f"{r.submission_id}: {r.message} {r.problems or ''}" for r in results if not r.submitted]

        _run(conn, batches, submit)
    finally:
        engine.dispose()


def _floor_worker(url: str, conn: Connection) -> None:
    """The hand-written floor (bench/hand_bulk.py): the same batches, without the engine's layers."""
    import psycopg

    from bench.database import libpq_url
    from bench.documents import load_village_report
    from bench.hand_bulk import FloorBatch, entry_step, submit_floor_batch

    batches: list[FloorBatch] = conn.recv()
    ind = load_village_report()
    with psycopg.connect(libpq_url(url)) as db:
        step = entry_step(db)
        db.commit()
        _run(conn, batches, lambda batch: submit_floor_batch(db, ind, step, batch))


def _run(conn: Connection, batches: list[Any], submit: Callable[[Any], list[str]]) -> None:
    """Report ready, wait for the start signal, submit every batch, report the refusals."""
    try:
        # The batches are input that lives for the whole run (~1.5 million objects at province scale);
        # frozen like what `grassroots serve` loads at start, so the cyclic collector's full collections
        # do not scan it again and again (an import job streaming its file would not hold it at all).
        gc.collect()
        gc.freeze()
        conn.send("ready")
        conn.recv()  # go
        refused: list[str] = []
        for batch in batches:
            refused += submit(batch)
        conn.send(("done", refused))
    except Exception as exc:  # reported to the parent, which raises it
        conn.send(("failed", [repr(exc)]))


def submit_in_processes(url: str, batches: list[Any], jobs: int, *, floor: bool = False) -> float:
    """Submit ``batches`` in ``jobs`` processes (batches dealt round-robin); returns the seconds from the
    start signal until every process has finished. Raises if any report was refused.

    ``ClerkBatch``es go through the engine; with ``floor``, ``FloorBatch``es through the hand-written
    floor (bench/hand_bulk.py)."""
    context = multiprocessing.get_context("spawn")  # never fork a process holding database connections
    shares = [batches[i::jobs] for i in range(jobs)]
    workers = []
    for share in shares:
        if not share:
            continue
        parent, child = context.Pipe()
        process = context.Process(target=_floor_worker if floor else _worker, args=(url, child), daemon=True)
        process.start()
        child.close()  # the child's end lives in the child only: if it dies, sends and receives fail, not hang
        parent.send(share)
        workers.append((process, parent))
    try:
        for _, conn in workers:
            conn.recv()  # ready
        start = time.perf_counter()
        for _, conn in workers:
            conn.send("go")
        outcomes = [conn.recv() for _, conn in workers]
        seconds = time.perf_counter() - start
    finally:
        for process, conn in workers:
            conn.close()
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    problems = [p for _, found in outcomes for p in found]
    if any(status != "done" for status, _ in outcomes) or problems:
        raise RuntimeError(f"{len(problems)} bulk submits refused or failed, e.g. {problems[:3]}")
    return seconds
