"""Serving with gunicorn: the master owns the embedded database; each worker builds its own app."""

from __future__ import annotations

import gc
import os
from typing import Any

from gunicorn.app.base import BaseApplication

from cli.context import Runtime


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
        from engine.db.session import make_engine, make_sessionmaker
        from web.app import create_app

        app = create_app(self.runtime.settings, make_sessionmaker(make_engine(self.runtime.url)))
        # What is loaded now lives as long as the worker; frozen, the cyclic collector's full collections
        # scan only what requests leave behind. Unfrozen, each took 230-290 ms (measured in the
        # benchmark's workers), stalling every request of the worker meanwhile.
        gc.collect()
        gc.freeze()
        return app


def serve(runtime: Runtime, *, host: str, port: int, workers: int | None = None, threads: int = 4) -> None:
    workers = workers or int(os.environ.get("GRASSROOTS_WORKERS", min(2 * (os.cpu_count() or 1) + 1, 8)))
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
