"""``Bench``: what every figure function receives — the benchmark database, the generated province and
documents, the sample sizes, started servers and the memory watch. Expensive shared work goes through
``once`` so a figure can be run alone (``--only``) or after others without doing anything twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import psycopg

from bench.database import libpq_url, settle_database
from bench.documents import load_village_report, village_reports
from bench.memory import MemoryWatch, is_local_pid, parent_pid
from bench.scale import Scale
from bench.servers import Server, free_port, start_server
from bench.synthetic import load_synthetic, synthetic_documents
from engine.db.session import DatabaseAccess
from engine.definitions import IndicatorSet
from engine.orgs import UnitRow, generate_province, level_of
from engine.roles import Level

T = TypeVar("T")
POSTGRES_GROUP = "postgres"


@dataclass(frozen=True)
class Samples:
    """How much of each measurement to do; ``--quick`` shrinks them for the smoke test."""

    validation_docs: int
    http_max_requests: int
    http_max_seconds: float
    query_runs: int
    reads: int  # timed requests per read figure (roll-ups per level, completeness, form page)
    review_townships: int | None  # townships whose reports are approved (None: all)

    @classmethod
    def for_run(cls, scale: Scale, *, quick: bool) -> Samples:
        if quick:
            return cls(validation_docs=300, http_max_requests=min(scale.villages, 1500), http_max_seconds=15,
                       query_runs=3, reads=30, review_townships=10)
        return cls(validation_docs=min(scale.villages, 5000), http_max_requests=scale.villages,
                   http_max_seconds=120, query_runs=7, reads=200, review_townships=None)


class Bench(DatabaseAccess):
    def __init__(
        self, *, url: str, scale: Scale, samples: Samples, workdir: Path, concurrency: int, web_workers: int,
        bulk_jobs: int = 1,
    ) -> None:
        self.url = url  # SQLAlchemy URL of the fresh benchmark database
        self.conninfo = libpq_url(url)  # the same for psycopg
        self.scale = scale
        self.samples = samples
        self.workdir = workdir
        self.concurrency = concurrency
        self.web_workers = web_workers
        self.bulk_jobs = bulk_jobs  # processes submitting in bulk (bench/parallel.py)
        self.memory = MemoryWatch()
        self.servers: dict[str, Server] = {}
        self._once: dict[str, Any] = {}
        self.settled: dict[str, float] = {}  # phase -> seconds its database maintenance took (settle)
        self._watch_postgres()

    # --- shared work ------------------------------------------------------------------------

    def done(self, key: str) -> bool:
        """Whether ``once(key, …)`` has run."""
        return key in self._once

    def once(self, key: str, fn: Callable[[], T]) -> T:
        """``fn()`` the first time ``key`` is asked for; its result afterwards."""
        if key not in self._once:
            self._once[key] = fn()
        return self._once[key]

    # --- database ---------------------------------------------------------------------------

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, **kwargs)

    def settle(self, phase: str) -> float:
        """Do the database's maintenance for what the previous phase wrote before ``phase`` is measured:
        ``VACUUM (ANALYZE)`` and a ``CHECKPOINT``. Otherwise autovacuum and the checkpointer run during
        the next measurement and bill it for the previous one's writes (as pgbench vacuums before each
        run). Returns the seconds it took (the cycle counts them: the work is the load's)."""
        start = time.perf_counter()
        settle_database(self.conninfo)
        self.settled[phase] = time.perf_counter() - start
        return self.settled[phase]

    # --- generated province and documents ---------------------------------------------------

    @cached_property
    def units(self) -> list[UnitRow]:
        s = self.scale
        return list(generate_province(cities=s.cities, counties=s.counties, townships=s.townships, villages=s.villages))

    @cached_property
    def villages(self) -> list[UnitRow]:
        return [u for u in self.units if level_of(u.code) == Level.VILLAGE]

    @cached_property
    def village_report(self) -> IndicatorSet:
        return load_village_report()

    @cached_property
    def village_docs(self) -> list[tuple[str, dict[str, Any]]]:
        return village_reports(self.village_report, self.villages)

    @cached_property
    def synthetic(self) -> IndicatorSet:
        return load_synthetic()

    @cached_property
    def synthetic_docs(self) -> list[tuple[str, dict[str, Any]]]:
        return synthetic_documents([v.code for v in self.villages[: self.samples.validation_docs]])

    def write_json(self, name: str, value: Any) -> Path:
        path = self.workdir / name
        path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        return path

    # --- servers and memory -----------------------------------------------------------------

    def start_server(self, group: str, command: Callable[[int], list[str]], env: dict[str, str]) -> Server:
        """The running loopback server of ``group``, started when there is none (again after a stop, with
        a log of its own); its processes join the memory watch, whose peak for the group covers every
        start."""
        running = self.servers.get(group)
        if running is None or running.process.poll() is not None:
            port = free_port()
            log = self.workdir / (f"{group}.log" if running is None else f"{group}.{port}.log")
            running = self.servers[group] = start_server(command(port), port=port, env=env, log_path=log)
            self.memory.watch(group, running.pid)
        return running

    def stop_servers(self) -> None:
        for group, server in list(self.servers.items()):
            self.memory.peak_kib(group)  # a last sample before the workers exit
            server.stop()

    def close(self) -> None:
        self.stop_servers()
        self.memory.stop()
        if "engine" in self.__dict__:
            self.engine.dispose()

    def _watch_postgres(self) -> None:
        """Watch the server's processes when it runs on this machine: the postmaster named in
        ``postmaster.pid`` of its data directory, else a backend's parent."""
        with self.connect(autocommit=True) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            candidates = [parent_pid(backend)]
            try:
                data_dir = Path(conn.execute("SHOW data_directory").fetchone()[0])
                candidates.insert(0, int((data_dir / "postmaster.pid").read_text().split()[0]))
            except (psycopg.Error, OSError, ValueError, IndexError):
                pass  # not this machine's server, or a role that may not read the setting
        for pid in candidates:
            if pid is not None and is_local_pid(pid, "postgres"):
                self.memory.watch(POSTGRES_GROUP, pid)
                return
