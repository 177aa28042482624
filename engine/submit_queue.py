"""Group commit for submits: the submits that arrive together in one process are written together.

Most of a single submit's cost is per statement and per transaction, not per report: the locked read,
the write of report, revision, step, tasks and audit row, the commit (measured at 3,000 villages: a
batch of 3 costs half the CPU per report of a batch of 1, Python and PostgreSQL alike; see
docs/performance.md, round 9). So a request does not write its own report. It joins the queue; the
first request to find the writer free becomes the leader, takes every submit waiting (its own among
them), judges and writes them in one transaction (``engine.submissions.submit_together``), hands each
waiting request its own outcome, and lets the next leader in. With one request at a time this is a
batch of one, the same work as before; under load, the requests that arrived while a batch was being
written form the next one. No thread of its own (nothing to start after a fork, nothing to stop) and
no timer: a request never waits for company, only for the batch in front of it.

Each request still gets the answer it would get alone: the outcome after its batch committed, or the
error its submit alone would raise. A batch that fails as a whole (a database error) is written again
one submit at a time, so one report's failure is never another's; a leader stopped in the middle of a
batch (a worker shutting down) leaves no request waiting: each is answered with an error instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from engine.auth import Principal
from engine.submissions import SubmitItem, SubmitOutcome, submit_together

log = logging.getLogger(__name__)

MAX_BATCH = 64  # one statement's worth; more than a process's threads ever hold


@dataclass(eq=False)
class _Waiting:
    principal: Principal
    item: SubmitItem
    outcome: SubmitOutcome | BaseException | None = None


class SubmitQueue:
    """One per process (per Flask app): ``submit`` is called from the request threads."""

    def __init__(self, sessions: sessionmaker[Session], *, max_batch: int = MAX_BATCH,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._sessions = sessions
        self._max_batch = max_batch
        self._on_batch = on_batch  # told each batch's size (tests, measurements)
        self._writer = threading.Lock()  # held by the leader while it writes a batch
        self._guard = threading.Lock()  # guards _waiting
        self._waiting: list[_Waiting] = []

    @property
    def waiting(self) -> int:
        """Submits waiting for a leader to take them (not those in the batch being written)."""
        with self._guard:
            return len(self._waiting)

    def submit(self, principal: Principal, item: SubmitItem) -> SubmitOutcome:
        """``engine.submissions.submit``, committed: the outcome (an invalid report was stored as a
        draft), or the refusal raised."""
        mine = _Waiting(principal, item)
        with self._guard:
            self._waiting.append(mine)
        while mine.outcome is None:
            with self._writer:
                if mine.outcome is not None:  # a leader wrote it while this waited for the writer
                    break
                batch = self._take()
                if not batch:  # taken by a leader that was stopped (a BaseException) before answering it
                    mine.outcome = RuntimeError("submit batch interrupted")
                    break
                self._write(batch)
        if isinstance(mine.outcome, BaseException):
            raise mine.outcome
        return mine.outcome

    def _take(self) -> list[_Waiting]:
        """The waiting submits in arrival order, one per submission (a second submit of the same report,
        from another tab, waits for the next batch and then finds the first one's outcome)."""
        taken: list[_Waiting] = []
        left: list[_Waiting] = []
        ids: set[int] = set()
        with self._guard:
            for waiting in self._waiting:
                if len(taken) < self._max_batch and waiting.item.submission_id not in ids:
                    taken.append(waiting)
                    ids.add(waiting.item.submission_id)
                else:
                    left.append(waiting)
            self._waiting = left
        return taken

    def _write(self, batch: list[_Waiting]) -> None:
        try:
            if self._on_batch is not None:
                self._on_batch(len(batch))
            with self._sessions() as session, session.begin():
                outcomes = submit_together(session, [(w.principal, w.item) for w in batch])
            for waiting, outcome in zip(batch, outcomes, strict=True):
                waiting.outcome = outcome
        except Exception as err:
            if len(batch) == 1:
                batch[0].outcome = err  # raised in its own request, as a submit's own error would be
                return
            log.warning("a batch of %d submits failed (%s); writing them one at a time", len(batch), err)
            for waiting in batch:  # one at a time: one report's failure is not the others'
                self._write([waiting])
