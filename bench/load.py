"""A bounded concurrent HTTP load generator for loopback servers: threads with keep-alive connections.

Every request is sent at most once; the run stops when the list is exhausted or ``max_seconds`` has
passed. Latency is client-observed (request written -> response body read).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.stats import percentile


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadResult:
    sent: int
    errors: int
    seconds: float
    latencies: list[float]  # seconds, successful requests only
    statuses: Counter[int]
    first_error: str | None

    @classmethod
    def joined(cls, *runs: LoadResult) -> LoadResult:
        """Several runs of one load as one: their requests over their summed time."""
        return cls(sum(r.sent for r in runs), sum(r.errors for r in runs), sum(r.seconds for r in runs),
                   [x for r in runs for x in r.latencies], sum((r.statuses for r in runs), Counter()),
                   next((r.first_error for r in runs if r.first_error), None))

    @property
    def throughput(self) -> float:
        return (self.sent - self.errors) / self.seconds if self.seconds else 0.0

    def latency_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


def run_load(
    port: int,
    requests: Sequence[Request],
    *,
    concurrency: int,
    max_seconds: float,
    ok_statuses: frozenset[int] = frozenset({200, 201, 204, 302, 303}),
) -> LoadResult:
    lock = threading.Lock()
    next_index = 0
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    first_error: str | None = None
    start = time.perf_counter()
    deadline = start + max_seconds

    def take() -> Request | None:
        nonlocal next_index
        with lock:
            if next_index >= len(requests) or time.perf_counter() > deadline:
                return None
            next_index += 1
            return requests[next_index - 1]

    def record(latency: float | None, status: int | None, problem: str | None) -> None:
        nonlocal errors, first_error
        with lock:
            if status is not None:
                statuses[status] += 1
            if problem is None and latency is not None:
                latencies.append(latency)
            else:
                errors += 1
                first_error = first_error or problem

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while (req := take()) is not None:
                began = time.perf_counter()
                try:
                    conn.request(req.method, req.path, body=req.body, headers=req.headers)
                    resp = conn.getresponse()
                    body = resp.read()
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()  # reconnects on the next request
                    record(None, None, f"{req.method} {req.path}: {exc!r}")
                    continue
                elapsed = time.perf_counter() - began
                problem = None if resp.status in ok_statuses else f"{req.method} {req.path}: {resp.status} {body[:300]!r}"
                record(elapsed, resp.status, problem)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, name=f"load-{i}", daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return LoadResult(next_index, errors, time.perf_counter() - start, latencies, statuses, first_error)
