"""Serving with gunicorn: the master owns the embedded database; each worker builds its own app."""

from __future__ import annotations

import gc
import logging
import os
from typing import Any

from gunicorn.app.base import BaseApplication

from cli.context import Runtime
from web.settings import env_int

log = logging.getLogger("grassroots.serve")


class GunicornApp(BaseApplication):
    def __init__(self, runtime: Runtime, options: dict[str, Any]) -> None:
        self.runtime = runtime
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # Runs in each worker after fork: engines and pools must not cross a fork.
        from sqlalchemy.exc import SQLAlchemyError

        from engine.collections import load_open_definitions
        from engine.db.session import make_engine, make_sessionmaker
        from engine.errors import GrassrootsError
        from web.app import create_app

        sessions = make_sessionmaker(make_engine(self.runtime.url))
        app = create_app(self.runtime.settings, sessions)
        try:  # before the first request, and before the freeze below
            with sessions() as session:
                log.info("loaded %d definition versions of open collections", load_open_definitions(session))
        except (SQLAlchemyError, GrassrootsError) as err:  # then each loads at its first use, as before
            log.warning("definitions of open collections not loaded at start: %s", err)
        # What is loaded now lives as long as the worker; frozen, the cyclic collector's full collections
        # scan only what requests leave behind. Unfrozen, each took 230-290 ms (measured in the
        # benchmark's workers), stalling every request of the worker meanwhile.
        gc.collect()
        gc.freeze()
        return app


def default_workers() -> int:
    """gunicorn worker processes: ``GRASSROOTS_WORKERS``, else one per core (at least 2, at most 8).

    Not gunicorn's 2 x cores + 1, which is for sync workers waiting on I/O: a threaded worker waits in
    its threads, and a request here is mostly CPU under one interpreter lock, so more processes than
    cores only queue for the cores PostgreSQL also needs (measured: docs/performance.md, round 6).
    Slow uploads from weak connections do not hold threads: nginx in front buffers them.
    """
    return env_int("GRASSROOTS_WORKERS", max(2, min(os.cpu_count() or 1, 8)), high=256)


def default_threads() -> int:
    """Threads per worker (gthread): ``GRASSROOTS_THREADS``, else 8.

    Not for waiting on I/O: submits that arrive together are written together (engine.submit_queue), and
    the more requests a worker has in hand, the larger its batches and the less CPU each submit costs.
    Measured at 15,000 villages on 2 cores (docs/performance.md, round 9): 8 threads served 333–363
    submits/s at 5.7–6.2 ms of CPU each, 4 threads 280–302 at 6.5–7.4 ms.
    """
    return env_int("GRASSROOTS_THREADS", 8, high=256)


def serve(runtime: Runtime, *, host: str, port: int, workers: int | None = None, threads: int | None = None) -> None:
    workers = workers or default_workers()
    threads = threads or default_threads()
    GunicornApp(
        runtime,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 120,
            "accesslog": os.environ.get("GRASSROOTS_ACCESS_LOG", None),
            "errorlog": "-",
            "loglevel": os.environ.get("GRASSROOTS_LOG_LEVEL", "info"),
        },
    ).run()
